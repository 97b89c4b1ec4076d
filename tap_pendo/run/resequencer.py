"""A resequencer per stream: the stream's output in the stream's order of units.

Units of a stream (event windows, history days) are read concurrently, but their
rows are written one unit after the other, so that a STATE can claim exactly what
is written: every row of the finished units, and the rows of the unit at the front
up to its last written row. What a unit reads ahead of its turn waits here, a few
batches at most: its worker then waits for its turn (executor.SLOTS_PER_UNIT).
"""

from collections import deque


class Resequencer:
    """The units of one stream in order, and what came early from those not yet at the front."""

    def __init__(self, units=()):
        self._order: deque = deque(units)
        self._early: dict = {}  # unit -> items that came before its turn

    def add(self, units) -> None:
        """Units spawned while the run goes, after those known."""
        self._order.extend(units)

    @property
    def front(self):
        return self._order[0] if self._order else None

    def accept(self, unit, item, ends: bool) -> list:
        """The items to act on now, in order: `item` if `unit` is at the front (and then
        whatever the next units had sent early), else none. `ends`: `item` is the unit's
        last one (its end), after which the next unit comes to the front."""
        if unit is not self.front:
            self._early.setdefault(unit, []).append((item, ends))
            return []
        ready = [item]
        while ends:
            self._order.popleft()
            following = self.front
            if following is None:
                break
            ends = False
            for early, early_ends in self._early.pop(following, ()):
                ready.append(early)
                ends = early_ends
        return ready
