"""Event streams: an aggregation with a timeSeries, read one window of periods per unit.

- hourRange: windows of 24 whole UTC hours, `first`/`last` (hours always start on a
  whole UTC hour).
- dayRange: one day per request, `{"first": an instant of the day, "count": 1}`. Days
  follow the subscription's time zone and last 23 to 25 hours, so the tap never
  guesses where they start: the first window is the day that contains the lower bound,
  and its answer says where that day starts (a row's `day`, or Pendo's `startTime`).
  The following windows are then asked at the local noon of each following day,
  which stays inside its day whatever daylight saving does. Until a start is known
  (empty days, no `startTime`), each next window is asked 22 hours after the last:
  never past a day, at worst the same empty day again.

A window's rows are read in keyset pages ordered by the period first, so a page's
last row holds the newest replication value read so far.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ..pendo import aggregation as agg
from ..pendo.paging import WalkEnd, keyset_rows, position_of
from ..streams import StreamDef, period_field
from ..timefmt import DAY_MS, HOUR_MS, ms_to_rfc3339
from ..transform import optional_ms
from .items import OfOneStream, ReadContext, Spawn, UnitEnd

LATE_DATA_MS = DAY_MS  # Pendo's data arrives hours late: a run always re-reads a day
HOUR_WINDOW_MS = 24 * HOUR_MS
LONGEST_DAY_MS = 25 * HOUR_MS
NOON_MS = 12 * HOUR_MS
NOON_DRIFT_MS = 2 * HOUR_MS  # how far daylight saving moves a local noon, at most
BLIND_STEP_MS = 22 * HOUR_MS  # shorter than any day: a step that never skips one


@dataclass(frozen=True)
class WindowScope:
    """What an event stream reads in this run: the bounds, filters and resume point."""

    stream: StreamDef
    period: str
    lower_ms: int  # the first window holds the period that contains it
    upper_ms: int  # periods (or events) before it
    start_ms: int
    end_ms: Optional[int]
    position: Optional[list]  # where an interrupted run stopped inside the first window
    bookmark_ms: Optional[int]
    sync_start_ms: int
    params: Optional[dict]
    record_limit: int

    @property
    def order(self) -> tuple:
        return self.stream.window_order(self.period)

    @property
    def where(self) -> Optional[str]:
        """Events at or after start_date (before end_date); periods that start before the
        upper bound. The period that holds start_date is read whole, as Pendo's `first`
        includes it. (The last day window may hold a day that starts after the bound: where
        days start is only known within an hour or two.)"""
        if not self.stream.aggregated_by_period:
            path = self.stream.replication_path
            return agg.all_of(
                agg.at_or_after(path, self.start_ms),
                agg.before(path, self.end_ms) if self.end_ms is not None else None,
            )
        if self.period == "dayRange":
            return agg.before(period_field(self.period), self.upper_ms)
        return None  # hour windows end at the bound (`last`)

    def first_windows(self) -> tuple:
        """The windows known before any request: every hour window, or the first day."""
        if self.lower_ms >= self.upper_ms:
            return ()
        if self.period == "hourRange":
            first = self.lower_ms - self.lower_ms % HOUR_MS
            starts = range(first, self.upper_ms, HOUR_WINDOW_MS)
            return tuple(
                Window(self, i, start, min(start + HOUR_WINDOW_MS, self.upper_ms))
                for i, start in enumerate(starts)
            )
        return (Window(self, 0, self.lower_ms),)

    def following(self, window: "Window", end: WalkEnd) -> tuple:
        """The day windows that follow `window`, now that its answer is in."""
        if window.last_ms is not None or window.at_noon or window.final:
            return ()
        start = self.day_start(window, end)
        if start is not None:
            anchors = range(
                start + DAY_MS + NOON_MS, self.upper_ms + NOON_MS + NOON_DRIFT_MS, DAY_MS
            )
            return tuple(
                Window(self, window.index + k, anchor, at_noon=True)
                for k, anchor in enumerate(anchors, 1)
            )
        step = window.first_ms + BLIND_STEP_MS
        if step < self.upper_ms:
            return (Window(self, window.index + 1, step),)
        if self.upper_ms - 1 > window.first_ms:
            # The day that holds the upper bound may not be read yet.
            return (Window(self, window.index + 1, self.upper_ms - 1, final=True),)
        return ()

    def day_start(self, window: "Window", end: WalkEnd) -> Optional[int]:
        """Where the day of `window` starts, from its rows or Pendo's startTime."""
        if end.position:
            start = optional_ms(end.position[0])
            if start is not None:
                return start
        start = end.start_time
        if start is not None and window.first_ms - LONGEST_DAY_MS < start <= window.first_ms:
            return start
        return None

    def newest(self, end: WalkEnd) -> Optional[int]:
        """The newest replication value of a window: its last row's."""
        if not end.position:
            return None
        index = self.order.index(self.stream.raw_replication_path(self.period))
        return optional_ms(end.position[index])

    def estimated_windows(self) -> int:
        """How many windows a full run reads (for day windows, a count of 24-hour days)."""
        if self.lower_ms >= self.upper_ms:
            return 0
        if self.period == "hourRange":
            return len(self.first_windows())
        return 1 + (self.upper_ms - self.lower_ms) // DAY_MS

    def describe(self) -> str:
        count = self.estimated_windows()
        if self.period == "hourRange":
            windows = f"{count} windows of 24 whole UTC hours"
        else:  # where days start is Pendo's to say: the count is within one
            windows = f"about {count} windows of one day"
        return (
            f"{windows}, periods from the one holding {ms_to_rfc3339(self.lower_ms)} to "
            f"{ms_to_rfc3339(self.upper_ms)}, source {self.stream.source}"
        )


@dataclass(frozen=True, eq=False)
class Window(OfOneStream):
    """One window: `first_ms` is the timeSeries' `first`; `last_ms` its `last` (hourRange),
    or None for the one day that contains `first_ms` (dayRange)."""

    scope: WindowScope
    index: int
    first_ms: int
    last_ms: Optional[int] = None
    at_noon: bool = False  # a local noon: the day's start is known, the windows planned
    final: bool = False  # asked at the upper bound's last instant: nothing follows

    def position_of(self, row: dict) -> list:
        """Where a row of this window lies, in its keyset order."""
        return position_of(row, self.scope.order)

    @property
    def position(self) -> Optional[list]:
        """The first window of a resumed run goes on after the interrupted run's position."""
        return self.scope.position if self.index == 0 else None

    def time_series(self) -> dict:
        if self.last_ms is not None:
            return agg.time_series(self.scope.period, self.first_ms, self.last_ms)
        return agg.one_period(self.scope.period, self.first_ms)

    def describe(self) -> str:
        return f"window {self.index + 1} {ms_to_rfc3339(self.first_ms)}"


def read_window(ctx: ReadContext, window: Window) -> Iterator:
    """A window's rows; then the windows that follow it, if its answer decides them; last,
    the walk's end."""
    scope = window.scope
    source = agg.source_step(scope.stream.source, scope.params, window.time_series())
    end = yield from keyset_rows(
        ctx.client,
        window.stream,
        source,
        scope.where,
        scope.order,
        scope.record_limit,
        window.position,
        window.describe(),
    )
    following = scope.following(window, end)
    if following:
        yield Spawn(window.stream, window.index, following)
    yield UnitEnd(end)
