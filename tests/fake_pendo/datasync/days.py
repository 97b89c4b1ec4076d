"""UTC days, the unit of Data Sync periods: a day is an `int` of days since 1970-01-01,
which is also the value of an Avro `date`.
"""

from __future__ import annotations

import datetime

DAY_MS = 86_400_000
_EPOCH = datetime.date(1970, 1, 1)


def day_of(value: datetime.date) -> int:
    """The day number of a calendar date."""
    return (value - _EPOCH).days


def day_of_ms(ms: int) -> int:
    """The UTC day that holds the instant `ms` (epoch milliseconds)."""
    return ms // DAY_MS


def start_ms(day: int) -> int:
    """The first millisecond of `day`."""
    return day * DAY_MS


def calendar_date(day: int) -> datetime.date:
    """The calendar date of `day`."""
    return _EPOCH + datetime.timedelta(days=day)


def iso_date(day: int) -> str:
    """`YYYY-MM-DD`: how the contract writes a `date` value."""
    return calendar_date(day).isoformat()


def period_id(day: int) -> str:
    """The manifest's `periodId` of `day`: `2026-11-30T00:00:00Z`."""
    return f"{iso_date(day)}T00:00:00Z"


def folder_name(day: int) -> str:
    """The period's folder inside an export that covers several periods: `20261130`."""
    return calendar_date(day).strftime("%Y%m%d")


def is_weekend(day: int) -> bool:
    """Saturday or Sunday (1970-01-01 was a Thursday)."""
    return (day + 3) % 7 >= 5


def instant_ms(value) -> int | None:
    """Epoch ms of a bound given as epoch ms, a date, a datetime (naive: UTC) or ISO text."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        value = (
            datetime.datetime.fromisoformat(text)
            if "T" in text
            else datetime.date.fromisoformat(text)
        )
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return round(value.timestamp() * 1000)
    if isinstance(value, datetime.date):
        return start_ms(day_of(value))
    raise TypeError(f"not a date or an instant: {value!r}")
