"""Time zones, end to end: the tap against the fake Pendo's truth in New York, Kolkata
(+05:30) and Lord Howe (a half-hour daylight saving change), with both periods.

- every row of every timed stream exactly once, with Pendo's values, and no request
  spanning more than 25 hours of periods (the fake's log), then every new row once the
  clock has moved on (the fake's with `advance`, the tap's with libfaketime);
- date ranges pinned across daylight saving changes (New York's 25-hour day in November,
  Lord Howe's 24.5-hour day in April and 23.5-hour day in October) and India's +05:30:
  fakes and the tap's clock pinned there, so nothing depends on the day the tests run;
- a `start_date` inside a period: that period is read whole.

The truth comes from the fake (tests/fake_pendo/truth.py), never from another run.
"""

from dataclasses import dataclass

import pytest

from tap_pendo.timefmt import HOUR_MS, parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import (
    EVENTS,
    ZONES,
    TapRun,
    assert_same_records,
    base_config,
    by_key,
    discover,
    pinned_clock_env,
    run_tap,
    select,
)

PERIODS = ["dayRange", "hourRange"]
AGGREGATED = ["events", "feature_events", "page_events", "track_events"]
PER_EVENT = ["guide_events", "poll_events"]
ENTITIES = [
    "accounts",
    "visitors",
    "features",
    "pages",
    "guides",
    "track_types",
    "guide_steps",
    "polls",
    "segments",
    "reports",
]
STREAMS = EVENTS + ENTITIES + ["visitor_history"]
PAGE = 37  # rows per request: several pages in every window
SPAN_LIMIT_MS = 25 * HOUR_MS


def period_of(period: str) -> str:
    return "day" if period == "dayRange" else "hour"


def truth(fake, streams, period, start_ms, end_ms=None) -> dict:
    """stream -> the truth's records (end_ms bounds the event streams and history only)."""
    return {
        stream: fake.truth(stream, period=period, start_ms=start_ms, end_ms=end_ms)
        for stream in streams
    }


def assert_truth(run: TapRun, expected: dict, period: str, what: str = "") -> None:
    """Every stream's records are its truth: each key once, with Pendo's values."""
    records = run.records
    for stream, rows in expected.items():
        assert rows, f"{what}{stream}: the truth is empty, so the test proves nothing"
        key = primary_key(stream, period)
        assert_same_records(f"{what}{stream}", records.get(stream, []), rows, key)


def assert_spans_within_25_hours(log: dict) -> None:
    series = log["time_series"]
    assert series["requests"] > 0
    assert series["over_25_hours"] == 0, series
    assert 0 < series["longest_span_ms"] <= SPAN_LIMIT_MS, series


def union(runs, stream: str, period: str) -> dict:
    """The records of several runs by key, a later run's version winning (an upsert)."""
    merged: dict = {}
    for run in runs:
        merged.update(by_key(run.records.get(stream, []), primary_key(stream, period)))
    return merged


# ---------------------------------------------------------------- every zone, now


@dataclass
class ZoneRun:
    """A first run of every stream against a fake of one zone, and what was true then."""

    tz: str
    period: str
    fake: FakePendo
    config: dict
    catalog: dict
    first: TapRun
    truth: dict  # stream -> records, at the first run's clock
    log: dict  # the fake's log of the first run


@pytest.fixture(
    scope="module",
    params=[(tz, period) for tz in ZONES for period in PERIODS],
    ids=lambda p: f"{p[0].split('/')[1]}-{p[1]}",
)
def zone_run(request, tmp_path_factory):
    tz, period = request.param
    with FakePendo(seed=31, scale=0.4, days=8, tz=tz) as fake:
        tmp = tmp_path_factory.mktemp(f"{tz.split('/')[1]}-{period}")
        config = base_config(fake, period=period, record_limit=PAGE)
        catalog = select(discover(fake, tmp / "discover", config), STREAMS)
        fake.reset_log()
        first = run_tap(fake, tmp / "first", config, catalog).ok()
        log = fake.log
        expected = truth(fake, STREAMS, period, parse_datetime_ms(config["start_date"]))
        yield ZoneRun(tz, period, fake, config, catalog, first, expected, log)


def test_every_row_exactly_once_in_every_zone_and_period(zone_run):
    assert_truth(zone_run.first, zone_run.truth, zone_run.period)
    # Every window took several pages: paging inside a window was exercised.
    days = {r[period_of(zone_run.period)] for r in zone_run.truth["feature_events"]}
    windows = len(days) if zone_run.period == "dayRange" else len(days) / 24 + 1
    assert zone_run.log["sources"]["featureEvents"] > 2 * windows


def test_no_aggregation_request_spans_more_than_25_hours_in_any_zone(zone_run):
    assert_spans_within_25_hours(zone_run.log)
    if zone_run.period == "hourRange":
        assert zone_run.log["time_series"]["longest_span_ms"] == 24 * HOUR_MS


def test_every_new_row_arrives_after_the_clock_moves_on_in_every_zone(zone_run, tmp_path):
    fake, period = zone_run.fake, zone_run.period
    fake.advance(26)
    fake.reset_log()
    second = run_tap(
        fake, tmp_path, zone_run.config, zone_run.catalog, state=zone_run.first.state
    ).ok()
    assert_spans_within_25_hours(fake.log)
    now = truth(fake, STREAMS, period, parse_datetime_ms(zone_run.config["start_date"]))
    for stream in STREAMS:
        key = primary_key(stream, period)
        merged = union([zone_run.first, second], stream, period)
        assert_same_records(f"{stream}, both runs", list(merged.values()), now[stream], key)
        if stream in EVENTS + ["visitor_history"]:
            new = by_key(now[stream], key).keys() - by_key(zone_run.truth[stream], key).keys()
            assert new, f"{stream}: the clock moved on 26 hours and nothing is new"


# ------------------------------------------------ pinned ranges across DST changes


@dataclass(frozen=True)
class Pinned:
    """A fake pinned at `now`, and a sync of [start, end) whose days are known."""

    tz: str
    now: str
    days: int
    start: str
    end: str
    day_starts: tuple  # every `day` of the range, in UTC
    longest_day_hours: float

    def fake(self, seed: int) -> FakePendo:
        return FakePendo(
            seed=seed, scale=0.3, days=self.days, tz=self.tz, start_ms=parse_datetime_ms(self.now)
        )


PINNED = {
    # 1 November 2026: clocks go back an hour at 06:00Z, that day lasts 25 hours.
    "new-york-25-hour-day": Pinned(
        "America/New_York", "2026-11-04T15:00:00Z", 8,
        "2026-10-30T00:00:00Z", "2026-11-03T12:00:00Z",
        ("2026-10-29T04:00:00", "2026-10-30T04:00:00", "2026-10-31T04:00:00",
         "2026-11-01T04:00:00", "2026-11-02T05:00:00", "2026-11-03T05:00:00"),
        25,
    ),
    # 5 April 2026: Lord Howe goes back half an hour (+11 to +10:30), a 24.5-hour day.
    "lord-howe-24.5-hour-day": Pinned(
        "Australia/Lord_Howe", "2026-04-08T06:00:00Z", 7,
        "2026-04-03T00:00:00Z", "2026-04-07T00:00:00Z",
        ("2026-04-02T13:00:00", "2026-04-03T13:00:00", "2026-04-04T13:00:00",
         "2026-04-05T13:30:00", "2026-04-06T13:30:00"),
        24.5,
    ),
    # 4 October 2026: Lord Howe goes forward half an hour, a 23.5-hour day.
    "lord-howe-23.5-hour-day": Pinned(
        "Australia/Lord_Howe", "2026-10-07T06:00:00Z", 7,
        "2026-10-02T00:00:00Z", "2026-10-06T00:00:00Z",
        ("2026-10-01T13:30:00", "2026-10-02T13:30:00", "2026-10-03T13:30:00",
         "2026-10-04T13:00:00", "2026-10-05T13:00:00"),
        24,
    ),
    # India: +05:30 all year, days start at 18:30Z.
    "kolkata-half-hour-offset": Pinned(
        "Asia/Kolkata", "2026-11-04T15:00:00Z", 8,
        "2026-10-30T00:00:00Z", "2026-11-03T12:00:00Z",
        ("2026-10-29T18:30:00", "2026-10-30T18:30:00", "2026-10-31T18:30:00",
         "2026-11-01T18:30:00", "2026-11-02T18:30:00"),
        24,
    ),
}  # fmt: skip


@pytest.fixture(scope="module", params=list(PINNED))
def pinned(request, tmp_path_factory):
    case = PINNED[request.param]
    with case.fake(seed=37) as fake:
        tmp = tmp_path_factory.mktemp(request.param)
        catalogs = {
            period: select(discover(fake, tmp / period, base_config(fake, period=period)), STREAMS)
            for period in PERIODS
        }
        yield case, fake, catalogs


@pytest.mark.parametrize("period", PERIODS)
def test_a_pinned_range_across_a_dst_change_is_exactly_the_truth(pinned, period, tmp_path):
    case, fake, catalogs = pinned
    config = base_config(
        fake, period=period, start_date=case.start, end_date=case.end, record_limit=PAGE
    )
    fake.reset_log()
    run = run_tap(fake, tmp_path, config, catalogs[period], env=pinned_clock_env(fake)).ok()
    log = fake.log
    start, end = parse_datetime_ms(case.start), parse_datetime_ms(case.end)
    assert_truth(run, truth(fake, STREAMS, period, start, end), period)
    assert_spans_within_25_hours(log)
    if period == "dayRange":
        # Each day asked alone, the longest one whole: Pendo's days, never 24 UTC hours.
        assert log["time_series"]["longest_span_ms"] == case.longest_day_hours * HOUR_MS
        for stream in AGGREGATED:
            days = sorted({r["day"] for r in run.records[stream]})
            assert days == [f"{day}.000000Z" for day in case.day_starts], stream
    else:
        assert log["time_series"]["longest_span_ms"] == 24 * HOUR_MS
        for stream in AGGREGATED:
            hours = {parse_datetime_ms(r["hour"]) for r in run.records[stream]}
            assert all(h % HOUR_MS == 0 for h in hours), stream
            assert min(hours) == start - start % HOUR_MS and max(hours) < end, stream
    for stream in PER_EVENT:
        moments = [parse_datetime_ms(r["browser_time"]) for r in run.records[stream]]
        assert start <= min(moments) and max(moments) < end, stream


# ------------------------------------------------------- start_date inside a period

# (start_date, the start of the period that holds it) per zone and period, on office
# hours of a Thursday (29 October 2026) so that the period has rows before start_date.
INSIDE = {
    "America/New_York": {
        # 20:00 EDT on Wednesday 28 October: that day runs from 04:00Z to 04:00Z.
        "dayRange": ("2026-10-29T00:00:00Z", "2026-10-28T04:00:00.000000Z"),
        "hourRange": ("2026-10-29T15:30:00Z", "2026-10-29T15:00:00.000000Z"),
    },
    "Asia/Kolkata": {
        # 17:30 IST on 29 October: that day runs from 18:30Z the day before.
        "dayRange": ("2026-10-29T12:00:00Z", "2026-10-28T18:30:00.000000Z"),
        "hourRange": ("2026-10-29T06:30:00Z", "2026-10-29T06:00:00.000000Z"),
    },
    "Australia/Lord_Howe": {
        # 17:00 LHDT (+11) on 29 October: that day runs from 13:00Z the day before.
        "dayRange": ("2026-10-29T06:00:00Z", "2026-10-28T13:00:00.000000Z"),
        "hourRange": ("2026-10-29T01:30:00Z", "2026-10-29T01:00:00.000000Z"),
    },
}


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("tz", ZONES)
def test_start_date_inside_a_period_reads_that_period_whole(tz, period, tmp_path):
    start_date, first = INSIDE[tz][period]
    start = parse_datetime_ms(start_date)
    streams = EVENTS + ["visitor_history"]
    pinned_now = parse_datetime_ms("2026-11-02T12:00:00Z")
    with FakePendo(seed=41, scale=0.5, days=7, tz=tz, start_ms=pinned_now) as fake:
        config = base_config(fake, period=period, start_date=start_date, record_limit=PAGE)
        catalog = select(discover(fake, tmp_path / "d", config), streams)
        run = run_tap(fake, tmp_path, config, catalog, env=pinned_clock_env(fake)).ok()
        assert_truth(run, truth(fake, streams, period, start), period)
    field = period_of(period)
    for stream in AGGREGATED:
        assert min(r[field] for r in run.records[stream]) >= first, stream
    # The period that holds start_date is there, whole: with rows wholly before start_date.
    rows = run.records["events"]
    assert min(r[field] for r in rows) == first
    assert [r for r in rows if r[field] == first and parse_datetime_ms(r["last_time"]) < start]
    for stream in PER_EVENT:
        assert min(parse_datetime_ms(r["browser_time"]) for r in run.records[stream]) >= start
    assert min(parse_datetime_ms(r["ts"]) for r in run.records["visitor_history"]) >= start
