"""Event streams, end to end, against the fake's truth in three time zones: exactly once,
incremental, cheap, sliceable."""

import pytest

from tap_pendo.timefmt import DAY_MS, HOUR_MS, ms_to_rfc3339, parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.periods import period_start
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import (
    EVENTS,
    ZONES,
    assert_same_records,
    base_config,
    by_key,
    discover,
    run_tap,
    select,
    zone_id,
)

PER_EVENT = ("guide_events", "poll_events")


def field_of(stream: str, period: str) -> str:
    """The stream's replication field: the period, or browser_time."""
    if stream in PER_EVENT:
        return "browser_time"
    return "day" if period == "dayRange" else "hour"


def truth_of(fake, stream, period, start_ms, end_ms=None) -> list:
    return fake.truth(stream, period=period, start_ms=start_ms, end_ms=end_ms)


def assert_exactly_once(fake, run, config, streams=EVENTS, what=""):
    """Each stream's records are the truth of a run from start_date: each key once."""
    period = config["period"]
    start = parse_datetime_ms(config["start_date"])
    for stream in streams:
        expected = truth_of(fake, stream, period, start)
        assert expected, f"{stream}: the truth is empty, so the test proves nothing"
        got = run.records.get(stream, [])
        assert_same_records(f"{what}{stream}", got, expected, primary_key(stream, period))


def union(runs, stream, period) -> list:
    """The records of several runs by key, a later run's version winning (an upsert)."""
    merged: dict = {}
    for run in runs:
        merged.update(by_key(run.records.get(stream, []), primary_key(stream, period)))
    return list(merged.values())


@pytest.fixture(scope="module", params=ZONES, ids=zone_id)
def zone_fake(request):
    """Read only: tests that move the clock make their own."""
    with FakePendo(seed=7, scale=0.5, days=14, tz=request.param) as server:
        yield server


@pytest.fixture(scope="module")
def fake():
    """For tests in which time plays no part."""
    with FakePendo(seed=7, scale=0.5, days=14) as server:
        yield server


@pytest.mark.parametrize("period", ["dayRange", "hourRange"])
def test_every_event_row_exactly_once_with_pages_smaller_than_a_window(zone_fake, tmp_path, period):
    config = base_config(zone_fake, period=period, record_limit=100)
    catalog = select(discover(zone_fake, tmp_path / "d", config), EVENTS)
    zone_fake.reset_log()
    run = run_tap(zone_fake, tmp_path, config, catalog).ok()
    log = zone_fake.log
    assert_exactly_once(zone_fake, run, config)
    # Some window needed more than one page, so paging inside a window was exercised.
    windows = len(run.stderr.split("feature_events: window ")) - 1
    assert log["sources"]["featureEvents"] > windows
    assert "window 1/" in run.stderr and "rows so far" in run.stderr
    assert log["time_series"]["over_25_hours"] == 0, log["time_series"]


@pytest.mark.parametrize("tz", ZONES, ids=zone_id)
def test_second_run_rereads_only_lookback_and_partial_periods_then_catches_up(tz, tmp_path):
    with FakePendo(seed=11, scale=0.5, days=14, tz=tz) as fake:
        config = base_config(fake, record_limit=1000)
        start = parse_datetime_ms(config["start_date"])
        catalog = select(discover(fake, tmp_path / "d", config), EVENTS)
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        for stream in EVENTS:
            field = field_of(stream, "dayRange")
            bookmark = parse_datetime_ms(first.state["bookmarks"][stream][field])
            # The day that holds bookmark - 1 day, whole: up to bookmark - 1 day - 25 h.
            reach = period_start(bookmark - DAY_MS, "dayRange", tz)
            assert bookmark - DAY_MS - 25 * HOUR_MS < reach <= bookmark - DAY_MS
            again = second.records.get(stream, [])
            assert len(again) < len(first.records[stream]) / 3, stream
            expected = truth_of(fake, stream, "dayRange", reach)
            assert_same_records(f"second run: {stream}", again, expected, primary_key(stream))
        fake.advance(26)
        third = run_tap(fake, tmp_path / "3", config, catalog, state=second.state).ok()
        for stream in EVENTS:
            expected = truth_of(fake, stream, "dayRange", start)
            merged = union([first, second, third], stream, "dayRange")
            assert_same_records(f"three runs: {stream}", merged, expected, primary_key(stream))


@pytest.mark.parametrize("tz", ZONES, ids=zone_id)
def test_an_incremental_hour_range_run_catches_up_after_the_clock_moves_on(tz, tmp_path):
    with FakePendo(seed=61, scale=0.4, days=8, tz=tz) as fake:
        config = base_config(fake, period="hourRange", record_limit=150)
        start = parse_datetime_ms(config["start_date"])
        catalog = select(discover(fake, tmp_path / "d", config), EVENTS)
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        assert_exactly_once(fake, first, config, what="first run: ")
        fake.advance(30)
        fake.reset_log()
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        assert fake.log["time_series"]["longest_span_ms"] == 24 * HOUR_MS
        for stream in EVENTS:
            key = primary_key(stream, "hourRange")
            field = field_of(stream, "hourRange")
            bookmark = parse_datetime_ms(first.state["bookmarks"][stream][field])
            # The second run goes on from the hour that holds bookmark - 1 day.
            reach = period_start(bookmark - DAY_MS, "hourRange", tz)
            again = second.records[stream]
            expected = truth_of(fake, stream, "hourRange", reach)
            assert_same_records(f"second run: {stream}", again, expected, key)
            merged = union([first, second], stream, "hourRange")
            assert_same_records(
                f"both runs: {stream}", merged, truth_of(fake, stream, "hourRange", start), key
            )
            assert parse_datetime_ms(second.state["bookmarks"][stream][field]) > bookmark


def test_request_count_does_not_grow_with_the_number_of_features(tmp_path):
    counts = []
    for features in (5, 500):
        with FakePendo(seed=2, counts={"features": features}) as fake:
            config = base_config(fake)
            catalog = select(discover(fake, tmp_path / f"d{features}", config), ["feature_events"])
            fake.reset_log()
            run = run_tap(fake, tmp_path / str(features), config, catalog).ok()
            assert run.records["feature_events"]
            counts.append(fake.log["sources"]["featureEvents"])
    assert counts[0] == counts[1] > 0


@pytest.mark.parametrize("period", ["dayRange", "hourRange"])
def test_end_date_slices_are_each_the_truth_and_together_one_run(zone_fake, tmp_path, period):
    fake, tz = zone_fake, zone_fake.dataset.tz
    config = base_config(fake, period=period, record_limit=1000)
    catalog = select(discover(fake, tmp_path / "d", config), EVENTS)
    start = parse_datetime_ms(config["start_date"])
    # The first cut inside a period (which both slices hold): at half past an hour near
    # local noon, when the hour has rows; the second cut on a period's start.
    noon = period_start(start + 5 * DAY_MS, "dayRange", tz) + 12 * HOUR_MS
    inside = period_start(noon, "hourRange", tz) + 30 * 60_000
    boundary = period_start(start + 10 * DAY_MS, period, tz)
    bounds = [start, inside, boundary, None]
    slices = []
    for i in range(3):
        part = dict(config, start_date=ms_to_rfc3339(bounds[i]))
        if bounds[i + 1] is not None:
            part["end_date"] = ms_to_rfc3339(bounds[i + 1])
        run = run_tap(fake, tmp_path / f"slice{i}", part, catalog).ok()
        for stream in EVENTS:
            expected = truth_of(fake, stream, period, bounds[i], bounds[i + 1])
            got = run.records.get(stream, [])
            assert_same_records(f"slice {i}: {stream}", got, expected, primary_key(stream, period))
        slices.append(run)
    straddling = ms_to_rfc3339(period_start(inside, period, tz))
    for stream in EVENTS:
        key = primary_key(stream, period)
        whole = truth_of(fake, stream, period, start)
        assert_same_records(f"the slices: {stream}", union(slices, stream, period), whole, key)
        first, second, third = (by_key(run.records.get(stream, []), key) for run in slices)
        # Only the period that straddles the first cut is in two slices, with one key and
        # the same values; nothing is in two slices across the second cut.
        twice = first.keys() & second.keys()
        if stream in PER_EVENT:
            assert not twice, stream
        else:
            assert twice or stream != "events", stream  # the densest has rows in that hour
            assert {first[k][field_of(stream, period)] for k in twice} <= {straddling}, stream
            assert all(first[k] == second[k] for k in twice), stream
        assert not second.keys() & third.keys(), stream


def test_a_child_stream_needs_no_parent(fake, tmp_path):
    config = base_config(fake)
    catalog = select(discover(fake, tmp_path / "d", config), ["page_events"])
    run = run_tap(fake, tmp_path, config, catalog).ok()
    assert set(run.records) == {"page_events"}


def test_changing_the_period_stops_before_any_request(fake, tmp_path):
    config = base_config(fake, period="hourRange")
    catalog = select(discover(fake, tmp_path / "d", config), ["events"])
    fake.reset_log()
    state = {"bookmarks": {"events": {"day": "2026-11-01T04:00:00.000000Z"}}}
    run = run_tap(fake, tmp_path, config, catalog, state=state)
    assert run.returncode == 1
    assert "rename the bookmark key 'day' to 'hour'" in run.stderr
    assert fake.log["total"] == 0
