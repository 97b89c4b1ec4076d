"""The engine's timeSeries: the periods a source's `timeSeries` names, in the
subscription's time zone (days) or on whole UTC hours (hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .periods import HOUR_MS, add_periods, period_start, period_starts

PERIODS = ("dayRange", "hourRange")


@dataclass(frozen=True)
class TimeSeries:
    """The periods of a timeSeries: every period start in [lo, hi); lo is a period start.

    `lo` is the start of the request's first period (`first` rounded down; with
    a negative count, the earliest of the periods counted back), also when the
    request names no period at all: it is the answer's `startTime`.
    """

    period: str
    lo: int
    hi: int
    tz: str

    def starts(self, since_ms: int | None = None, until_ms: int | None = None) -> list[int]:
        """The period starts, ascending.

        Only those of periods that contain or follow `since_ms`, and that start
        no later than `until_ms`, when given: the periods where data can be.
        """
        lo = (
            self.lo
            if since_ms is None
            else max(self.lo, period_start(since_ms, self.period, self.tz))
        )
        hi = self.hi if until_ms is None else min(self.hi, until_ms + 1)
        if self.period == "hourRange":
            return list(range(lo, max(hi, lo), HOUR_MS))
        return list(period_starts(lo, hi, self.period, self.tz))

    def span_ms(self) -> int:
        """From the start of the first period to the end of the last one; 0 for no period.

        The periods tile the time line, so the last one whose start lies
        before `hi` is the one that contains `hi - 1`.
        """
        if self.hi <= self.lo:
            return 0
        last = period_start(self.hi - 1, self.period, self.tz)
        return add_periods(last, 1, self.period, self.tz) - self.lo


def _instant(value: Any, now_ms: int) -> int:
    """Epoch ms of a timeSeries bound: an integer, a string of digits or "now()"."""
    if value == "now()":
        return now_ms
    if value.__class__ is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(f"bad time {value!r}")


def resolve_time_series(spec: Any, tz: str, now_ms: int) -> TimeSeries:
    """The periods that a timeSeries object names; ValueError when it is malformed.

    `first` is rounded down to its period's start in `tz`. With `last`, the
    periods start in [round(first), last); with `count` N, they are the N
    periods from round(first), or for a negative N the -N periods before it.
    """
    if not isinstance(spec, dict) or spec.get("period") not in PERIODS or "first" not in spec:
        raise ValueError("a timeSeries needs a period and a first")
    ends = {"count", "last"} & spec.keys()
    if len(ends) != 1 or len(spec) != 3:
        raise ValueError("a timeSeries has exactly one of count and last")
    period = spec["period"]
    lo = period_start(_instant(spec["first"], now_ms), period, tz)
    if "last" in spec:
        return TimeSeries(period, lo, _instant(spec["last"], now_ms), tz)
    count = spec["count"]
    if count.__class__ is not int:
        raise ValueError("count is not an integer")
    try:
        other = add_periods(lo, count, period, tz)
    except (OverflowError, ValueError) as exc:
        raise ValueError("count out of range") from exc
    return TimeSeries(period, min(lo, other), max(lo, other), tz)
