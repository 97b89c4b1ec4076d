"""Period edges, end to end: date ranges pinned across daylight saving changes, a month
end and India's +05:30, read with both periods, are exactly the fake's truth, day by
day as Pendo cuts them; a `start_date` inside a period reads that period whole.

Each fake stands at a pinned "now", and the tap's clock with it (libfaketime). The
expected days are literals, written from the zones' rules: they are not computed by
the fake nor by the tap.
"""

from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import HOUR_MS, ms
from tests.support.records import EVENTS, assert_truth
from tests.support.tap import select, sync

PERIODS = ["dayRange", "hourRange"]
AGGREGATED = ["events", "feature_events", "page_events", "track_events"]
PER_EVENT = ["guide_events", "poll_events"]
STREAMS = EVENTS  # what periods cut; paging is test_time_zones.py's


@dataclass(frozen=True)
class Pinned:
    """A fake pinned at `now` (with `days` of activity), and a sync of [start, end) whose
    days are known."""

    tz: str
    now: int
    days: int
    start: str
    end: str
    day_starts: tuple  # every `day` of the range, in UTC
    longest_day_hours: float


PINNED = {
    # US DST week: New York falls back on Sunday 1 November 2026 at 06:00Z, a 25-hour day.
    "new-york-25-hour-day": Pinned(
        "America/New_York", moments.US_DST_WEEK, 8,
        "2026-10-30T00:00:00Z", "2026-11-03T12:00:00Z",
        ("2026-10-29T04:00:00", "2026-10-30T04:00:00", "2026-10-31T04:00:00",
         "2026-11-01T04:00:00", "2026-11-02T05:00:00", "2026-11-03T05:00:00"),
        25,
    ),
    # Lord Howe goes back half an hour on 5 April 2026 (+11 to +10:30): a 24.5-hour day.
    "lord-howe-24.5-hour-day": Pinned(
        "Australia/Lord_Howe", moments.LORD_HOWE_APRIL, 7,
        "2026-04-03T00:00:00Z", "2026-04-07T00:00:00Z",
        ("2026-04-02T13:00:00", "2026-04-03T13:00:00", "2026-04-04T13:00:00",
         "2026-04-05T13:30:00", "2026-04-06T13:30:00"),
        24.5,
    ),
    # Lord Howe goes forward half an hour on 4 October 2026: a 23.5-hour day.
    "lord-howe-23.5-hour-day": Pinned(
        "Australia/Lord_Howe", moments.LORD_HOWE_OCTOBER, 7,
        "2026-10-02T00:00:00Z", "2026-10-06T00:00:00Z",
        ("2026-10-01T13:30:00", "2026-10-02T13:30:00", "2026-10-03T13:30:00",
         "2026-10-04T13:00:00", "2026-10-05T13:00:00"),
        24,
    ),
    # A month end in Kolkata (+05:30 all year, days start at 18:30Z): 1 June 2026 begins
    # on 31 May in UTC.
    "kolkata-month-end": Pinned(
        "Asia/Kolkata", moments.MONTH_END_KOLKATA, 7,
        "2026-05-28T06:00:00Z", "2026-06-01T06:00:00Z",
        ("2026-05-27T18:30:00", "2026-05-28T18:30:00", "2026-05-29T18:30:00",
         "2026-05-30T18:30:00", "2026-05-31T18:30:00"),
        24,
    ),
}  # fmt: skip

# start_date inside a period, per zone and period: (the fake's case, start_date, the start
# of the period that holds it), on office hours of a Thursday so that the period has
# rows before start_date.
INSIDE = {
    ("America/New_York", "dayRange"): (
        # 20:00 EDT on Wednesday 28 October: that day runs from 04:00Z to 04:00Z.
        "new-york-25-hour-day", "2026-10-29T00:00:00Z", "2026-10-28T04:00:00.000000Z"
    ),
    ("America/New_York", "hourRange"): (
        "new-york-25-hour-day", "2026-10-29T15:30:00Z", "2026-10-29T15:00:00.000000Z"
    ),
    ("Asia/Kolkata", "dayRange"): (
        # 17:30 IST on Thursday 28 May: that day runs from 18:30Z the day before.
        "kolkata-month-end", "2026-05-28T12:00:00Z", "2026-05-27T18:30:00.000000Z"
    ),
    ("Asia/Kolkata", "hourRange"): (
        "kolkata-month-end", "2026-05-28T06:30:00Z", "2026-05-28T06:00:00.000000Z"
    ),
    ("Australia/Lord_Howe", "dayRange"): (
        # 16:30 LHST (+10:30) on Thursday 1 October: that day runs from 13:30Z the day before.
        "lord-howe-23.5-hour-day", "2026-10-01T06:00:00Z", "2026-09-30T13:30:00.000000Z"
    ),
    ("Australia/Lord_Howe", "hourRange"): (
        "lord-howe-23.5-hour-day", "2026-10-01T01:30:00Z", "2026-10-01T01:00:00.000000Z"
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def fakes():
    """`fakes(case)`: the started fake of a PINNED case, made once for the module; read
    only (no test moves its clock)."""
    started: dict = {}
    with ExitStack() as stack:

        def fake(case: str):
            if case not in started:
                pinned = PINNED[case]
                started[case] = stack.enter_context(
                    pinned_fake(pinned.now, seed=37, scale=0.3, days=pinned.days, tz=pinned.tz)
                )
            return started[case]

        yield fake


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("case", list(PINNED))
def test_a_pinned_range_across_an_edge_is_exactly_the_truth(
    fakes, catalogs, case, period, tmp_path
):
    pinned, fake = PINNED[case], fakes(case)
    config = base_config(fake, period=period, start_date=pinned.start, end_date=pinned.end)
    fake.reset_log()
    run = sync(fake, tmp_path, config, select(catalogs(period), STREAMS))
    log = fake.log
    start, end = ms(pinned.start), ms(pinned.end)
    assert_truth(run, fake, STREAMS, period=period, start_ms=start, end_ms=end)
    series = log["time_series"]
    assert series["over_25_hours"] == 0, series
    if period == "dayRange":
        # Each day asked alone, the longest one whole: Pendo's days, never 24 UTC hours.
        assert series["longest_span_ms"] == pinned.longest_day_hours * HOUR_MS
        for stream in AGGREGATED:
            days = sorted({r["day"] for r in run.records[stream]})
            assert days == [f"{day}.000000Z" for day in pinned.day_starts], stream
    else:
        assert series["longest_span_ms"] == 24 * HOUR_MS
        for stream in AGGREGATED:
            hours = {ms(r["hour"]) for r in run.records[stream]}
            assert all(h % HOUR_MS == 0 for h in hours), stream
            assert min(hours) == start - start % HOUR_MS and max(hours) < end, stream
    for stream in PER_EVENT:
        moments_seen = [ms(r["browser_time"]) for r in run.records[stream]]
        assert start <= min(moments_seen) and max(moments_seen) < end, stream


@pytest.mark.parametrize("tz,period", list(INSIDE), ids=[f"{z}-{p}" for z, p in INSIDE])
def test_start_date_inside_a_period_reads_that_period_whole(fakes, catalogs, tz, period, tmp_path):
    case, start_date, first = INSIDE[(tz, period)]
    fake = fakes(case)
    start = ms(start_date)
    config = base_config(fake, period=period, start_date=start_date)
    run = sync(fake, tmp_path, config, select(catalogs(period), STREAMS))
    assert_truth(run, fake, STREAMS, period=period, start_ms=start)
    field = "day" if period == "dayRange" else "hour"
    for stream in AGGREGATED:
        assert min(r[field] for r in run.records[stream]) >= first, stream
    # The period that holds start_date is there, whole: with rows wholly before start_date.
    rows = run.records["events"]
    assert min(r[field] for r in rows) == first
    assert [r for r in rows if r[field] == first and ms(r["last_time"]) < start]
    for stream in PER_EVENT:
        assert min(ms(r["browser_time"]) for r in run.records[stream]) >= start
