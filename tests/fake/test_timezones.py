"""Periods in three awkward time zones: the period math, timeSeries, startTime and rows' `day`.

Asia/Kolkata is +05:30 all year, so its days start at 18:30 UTC, inside a UTC
hour. Australia/Lord_Howe moves by half an hour (+10:30 / +11): days of 23.5
and 24.5 hours. America/New_York has days of 23 and 25 hours. Hours always
start on whole UTC hours. The expected instants are written out in UTC here,
not computed with the fake's own functions.
"""

from datetime import datetime, timezone

import pytest
import requests

from tests.fake_pendo import FakePendo
from tests.fake_pendo.periods import add_periods, period_start, period_starts
from tests.fake_pendo.query import resolve_time_series

HOUR = 3_600_000
MINUTE = 60_000


def utc(*parts):
    return int(datetime(*parts, tzinfo=timezone.utc).timestamp() * 1000)


# (zone, start of a day in UTC, its length in minutes, the next day's length)
DAYS = [
    ("Asia/Kolkata", utc(2025, 10, 4, 18, 30), 24 * 60, 24 * 60),
    ("Asia/Kolkata", utc(2025, 3, 8, 18, 30), 24 * 60, 24 * 60),
    # 4 Oct 2025 (+10:30), then 5 Oct: DST starts at 02:00, a day of 23.5 hours.
    ("Australia/Lord_Howe", utc(2025, 10, 3, 13, 30), 24 * 60, 23 * 60 + 30),
    # 5 Apr 2025 (+11), then 6 Apr: DST ends at 02:00, a day of 24.5 hours.
    ("Australia/Lord_Howe", utc(2025, 4, 4, 13, 0), 24 * 60, 24 * 60 + 30),
    # 8 Mar 2025 (EST), then 9 Mar: 23 hours; 1 Nov 2025 (EDT), then 2 Nov: 25 hours.
    ("America/New_York", utc(2025, 3, 8, 5, 0), 24 * 60, 23 * 60),
    ("America/New_York", utc(2025, 11, 1, 4, 0), 24 * 60, 25 * 60),
]
ZONES = ["Asia/Kolkata", "Australia/Lord_Howe", "America/New_York"]


@pytest.mark.parametrize("tz, day, length, next_length", DAYS)
def test_period_math(tz, day, length, next_length):
    following = day + length * MINUTE
    after = following + next_length * MINUTE
    for instant in (day, day + 1, day + 5 * HOUR + 7, following - 1):
        assert period_start(instant, "dayRange", tz) == day
    for instant in (following, following + 3 * HOUR + 30 * MINUTE, after - 1):
        assert period_start(instant, "dayRange", tz) == following
    assert add_periods(day, 1, "dayRange", tz) == following
    assert add_periods(day, 2, "dayRange", tz) == after
    assert add_periods(after, -2, "dayRange", tz) == day
    assert list(period_starts(day + 1, after, "dayRange", tz)) == [day, following]
    # Hours start on whole UTC hours, whatever the zone.
    for instant in (day, following + 30 * MINUTE + 1, after - 1):
        hour = period_start(instant, "hourRange", tz)
        assert hour % HOUR == 0 and hour <= instant < hour + HOUR
    assert add_periods(day - day % HOUR, 3, "hourRange", tz) == day - day % HOUR + 3 * HOUR


@pytest.mark.parametrize("tz, day, length, next_length", DAYS)
def test_time_series_with_count_and_last(tz, day, length, next_length):
    following = day + length * MINUTE
    after = following + next_length * MINUTE
    now = after + 40 * 24 * HOUR
    by_count = resolve_time_series({"period": "dayRange", "first": day + HOUR, "count": 2}, tz, now)
    by_last = resolve_time_series(
        {"period": "dayRange", "first": str(day + 7), "last": following + 1}, tz, now
    )
    backwards = resolve_time_series({"period": "dayRange", "first": after, "count": -2}, tz, now)
    for series in (by_count, by_last, backwards):
        assert series.starts() == [day, following]
        assert (series.lo, series.span_ms()) == (day, (length + next_length) * MINUTE)
    one = resolve_time_series({"period": "dayRange", "first": following, "count": 1}, tz, now)
    assert (one.lo, one.span_ms()) == (following, next_length * MINUTE)
    hours = resolve_time_series({"period": "hourRange", "first": following, "count": 24}, tz, now)
    starts = hours.starts()
    assert starts[0] == following - following % HOUR and len(starts) == 24
    assert all(b - a == HOUR for a, b in zip(starts, starts[1:]))
    assert hours.span_ms() == 24 * HOUR


def aggregate(fake, source, series):
    body = {"request": {"pipeline": [{"source": {source: None, "timeSeries": series}}]}}
    response = requests.post(
        f"{fake.url}/api/v1/aggregation",
        json=body,
        headers={"x-pendo-integration-key": fake.key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("tz, day, length, next_length", [d for d in DAYS if d[2] != d[3]])
def test_a_pinned_clock_serves_the_days_around_a_dst_change(tz, day, length, next_length):
    """FakePendo(start_ms=...) pins the clock: the data's 30 days hold the change."""
    following = day + length * MINUTE
    with FakePendo(tz=tz, seed=2, scale=0.1, start_ms=following + 9 * 24 * HOUR) as fake:
        for first, start, minutes in (
            (day + 3 * HOUR, day, length),
            (following + (next_length - 1) * MINUTE, following, next_length),
        ):
            answer = aggregate(fake, "events", {"period": "dayRange", "first": first, "count": 1})
            assert answer["startTime"] == start
            assert answer["results"] and {row["day"] for row in answer["results"]} == {start}
            end = start + minutes * MINUTE
            assert all(
                start <= row["firstTime"] <= row["lastTime"] < end for row in answer["results"]
            )
            assert fake.log["time_series"]["longest_span_ms"] >= minutes * MINUTE
        fake.reset_log()
        series = {"period": "dayRange", "first": following, "last": following + 1}
        assert aggregate(fake, "guideEvents", series)["startTime"] == following
        assert fake.log["time_series"] == {
            "requests": 1,
            "longest_span_ms": next_length * MINUTE,
            "over_25_hours": 0,
        }
        morning = following + 10 * HOUR + 7 * MINUTE  # a busy hour of the new day
        hourly = aggregate(fake, "events", {"period": "hourRange", "first": morning, "count": 3})
        assert hourly["startTime"] == morning - morning % HOUR
        assert hourly["results"] and {row["hour"] % HOUR for row in hourly["results"]} == {0}


@pytest.mark.parametrize("tz", ZONES)
def test_every_row_carries_a_period_start_of_its_zone(tz):
    """Over 30 days of data, the `day` of every row is a local midnight, `hour` a whole UTC hour,
    and days and hours hold the same events."""
    from zoneinfo import ZoneInfo

    fake = FakePendo(tz=tz, seed=3, scale=0.05, start_ms=utc(2025, 11, 20, 10, 17))
    ds = fake.dataset
    days = list(period_starts(ds.start_ms - 31 * 24 * HOUR, ds.now_ms + 1, "dayRange", tz))
    hours = list(period_starts(days[0], ds.now_ms + 1, "hourRange", tz))
    for source in ("events", "featureEvents", "guideEvents", "pollEvents"):
        by_day = list(ds.event_rows(source, "dayRange", days))
        by_hour = list(ds.event_rows(source, "hourRange", hours))
        assert by_day and by_hour
        for row in by_day:
            local = datetime.fromtimestamp(row["day"] / 1000, ZoneInfo(tz))
            assert (local.hour, local.minute, local.second) == (0, 0, 0)
            assert (
                period_start(row.get("firstTime", row.get("browserTime")), "dayRange", tz)
                == row["day"]
            )
        assert {row["hour"] % HOUR for row in by_hour} == {0}
        assert sum(r.get("numEvents", 1) for r in by_day) == sum(
            r.get("numEvents", 1) for r in by_hour
        )
    if tz == "Asia/Kolkata":
        assert all(day % HOUR == 30 * MINUTE for day in days)  # an hour straddles every day
