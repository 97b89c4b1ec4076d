"""Period edges, end to end: date ranges pinned across daylight saving changes, a month
end and India's +05:30, read with both periods, are exactly the fake's truth, day by
day as Pendo cuts them; a `start_date` inside a period reads that period whole.

Each fake stands at a pinned "now", and the tap's clock with it (libfaketime). Each
range starts at half past an hour of a working day, inside a day and inside an hour,
so that the first period has rows before `start_date`. The expected days, and the
period that holds each start, are literals written from the zones' rules: they are
computed neither by the fake nor by the tap.
"""

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
    days are known; `first_hour` is the start of the hour that holds `start`."""

    tz: str
    now: int
    days: int
    start: str
    end: str
    day_starts: tuple  # every `day` of the range, in UTC
    first_hour: str
    longest_day_hours: float


PINNED = {
    # US DST week: New York falls back on Sunday 1 November 2026 at 06:00Z, a 25-hour day.
    # The range starts at 11:30 EDT on Friday 30 October.
    "new-york-25-hour-day": Pinned(
        "America/New_York", moments.US_DST_WEEK, 8,
        "2026-10-30T15:30:00Z", "2026-11-03T12:00:00Z",
        ("2026-10-30T04:00:00", "2026-10-31T04:00:00",
         "2026-11-01T04:00:00", "2026-11-02T05:00:00", "2026-11-03T05:00:00"),
        "2026-10-30T15:00:00", 25,
    ),
    # Lord Howe goes back half an hour on 5 April 2026 (+11 to +10:30): a 24.5-hour day.
    # The range starts at 12:30 LHDT on Friday 3 April.
    "lord-howe-24.5-hour-day": Pinned(
        "Australia/Lord_Howe", moments.LORD_HOWE_APRIL, 7,
        "2026-04-03T01:30:00Z", "2026-04-07T00:00:00Z",
        ("2026-04-02T13:00:00", "2026-04-03T13:00:00", "2026-04-04T13:00:00",
         "2026-04-05T13:30:00", "2026-04-06T13:30:00"),
        "2026-04-03T01:00:00", 24.5,
    ),
    # Lord Howe goes forward half an hour on 4 October 2026: a 23.5-hour day. The range
    # starts at 12:00 LHST (+10:30) on Friday 2 October.
    "lord-howe-23.5-hour-day": Pinned(
        "Australia/Lord_Howe", moments.LORD_HOWE_OCTOBER, 7,
        "2026-10-02T01:30:00Z", "2026-10-06T00:00:00Z",
        ("2026-10-01T13:30:00", "2026-10-02T13:30:00", "2026-10-03T13:30:00",
         "2026-10-04T13:00:00", "2026-10-05T13:00:00"),
        "2026-10-02T01:00:00", 24,
    ),
    # A month end in Kolkata (+05:30 all year, days start at 18:30Z): 1 June 2026 begins
    # on 31 May in UTC. The range starts at 12:00 IST on Thursday 28 May.
    "kolkata-month-end": Pinned(
        "Asia/Kolkata", moments.MONTH_END_KOLKATA, 7,
        "2026-05-28T06:30:00Z", "2026-06-01T06:00:00Z",
        ("2026-05-27T18:30:00", "2026-05-28T18:30:00", "2026-05-29T18:30:00",
         "2026-05-30T18:30:00", "2026-05-31T18:30:00"),
        "2026-05-28T06:00:00", 24,
    ),
}  # fmt: skip


@pytest.fixture(scope="module", params=list(PINNED))
def pinned(request):
    """(the case, its started fake); read only: no test moves its clock."""
    case = PINNED[request.param]
    with pinned_fake(case.now, seed=37, scale=0.3, days=case.days, tz=case.tz) as fake:
        yield case, fake


@pytest.mark.parametrize("period", PERIODS)
def test_a_pinned_range_across_an_edge_is_exactly_the_truth(pinned, catalogs, period, tmp_path):
    case, fake = pinned
    config = base_config(fake, period=period, start_date=case.start, end_date=case.end)
    fake.reset_log()
    run = sync(fake, tmp_path, config, select(catalogs(period), STREAMS))
    log = fake.log
    start, end = ms(case.start), ms(case.end)
    assert_truth(run, fake, STREAMS, period=period, start_ms=start, end_ms=end)
    series = log["time_series"]
    assert series["over_25_hours"] == 0, series
    if period == "dayRange":
        # Each day asked alone, the longest one whole: Pendo's days, never 24 UTC hours.
        assert series["longest_span_ms"] == case.longest_day_hours * HOUR_MS
        for stream in AGGREGATED:
            days = sorted({r["day"] for r in run.records[stream]})
            assert days == [f"{day}.000000Z" for day in case.day_starts], stream
    else:
        assert series["longest_span_ms"] == 24 * HOUR_MS
        for stream in AGGREGATED:
            hours = {ms(r["hour"]) for r in run.records[stream]}
            assert all(h % HOUR_MS == 0 for h in hours), stream
            assert min(hours) == ms(case.first_hour + "Z") and max(hours) < end, stream
    for stream in PER_EVENT:
        seen = [ms(r["browser_time"]) for r in run.records[stream]]
        assert start <= min(seen) and max(seen) < end, stream
    # The period that holds start_date is there, whole: with rows wholly before start_date.
    field = "day" if period == "dayRange" else "hour"
    first = f"{case.day_starts[0] if period == 'dayRange' else case.first_hour}.000000Z"
    rows = run.records["events"]
    assert [r for r in rows if r[field] == first and ms(r["last_time"]) < start], first
