"""Event streams, end to end: exactly once, incremental, cheap, sliceable."""

import pytest

from tap_pendo.timefmt import DAY_MS, ms_to_rfc3339, parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import EVENTS, base_config, by_key, discover, run_tap, select


def truth_by_key(fake, stream, config, **settings):
    period = config["period"]
    return by_key(
        fake.truth(
            stream, period=period, start_ms=parse_datetime_ms(config["start_date"]), **settings
        ),
        primary_key(stream, period),
    )


def assert_exactly_once(fake, run, config, streams=EVENTS, **settings):
    for stream in streams:
        key = primary_key(stream, config["period"])
        got = run.records.get(stream, [])
        assert len(by_key(got, key)) == len(got), f"{stream}: a key was emitted twice"
        assert by_key(got, key) == truth_by_key(fake, stream, config, **settings), stream
        assert got, stream


@pytest.fixture(scope="module")
def fake():
    with FakePendo(seed=7) as server:
        yield server


@pytest.mark.parametrize("period", ["dayRange", "hourRange"])
def test_every_event_row_exactly_once_with_pages_smaller_than_a_window(fake, tmp_path, period):
    config = base_config(fake, period=period, record_limit=500)
    catalog = select(discover(fake, tmp_path / "d", config), EVENTS)
    fake.reset_log()
    run = run_tap(fake, tmp_path, config, catalog).ok()
    assert_exactly_once(fake, run, config)
    # Some window needed more than one page, so paging inside a window was exercised.
    windows = len(run.stderr.split("feature_events: window ")) - 1
    assert fake.log["sources"]["featureEvents"] > windows
    assert "window 1/" in run.stderr and "rows so far" in run.stderr


def test_second_run_rereads_only_lookback_and_partial_periods_then_catches_up(tmp_path):
    with FakePendo(seed=11) as fake:
        config = base_config(fake, record_limit=2000)
        catalog = select(discover(fake, tmp_path / "d", config), EVENTS)
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        for stream in EVENTS:
            field = "day" if stream not in ("guide_events", "poll_events") else "browser_time"
            bookmark = parse_datetime_ms(first.state["bookmarks"][stream][field])
            reach = DAY_MS if field == "day" else DAY_MS + 25 * 3_600_000
            again = second.records.get(stream, [])
            assert len(again) < len(first.records[stream]) / 3, stream
            assert all(parse_datetime_ms(r["day"]) >= bookmark - reach for r in again), stream
        fake.advance(26)
        third = run_tap(fake, tmp_path / "3", config, catalog, state=second.state).ok()
        for stream in EVENTS:
            key = primary_key(stream, "dayRange")
            merged = by_key(first.records[stream], key)
            merged.update(by_key(second.records.get(stream, []), key))
            merged.update(by_key(third.records.get(stream, []), key))
            assert merged == truth_by_key(fake, stream, config), stream


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


def test_end_date_slices_give_exactly_the_rows_of_one_run(fake, tmp_path):
    config = base_config(fake, record_limit=3000)
    catalog = select(discover(fake, tmp_path / "d", config), EVENTS)
    whole = run_tap(fake, tmp_path / "whole", config, catalog).ok()
    start = parse_datetime_ms(config["start_date"])
    cuts = [start + 9 * DAY_MS + 3_600_000 * 7, start + 21 * DAY_MS]
    bounds = [config["start_date"]] + [ms_to_rfc3339(c) for c in cuts] + [None]
    sliced = {}
    for i in range(3):
        part = dict(config, start_date=bounds[i])
        if bounds[i + 1]:
            part["end_date"] = bounds[i + 1]
        run = run_tap(fake, tmp_path / f"slice{i}", part, catalog).ok()
        for stream, records in run.records.items():
            sliced.setdefault(stream, []).extend(records)
    for stream in EVENTS:
        key = primary_key(stream, "dayRange")
        assert len(sliced[stream]) == len(whole.records[stream]), stream
        assert by_key(sliced[stream], key) == by_key(whole.records[stream], key), stream


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
