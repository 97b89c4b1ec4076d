"""Event windows: one day of periods per request in the subscription's time zone, whatever
the day's length, learned from Pendo's answers; 24 whole UTC hours with hourRange."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tap_pendo.pendo.paging import PagingEnd
from tap_pendo.readers.windows import WindowScope

from .scopes import ms
from .scopes import window_scope as scope

ZONES = ["America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def day_start(ms: int, tz: str) -> int:
    """Pendo's rounding of `first` for dayRange: local midnight of the day holding `ms`."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(ms / 1000, zone)
    return int(datetime(local.year, local.month, local.day, tzinfo=zone).timestamp() * 1000)


def walk(window_scope: WindowScope, tz: str, empty=lambda start: False, start_time=True):
    """Run the window walk as the executor does, answering as Pendo would: the day that
    holds `first`, its rows' day (unless the day is `empty`), and its startTime."""
    days = []
    queue = list(window_scope.first_windows())
    while queue:
        window = queue.pop(0)
        start = day_start(window.first_ms, tz)
        assert window.time_series() == {"period": "dayRange", "first": window.first_ms, "count": 1}
        days.append(start)
        end = PagingEnd(
            position=None if empty(start) else [start, "visitor"],
            start_time=start if start_time else None,
        )
        queue.extend(window_scope.following(window, end))
    return days


def expected_days(lower: int, upper: int, tz: str) -> list:
    days, start = [], day_start(lower, tz)
    while start < upper:
        days.append(start)
        start = day_start(start + 25 * HOUR_MS, tz)
    return days


# Ranges that cross daylight-saving changes: New York's 25-hour 1 November and 23-hour
# 8 March, Lord Howe's 24.5-hour April and 23.5-hour October days, and India's +05:30.
RANGES = [
    ("2026-10-25T12:00:00Z", "2026-11-12T00:00:00Z"),
    ("2026-03-01T03:30:00Z", "2026-03-20T00:00:00Z"),
    ("2026-03-30T00:00:00Z", "2026-04-15T07:00:00Z"),
    ("2026-09-25T13:29:00Z", "2026-10-12T00:00:00Z"),
    ("2025-12-20T00:00:00Z", "2026-12-01T00:00:00Z"),  # a year: every change of the year
]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("lower,upper", RANGES)
def test_each_day_is_read_once_from_the_day_that_holds_the_lower_bound(tz, lower, upper):
    window_scope = scope(lower, upper)
    days = walk(window_scope, tz)
    expected = expected_days(window_scope.lower_ms, window_scope.upper_ms, tz)
    # At most one day more, starting at or after the bound: its rows are filtered out.
    assert days[: len(expected)] == expected and len(days) - len(expected) <= 1
    assert all(day >= window_scope.upper_ms for day in days[len(expected) :])
    lengths = {b - a for a, b in zip(days, days[1:])}
    assert max(lengths) <= 25 * HOUR_MS and min(lengths) >= 23 * HOUR_MS


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("lower,upper", RANGES[:4])
def test_without_rows_or_start_time_no_day_is_skipped(tz, lower, upper):
    """Empty days that say nothing of where they start: each next window is asked 22 hours
    on, which may ask an empty day twice, never skips one."""
    window_scope = scope(lower, upper)
    days = walk(window_scope, tz, empty=lambda start: True, start_time=False)
    assert sorted(set(days)) == expected_days(window_scope.lower_ms, window_scope.upper_ms, tz)
    assert days == sorted(days)


@pytest.mark.parametrize("tz", ZONES)
def test_the_first_rows_after_empty_days_set_the_days_apart(tz):
    window_scope = scope(*RANGES[0])
    first_rows = expected_days(window_scope.lower_ms, window_scope.upper_ms, tz)[5]
    days = walk(window_scope, tz, empty=lambda start: start < first_rows, start_time=False)
    expected = expected_days(window_scope.lower_ms, window_scope.upper_ms, tz)
    assert [d for d in sorted(set(days)) if d < window_scope.upper_ms] == expected
    after = [d for d in days if d >= first_rows]
    assert after == sorted(set(after)), "a day with rows was read twice"


def test_a_start_time_that_is_not_this_days_start_is_not_believed():
    window_scope = scope(*RANGES[0])
    (window,) = window_scope.first_windows()
    now = window.first_ms + 3 * DAY_MS  # e.g. the time of the answer, not a period start
    assert window_scope.day_start(window, PagingEnd(None, now)) is None
    assert window_scope.day_start(window, PagingEnd(None, window.first_ms - HOUR_MS)) == (
        window.first_ms - HOUR_MS
    )


def test_hour_windows_are_24_whole_utc_hours_from_the_hour_that_holds_the_lower_bound():
    window_scope = scope("2026-11-01T10:30:00Z", "2026-11-03T05:15:00Z", period="hourRange")
    windows = window_scope.first_windows()
    series = [w.time_series() for w in windows]
    assert series[0] == {
        "period": "hourRange",
        "first": ms("2026-11-01T10:00:00Z"),
        "last": ms("2026-11-02T10:00:00Z"),
    }
    assert series[-1]["last"] == ms("2026-11-03T05:15:00Z")
    assert all(s["last"] - s["first"] <= 24 * HOUR_MS for s in series)
    assert [s["first"] for s in series[1:]] == [s["last"] for s in series[:-1]]


def test_filters_keep_events_from_start_date_and_periods_before_end_date():
    per_event = scope(*RANGES[0], stream="guide_events", end_ms=ms(RANGES[0][1]))
    start, end = per_event.start_ms, per_event.end_ms
    assert per_event.where == f"(browserTime >= {start}) && (browserTime < {end})"
    aggregated = scope(*RANGES[0], end_ms=end)
    # The period holding start_date is read whole: no filter on the lower bound.
    assert aggregated.where == f"day < {aggregated.upper_ms}"
    assert scope(*RANGES[0], period="hourRange").where is None


def test_a_resumed_window_goes_on_after_its_position_and_later_ones_from_their_start():
    window_scope = scope(*RANGES[0], position=[1, "v"])
    (first,) = window_scope.first_windows()
    assert first.position == [1, "v"]
    start = day_start(first.first_ms, "UTC")
    following = window_scope.following(first, PagingEnd([start, "v"], start))
    assert following and all(w.position is None for w in following)
    utc_noon = datetime.fromtimestamp(following[0].first_ms / 1000, timezone.utc)
    assert utc_noon - datetime.fromtimestamp(start / 1000, timezone.utc) == timedelta(hours=36)
