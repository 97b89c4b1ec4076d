"""The units waiting for the executor's workers, and the two bounds on taking them.

- Spawned units (a listed visitor's history days) that are queued or running: a unit
  that spawns them waits while too many are outstanding, running queued ones itself
  meanwhile (`wait_for_room`).
- Open units (taken, not yet written to their end): a worker takes a unit only while
  fewer than `open_bound` are open, so a stalled output stops the reading after a few
  units. Units are taken in each stream's order, so the first open unit of a stream is
  at the front of its lane and is always written: the bound cannot deadlock.
"""

import threading
from collections import deque
from collections.abc import Callable


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

    def take_throttled(self):
        """A queued spawned unit, if any and if there is room, to run while waiting for room
        to spawn; else None."""
        with self._changed:
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
        with self._changed:
            if unit in self._throttled:
                self._throttled.discard(unit)
                self._changed.notify_all()

    def wait_for_room(self, bound: int, run: Callable) -> None:
        """Return once at most `bound` spawned units are outstanding, running some meanwhile."""
        while True:
            with self._changed:
                if len(self._throttled) <= bound or self._closed:
                    return
            unit = self.take_throttled()
            if unit is not None:
                run(unit)
                continue
            with self._changed:
                if len(self._throttled) > bound and not self._closed:
                    self._changed.wait(0.5)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
