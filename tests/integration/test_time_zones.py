"""Every zone, both periods, end to end: a first run of every stream is exactly the fake's
truth, and once the clock moves on 26 hours across a calendar edge, a second run from
the first one's state re-reads exactly its lookback and brings every new row.

This is the suite's incremental check, made once here for every stream: what a
second run emits is, stream by stream, the truth from the point its bookmark says
(for events and history, this module's `reach`; for entities, past the bookmark's
keyset position: tests/support/bookmarks.py), and both runs together are the truth
at the new clock. The tap's clock follows the fake's (libfaketime).

Pinned clocks (tests/support/moments.py), one per zone, each 26 hours before an edge:
- New York, US_DST_EVE: Saturday 31 October 2026, 20:00Z; the second run stands in
  Sunday 1 November, the 25-hour day.
- Lord Howe, LORD_HOWE_OCTOBER_EVE: 3 October 2026, 06:00Z; the second run stands in
  4 October, the 23.5-hour day (+10:30 to +11).
- Kolkata (+05:30), YEAR_END_EVE_KOLKATA: 31 December 2026, 12:00Z; the second run
  stands in 1 January 2027, in UTC and in India: a month end and a year end.
"""

from dataclasses import dataclass

import pytest

from tests.fake_pendo import FakePendo
from tests.support import moments
from tests.support.bookmarks import ENTITY_FIELDS, entity_rows_after
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import DAY_MS, HOUR_MS, ms
from tests.support.records import (
    ALL_STREAMS,
    EVENTS,
    assert_same_records,
    by_key,
    merged,
    primary_key,
)
from tests.support.tap import TapRun, select, sync

ZONES = {
    "America/New_York": moments.US_DST_EVE,
    "Australia/Lord_Howe": moments.LORD_HOWE_OCTOBER_EVE,
    "Asia/Kolkata": moments.YEAR_END_EVE_KOLKATA,
}
PERIODS = ["dayRange", "hourRange"]
PAGE = 37  # rows per request: several pages in every window
PER_EVENT = ["guide_events", "poll_events"]


def streams_of(period: str) -> list:
    """Every stream by day; by hour, the streams the period changes (the event streams)."""
    return ALL_STREAMS if period == "dayRange" else EVENTS


def bookmark_ms(run: TapRun, stream: str) -> int:
    """The instant of a finished event stream's or visitor_history's bookmark."""
    ((_, value),) = run.state["bookmarks"][stream].items()
    return ms(value)


def reach(stream: str, bookmark: int, period: str, tz: str) -> int:
    """Where a run after `bookmark` starts reading an event stream or visitor_history (the
    README's late data): history a day before it; event streams from the period that
    holds the instant a day before it."""
    if stream == "visitor_history":
        return bookmark - DAY_MS
    return moments.period_start(bookmark - DAY_MS, period, tz)


@dataclass
class ZoneRuns:
    """A first run of every stream, and a second one after the clock moved on 26 hours."""

    tz: str
    period: str
    fake: FakePendo
    config: dict
    first: TapRun
    second: TapRun
    logs: tuple  # the fake's log of each run
    truth_before: dict  # stream -> records at the first run's clock
    truth_after: dict


@pytest.fixture(
    scope="module",
    params=[(tz, period) for tz in ZONES for period in PERIODS],
    ids=lambda p: f"{p[0].split('/')[1]}-{p[1]}",
)
def zone(request, catalogs, tmp_path_factory) -> ZoneRuns:
    tz, period = request.param
    streams = streams_of(period)
    tmp = tmp_path_factory.mktemp(f"{tz.split('/')[1]}-{period}")
    with pinned_fake(ZONES[tz], seed=31, scale=0.3, days=5, tz=tz) as fake:
        config = base_config(fake, period=period, record_limit=PAGE)
        catalog = select(catalogs(period), streams)
        start = ms(config["start_date"])
        fake.reset_log()
        first = sync(fake, tmp / "first", config, catalog)
        first_log = fake.log
        before = {s: fake.truth(s, period=period, start_ms=start) for s in streams}
        fake.advance(26)
        fake.reset_log()
        second = sync(fake, tmp / "second", config, catalog, state=first.state)
        after = {s: fake.truth(s, period=period, start_ms=start) for s in streams}
        yield ZoneRuns(
            tz, period, fake, config, first, second, (first_log, fake.log), before, after
        )


def test_every_row_exactly_once_in_every_zone_and_period(zone):
    # The fake's clock has moved on since: the truth of the first run's clock was kept.
    for stream, expected in zone.truth_before.items():
        assert expected, f"{stream}: the truth is empty, so the test proves nothing"
        key = primary_key(stream, zone.period)
        assert_same_records(stream, zone.first.records.get(stream, []), expected, key)
    # Every window took several pages: paging inside a window was exercised.
    field = "day" if zone.period == "dayRange" else "hour"
    periods = {r[field] for r in zone.truth_before["feature_events"]}
    windows = len(periods) if zone.period == "dayRange" else len(periods) / 24 + 1
    assert zone.logs[0]["sources"]["featureEvents"] > 2 * windows


def test_no_aggregation_request_spans_more_than_25_hours_in_any_zone(zone):
    for log in zone.logs:
        series = log["time_series"]
        assert series["requests"] > 0
        assert series["over_25_hours"] == 0, series
        assert 0 < series["longest_span_ms"] <= 25 * HOUR_MS, series
        if zone.period == "hourRange":
            assert series["longest_span_ms"] == 24 * HOUR_MS, series


def test_a_second_run_rereads_exactly_its_lookback_across_the_edge(zone):
    for stream in streams_of(zone.period):
        key = primary_key(stream, zone.period)
        again = zone.second.records.get(stream, [])
        if not key:  # the metadata documents: one, every run
            assert again == zone.truth_after[stream], stream
            continue
        if stream in ENTITY_FIELDS:  # past the bookmark, and the undated rows
            bookmark = zone.first.state["bookmarks"][stream]
            expected = entity_rows_after(stream, zone.truth_after[stream], bookmark)
        else:
            start = reach(stream, bookmark_ms(zone.first, stream), zone.period, zone.tz)
            expected = zone.fake.truth(stream, period=zone.period, start_ms=start)
        assert_same_records(f"second run: {stream}", again, expected, key)
        if stream in EVENTS or stream == "visitor_history":
            assert len(again) < len(zone.first.records[stream]), f"{stream}: read in full again"
            assert bookmark_ms(zone.second, stream) > bookmark_ms(zone.first, stream), stream


def test_both_runs_together_are_the_truth_at_the_new_clock(zone):
    for stream, expected in zone.truth_after.items():
        key = primary_key(stream, zone.period)
        together = merged([zone.first, zone.second], stream, zone.period)
        assert_same_records(f"both runs: {stream}", together, expected, key)
        if stream in EVENTS + ["visitor_history"]:
            new = by_key(expected, key).keys() - by_key(zone.truth_before[stream], key).keys()
            assert new, f"{stream}: the clock moved on 26 hours and nothing is new"
