"""Bookkeeping of each stream while the executor runs: which of its units are done, and
the bookmark that the finished ones allow.

Units of one stream finish in any order; a stream's bookmark only moves over the
contiguous prefix of finished units, so a STATE never claims a unit still running.
Only the executor's own thread uses these.
"""

from collections import deque
from typing import Optional

from .documents import DocumentScope
from .entities import EntityScope, ListingUnit
from .history import HistoryScope
from .timefmt import ms_to_rfc3339
from .windows import WindowScope


class OrderedGroups:
    """Groups of units in a stream's order, and how far the front of them is complete."""

    def __init__(self):
        self._groups: deque = deque()  # [name, units not done yet]
        self._group_of: dict = {}

    def add(self, name, units) -> list:
        """A new group at the back; the names of the groups completed at the front."""
        group = [name, set(units)]
        self._groups.append(group)
        for unit in units:
            self._group_of[unit] = group
        return self._complete_front()

    def done(self, unit) -> list:
        """`unit` is done; the names of the groups that this completes at the front."""
        group = self._group_of.pop(unit, None)
        if group is not None:
            group[1].discard(unit)
        return self._complete_front()

    @property
    def front(self):
        """The name of the first group not complete yet, or None."""
        return self._groups[0][0] if self._groups else None

    def __len__(self) -> int:
        return len(self._groups)

    def _complete_front(self) -> list:
        names = []
        while self._groups and not self._groups[0][1]:
            names.append(self._groups.popleft()[0])
        return names


class EntityBook:
    """An entity stream: one listing; its position after every page."""

    def __init__(self, scope: EntityScope):
        self.scope = scope
        self.finished = False
        self.entry: Optional[dict] = scope.progress(None)

    def on_spawn(self, spawn) -> None:
        raise AssertionError("an entity stream spawns no units")

    def on_page(self, unit, page_end) -> None:
        self.entry = self.scope.progress(page_end.position)

    def on_done(self, unit, end) -> None:
        self.entry = self.scope.finished(end.position)
        self.finished = True


class WindowBook:
    """An event stream: windows in order; the newest value of the finished prefix."""

    def __init__(self, scope: WindowScope, windows: tuple):
        self.scope = scope
        self.finished = False
        self._windows = OrderedGroups()
        self._newest = scope.bookmark_ms
        self._window_newest: dict = {}
        self._inside: dict = {}  # window -> position of its last finished page
        self.done = 0
        self.known = 0
        self._add(windows)
        self.entry: Optional[dict] = self._entry()

    def _add(self, windows) -> None:
        for window in windows:
            self._windows.add(window, (window,))
        self.known += len(windows)
        self.finished = not self._windows

    def on_spawn(self, spawn) -> None:
        self._add(spawn.units)
        self.entry = self._entry()

    def on_page(self, window, page_end) -> None:
        self._inside[window] = page_end.position
        self.entry = self._entry()

    def on_done(self, window, end) -> None:
        self._window_newest[window] = self.scope.newest(end)
        self.done += 1
        for finished in self._windows.done(window):
            newest = self._window_newest.pop(finished)
            self._inside.pop(finished, None)
            if newest is not None and (self._newest is None or newest > self._newest):
                self._newest = newest
        self.finished = not self._windows
        self.entry = self._entry()

    def _entry(self) -> dict:
        newest = self._newest
        if self.finished and newest is not None:
            newest = min(newest, self.scope.sync_start_ms)
        key = self.scope.stream.bookmark_key(self.scope.period)
        entry = {key: ms_to_rfc3339(newest)} if newest is not None else {}
        front = self._windows.front
        if front is None:
            return entry
        # Where a resumed run goes on: the first window not finished, after its last page.
        entry["window_start"] = ms_to_rfc3339(front.first_ms)
        inside = self._inside.get(front, front.position)
        return {**entry, "after": inside} if inside is not None else entry


class HistoryBook:
    """visitor_history: visitors in listing order, each done once all its days are."""

    def __init__(self, scope: HistoryScope):
        self.scope = scope
        self.finished = False
        self._visitors = OrderedGroups()
        self._listed = False
        self._last_done = scope.position
        self.entry: Optional[dict] = scope.progress(scope.position)

    def on_spawn(self, spawn) -> None:
        self._passed(self._visitors.add(spawn.group, spawn.units))

    def on_page(self, unit, page_end) -> None:
        """A page of the visitors listing: it says nothing of the history itself."""

    def on_done(self, unit, end) -> None:
        if isinstance(unit, ListingUnit):
            self._listed = True
            self._passed([])
        else:
            self._passed(self._visitors.done(unit))

    def _passed(self, visitors: list) -> None:
        if visitors:
            self._last_done = visitors[-1]
        self.finished = self._listed and not self._visitors
        if self.finished:
            self.entry = self.scope.finished()
        else:
            self.entry = self.scope.progress(self._last_done)


class DocumentBook:
    """A document stream: one request."""

    def __init__(self, scope: DocumentScope):
        self.scope = scope
        self.finished = False
        self.entry: Optional[dict] = None

    def on_spawn(self, spawn) -> None:
        raise AssertionError("a document stream spawns no units")

    def on_page(self, unit, page_end) -> None:
        raise AssertionError("a document is one answer")

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
