"""Pendo's periods: days in the subscription's time zone, hours on whole UTC hours.

Shared by the fake's query engine (timeSeries rounding) and its dataset
(which period an event belongs to).
"""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
PERIOD_FIELDS = {"dayRange": "day", "hourRange": "hour"}


def period_field(period: str) -> str:
    """The row field that carries a period's start: `day` or `hour`."""
    return PERIOD_FIELDS[period]


def period_start(ms: int, period: str, tz: str) -> int:
    """Start (epoch ms) of the period that contains `ms`."""
    if period == "hourRange":
        return ms - ms % HOUR_MS
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(ms / 1000, zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    return int(midnight.timestamp() * 1000)


def add_periods(start_ms: int, count: int, period: str, tz: str) -> int:
    """Start of the period `count` periods after the one starting at `start_ms`.

    `count` may be negative. Days are calendar days in `tz`, so they last 23,
    24 or 25 hours around a DST change.
    """
    if period == "hourRange":
        return start_ms + count * HOUR_MS
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(start_ms / 1000, zone)
    day = datetime(local.year, local.month, local.day) + timedelta(days=count)
    return int(day.replace(tzinfo=zone).timestamp() * 1000)


def period_starts(first_ms: int, end_ms: int, period: str, tz: str):
    """Starts of the periods from the one containing `first_ms` up to `end_ms` (exclusive)."""
    start = period_start(first_ms, period, tz)
    while start < end_ms:
        yield start
        start = add_periods(start, 1, period, tz)


def utc(ms: int) -> datetime:
    """An aware UTC datetime for epoch ms."""
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
