"""The units waiting for the executor's workers, and the two bounds on taking them (why
they cannot deadlock is written in executor.py's docstring).

- Open units (taken, not yet written to their end): a worker takes a unit only while
  fewer than `open_bound` are open, so that a stalled output stops the reading.
- Spawned units (a listed visitor's history days) that are queued or running: a unit that
  spawns them waits while too many are outstanding, and runs queued ones meanwhile
  (`spawn_room_or_unit` hands them over; the queue never runs anything itself).
"""

import threading
from collections import deque
from typing import Optional


class WorkQueue:
    """Units waiting for a worker, in order; how many spawned units are outstanding; and
    how many units are open (taken, not yet written to their end), at most `open_bound`."""

    def __init__(self, units, open_bound: int):
        self._units = deque(units)
        self._throttled: set = set()
        self._open = 0
        self._open_bound = open_bound
        self._closed = False
        self._changed = threading.Condition()

    def put(self, units, throttled: bool) -> None:
        with self._changed:
            self._units.extend(units)
            if throttled:
                self._throttled.update(units)
            self._changed.notify_all()

    def take(self):
        """The next unit, once one is queued and there is room; None once the queue is closed."""
        with self._changed:
            while not self._closed and (not self._units or self._open >= self._open_bound):
                self._changed.wait()
            if self._closed:
                return None
            self._open += 1
            return self._units.popleft()

    def spawn_room_or_unit(self, bound: int):
        """None once at most `bound` spawned units are outstanding (or the queue is closed);
        until then, a queued spawned unit for the caller to run meanwhile, as soon as one
        can be taken."""
        with self._changed:
            while len(self._throttled) > bound and not self._closed:
                unit = self._take_throttled()
                if unit is not None:
                    return unit
                self._changed.wait()
            return None

    def _take_throttled(self) -> Optional[object]:
        if self._open >= self._open_bound:
            return None
        for unit in self._units:
            if unit in self._throttled:
                self._units.remove(unit)
                self._open += 1
                return unit
        return None

    def written(self) -> None:
        """A unit taken before is written to its end."""
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def finished(self, unit) -> None:
        """A unit taken before is read (its rows may still wait to be written)."""
        with self._changed:
            if unit in self._throttled:
                self._throttled.discard(unit)
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
