"""Bookkeeping of each stream while the executor runs: what the rows written so far allow
its bookmark to say.

Each stream's rows are written in the stream's order (lanes.py), so a book follows
one unit at a time: every unit before it is finished, and the current one is
written up to a known position. A STATE therefore claims exactly the rows written
before it, never a unit still running beyond them. Only the executor's thread
uses these.
"""

from collections import deque
from typing import Optional

from ..readers.document import DocumentScope
from ..readers.history import HistoryScope
from ..readers.listing import EntityScope, ListingUnit
from ..readers.windows import WindowScope
from ..timefmt import ms_to_rfc3339


class EntityBook:
    """An entity stream: one listing; its position after every batch written."""

    def __init__(self, scope: EntityScope):
        self.scope = scope
        self.finished = False
        self.entry: Optional[dict] = scope.progress(None)

    def on_spawn(self, spawn) -> None:
        raise AssertionError("an entity stream spawns no units")

    def on_written(self, unit, position) -> None:
        if position is not None:
            self.entry = self.scope.progress(position)

    def on_done(self, unit, end) -> None:
        self.entry = self.scope.finished(end.position)
        self.finished = True


class WindowBook:
    """An event stream: windows in order; the newest value of the finished ones."""

    def __init__(self, scope: WindowScope, windows: tuple):
        self.scope = scope
        self._windows: deque = deque(windows)
        self._newest = scope.bookmark_ms
        self._written: Optional[list] = None  # position of the last row of the front window
        self.done = 0
        self.known = len(windows)
        self.finished = not self._windows
        self.entry: Optional[dict] = self._entry()

    def on_spawn(self, spawn) -> None:
        self._windows.extend(spawn.units)
        self.known += len(spawn.units)
        self.entry = self._entry()

    def on_written(self, window, position) -> None:
        if position is not None:
            self._written = position
            self.entry = self._entry()

    def on_done(self, window, end) -> None:
        assert window is self._windows[0], "windows end in order"
        self._windows.popleft()
        self._written = None
        newest = self.scope.newest(end)
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
        self.done += 1
        self.finished = not self._windows
        self.entry = self._entry()

    def _entry(self) -> dict:
        newest = self._newest
        if self.finished and newest is not None:
            newest = min(newest, self.scope.sync_start_ms)
        key = self.scope.stream.bookmark_key(self.scope.period)
        entry = {key: ms_to_rfc3339(newest)} if newest is not None else {}
        if not self._windows:
            return entry
        # Where a resumed run goes on: the first window not finished, after its last row.
        front = self._windows[0]
        entry["window_start"] = ms_to_rfc3339(front.first_ms)
        written = self._written if self._written is not None else front.position
        return {**entry, "after": written} if written is not None else entry


class HistoryBook:
    """visitor_history: visitors in listing order, each done once all its days are written."""

    def __init__(self, scope: HistoryScope):
        self.scope = scope
        self._visitors: deque = deque()  # [listing position, days not written yet]
        self._listed = False
        self._after = scope.position  # the last visitor whose days are all written
        self._partial = scope.partial  # the visitor under way, and its last day written
        self.finished = False
        self.entry: Optional[dict] = scope.progress(scope.position, scope.partial)

    def on_spawn(self, spawn) -> None:
        self._visitors.append([spawn.group, len(spawn.units)])
        self._moved()

    def on_written(self, day, position) -> None:
        """A day's rows are written whole; its end follows."""

    def on_done(self, unit, end) -> None:
        if isinstance(unit, ListingUnit):
            self._listed = True
        else:
            visitor = self._visitors[0]
            visitor[1] -= 1
            self._partial = [visitor[0], unit.day_ms]
        self._moved()

    def _moved(self) -> None:
        while self._visitors and self._visitors[0][1] == 0:
            self._after = self._visitors.popleft()[0]
            self._partial = None
        self.finished = self._listed and not self._visitors
        if self.finished:
            self.entry = self.scope.finished()
        else:
            self.entry = self.scope.progress(self._after, self._partial)


class DocumentBook:
    """A document stream: one request."""

    def __init__(self, scope: DocumentScope):
        self.scope = scope
        self.finished = False
        self.entry: Optional[dict] = None

    def on_spawn(self, spawn) -> None:
        raise AssertionError("a document stream spawns no units")

    def on_written(self, unit, position) -> None:
        """The document's rows are written whole; its end follows."""

    def on_done(self, unit, newest) -> None:
        self.entry = self.scope.finished(newest)
        self.finished = True


def book_for(scope, first_units: tuple):
    """The book of a stream, by what it reads; `first_units` are its planned units."""
    if isinstance(scope, EntityScope):
        return EntityBook(scope)
    if isinstance(scope, WindowScope):
        return WindowBook(scope, first_units)
    if isinstance(scope, HistoryScope):
        return HistoryBook(scope)
    return DocumentBook(scope)
