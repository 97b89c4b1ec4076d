"""Instants as the tests write them: RFC3339 literals, epoch ms, local midnights.

Written here in a few lines each, from the standard library, so that no expectation
is computed with the tap's own time helpers. The pinned clocks below are the "now"
of the end-to-end fakes: every test runs the fake and the tap on one of them, so no
result depends on the day the tests run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def ms(text: str) -> int:
    """Epoch ms of an RFC3339 instant (`2026-11-01T04:00:00Z`, with or without a fraction)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, f"{text!r} names no offset"
    return round(moment.timestamp() * 1000)


def rfc3339(epoch_ms: int) -> str:
    """The data contract's format: UTC with microseconds, `2026-11-02T05:00:00.000000Z`."""
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=epoch_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_start(epoch_ms: int, tz: str) -> int:
    """Epoch ms of the local midnight that starts the day holding `epoch_ms` in `tz`."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(epoch_ms / 1000, zone)
    return round(datetime(local.year, local.month, local.day, tzinfo=zone).timestamp() * 1000)


def hour_start(epoch_ms: int) -> int:
    """Hours are whole UTC hours in every zone (the API contract)."""
    return epoch_ms - epoch_ms % HOUR_MS


def period_start(epoch_ms: int, period: str, tz: str) -> int:
    """The start of the `dayRange` or `hourRange` period that holds `epoch_ms`."""
    return day_start(epoch_ms, tz) if period == "dayRange" else hour_start(epoch_ms)


# ------------------------------------------------------------------ pinned clocks
# Each is a "now" that puts one calendar edge inside the data a test reads, or inside
# the hours its clock moves on. The comment says which edge.

# New York falls back on Sunday 1 November 2026 at 06:00Z: that day lasts 25 hours
# (04:00Z to 05:00Z the next day). A Wednesday afternoon of that week.
US_DST_WEEK = ms("2026-11-04T15:00:00Z")
# The Saturday evening before it: 26 hours later the clock stands inside the 25-hour day.
US_DST_EVE = ms("2026-10-31T20:00:00Z")
# New York springs forward on Sunday 8 March 2026 at 07:00Z: a 23-hour day.
US_SPRING_WEEK = ms("2026-03-11T15:00:00Z")
# Lord Howe goes back half an hour on 5 April 2026 (15:00Z on the 4th): a 24.5-hour day.
LORD_HOWE_APRIL = ms("2026-04-08T06:00:00Z")
# Lord Howe goes forward half an hour on 4 October 2026 (15:30Z on the 3rd): a 23.5-hour
# day. The morning before it: 26 hours later the clock stands inside that day.
LORD_HOWE_OCTOBER_EVE = ms("2026-10-03T06:00:00Z")
LORD_HOWE_OCTOBER = ms("2026-10-07T06:00:00Z")
# A month end where the local day starts in the month before UTC's: 1 June 2026 in
# Kolkata (+05:30) begins at 18:30Z on 31 May. Early afternoon of that 1 June.
MONTH_END_KOLKATA = ms("2026-06-01T08:00:00Z")
# A year end where the local date is behind UTC's: 22:00 on 31 December in New York is
# 1 January 2027 in UTC.
YEAR_END_NEW_YORK = ms("2027-01-01T03:00:00Z")
# The afternoon of 31 December in Kolkata: 26 hours later it is 1 January in every zone.
YEAR_END_EVE_KOLKATA = ms("2026-12-31T12:00:00Z")
