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

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ..config import Config
from ..errors import StateError
from ..pendo import aggregation as agg
from ..pendo.paging import PagingEnd, keyset_rows, position_of
from ..streams import StreamDef, other_period_field, period_field
from ..timefmt import DAY_MS, HOUR_MS, ms_to_rfc3339, parse_datetime_ms
from ..transform import optional_ms
from .base import (
    OfOneStream,
    PlanEntry,
    ReadContext,
    bookmark_ms,
    bookmark_value,
    check_date,
    check_dates,
    check_position,
    reread_from,
    upper_ms,
)
from .items import Spawn, UnitEnd

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
    def kind(self) -> "WindowsKind":
        return WINDOWS

    @property
    def unit_group(self) -> str:
        return self.stream.name

    @property
    def resume_position(self) -> Optional[list]:
        return self.position

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

    def following(self, window: "Window", end: PagingEnd) -> tuple:
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

    def day_start(self, window: "Window", end: PagingEnd) -> Optional[int]:
        """Where the day of `window` starts, from its rows or Pendo's startTime."""
        if end.position:
            start = optional_ms(end.position[0])
            if start is not None:
                return start
        start = end.start_time
        if start is not None and window.first_ms - LONGEST_DAY_MS < start <= window.first_ms:
            return start
        return None

    def newest(self, end: PagingEnd) -> Optional[int]:
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

    def as_json(self) -> dict:
        last = ms_to_rfc3339(self.last_ms) if self.last_ms is not None else None
        return {
            "kind": WINDOWS.name,
            "index": self.index,
            "first": ms_to_rfc3339(self.first_ms),
            # None: the one period (a day) that holds `first`, wherever Pendo says it starts.
            "last": last,
            "after": self.position,
        }


def read_window(ctx: ReadContext, window: Window) -> Iterator:
    """A window's rows; then the windows that follow it, if its answer decides them; last,
    the end of its pages."""
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


class WindowCheckpoint:
    """An event stream: windows in order; the newest value of the finished ones, and where
    a resumed run goes on (the first window not finished, after its last written row)."""

    def __init__(self, scope: WindowScope, windows: tuple):
        self.scope = scope
        self._windows: deque = deque(windows)
        self._newest = scope.bookmark_ms
        self._written: Optional[list] = None  # position of the last row of the front window
        self.done_count = 0
        self.known = len(windows)
        self.finished = not self._windows
        self.entry: Optional[dict] = self._entry()

    def spawned(self, spawn: Spawn) -> None:
        self._windows.extend(spawn.units)
        self.known += len(spawn.units)
        self.entry = self._entry()

    def written(self, window: "Window", position: Optional[list]) -> None:
        if position is not None:
            self._written = position
            self.entry = self._entry()

    def done(self, window: "Window", end: PagingEnd) -> None:
        assert window is self._windows[0], "windows end in order"
        self._windows.popleft()
        self._written = None
        newest = self.scope.newest(end)
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
        self.done_count += 1
        self.finished = not self._windows
        self.entry = self._entry()

    def done_line(self, window: "Window", rows: int) -> str:
        return (
            f"{self.scope.stream.name}: window {self.done_count}/{self.known} "
            f"({ms_to_rfc3339(window.first_ms)}) done, {rows} rows so far"
        )

    def _entry(self) -> dict:
        newest = self._newest
        if self.finished and newest is not None:
            newest = min(newest, self.scope.sync_start_ms)
        key = self.scope.stream.bookmark_key(self.scope.period)
        entry = {key: ms_to_rfc3339(newest)} if newest is not None else {}
        if not self._windows:
            return entry
        front = self._windows[0]
        entry["window_start"] = ms_to_rfc3339(front.first_ms)
        written = self._written if self._written is not None else front.position
        return {**entry, "after": written} if written is not None else entry


class WindowsKind:
    """Event streams: an aggregation with a timeSeries, one window of periods per unit."""

    name = "windows"

    def scope(self, config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
        bookmark = bookmark_ms(state, stream, config.period)
        resume_at = bookmark_value(state, stream, "window_start")
        position = None
        if resume_at:
            lower = parse_datetime_ms(resume_at)
            position = bookmark_value(state, stream, "after")
        else:
            lower = reread_from(config, bookmark)
        return WindowScope(
            stream=stream,
            period=config.period,
            lower_ms=lower,
            upper_ms=upper_ms(config, sync_start_ms),
            start_ms=config.start_ms,
            end_ms=config.end_ms,
            position=position,
            bookmark_ms=bookmark,
            sync_start_ms=sync_start_ms,
            params=agg.source_params(agg.APPS, config.app_ids, config.include_anonymous_visitors),
            record_limit=config.record_limit,
        )

    def first_units(self, config: Config, scopes: tuple) -> tuple:
        (scope,) = scopes
        return scope.first_windows()

    def read(self, ctx: ReadContext, window: Window) -> Iterator:
        return read_window(ctx, window)

    def checkpoint(self, scope: WindowScope, first_units: tuple) -> WindowCheckpoint:
        return WindowCheckpoint(scope, first_units)

    def check_bookmark(self, stream: StreamDef, bookmark: dict, period: str) -> None:
        if stream.aggregated_by_period:
            other = other_period_field(period)
            if other in bookmark and period_field(period) not in bookmark:
                raise StateError(
                    f"the state's '{stream.name}' bookmark is by '{other}', but config 'period' "
                    f"is {period}: set period back, or rename the bookmark key '{other}' to "
                    f"'{period_field(period)}' in the state (or drop the stream's bookmark to "
                    "resync it)"
                )
        check_dates(stream, bookmark, period)
        check_date(stream.name, "window_start", bookmark.get("window_start"))
        check_position(
            stream.name, "after", bookmark.get("after"), len(stream.window_order(period))
        )

    def plan_entry(self, scope: WindowScope, units: tuple) -> PlanEntry:
        return PlanEntry(
            text=scope.describe(),
            requests=scope.estimated_windows(),
            bounds={"from": ms_to_rfc3339(scope.lower_ms), "to": ms_to_rfc3339(scope.upper_ms)},
            units=tuple(unit.as_json() for unit in units),
        )


WINDOWS = WindowsKind()
