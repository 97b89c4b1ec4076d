"""Code the fake runs on each `/api/` request (`FakePendo.hooked`), in the request's thread.

- `InFlight` counts the requests the fake has in hand, and the most at once.
- `Overlap` holds requests until n are in flight at once: a barrier, so that a test
  sees requests overlap without asserting on elapsed time.
- `FaultFrom` gives every request of one stream a fault, from that stream's Nth on.

A stream is named as the fake sees it: its aggregation source (`featureEvents`) or
the endpoint it calls (`history` is visitor_history's, `metadata` the schemas').
"""

from __future__ import annotations

import threading
from collections import Counter

from tests.fake_pendo import Arrival
from tests.fake_pendo.faults import Fault

SERVICE_UNAVAILABLE = Fault("5xx", 503)


def stream_label(request: Arrival) -> str:
    """The aggregation source of a request, or its endpoint kind."""
    return request.source or request.kind


class InFlight:
    """The requests the fake has in hand (arrived, not yet answered): how many now, the
    most at once, and how many of each stream have arrived."""

    def __init__(self):
        self._changed = threading.Condition()
        self.now = 0
        self.most = 0
        self.arrivals: Counter = Counter()

    def arrived(self, request: Arrival) -> None:
        with self._changed:
            self.now += 1
            self.most = max(self.most, self.now)
            self.arrivals[stream_label(request)] += 1
            self._changed.notify_all()

    def answered(self, request: Arrival) -> None:
        with self._changed:
            self.now -= 1
            self._changed.notify_all()

    def total(self) -> int:
        with self._changed:
            return sum(self.arrivals.values())

    def wait_for_change(self, timeout: float) -> None:
        """Return when a request arrives or is answered, or after `timeout` seconds."""
        with self._changed:
            self._changed.wait(timeout)


class Overlap:
    """Each request waits until `n` requests are in flight at once; from then on none
    waits. If they never are, each waits `patience` seconds at most, then the barrier
    gives up and `reached` stays False: the test fails on it, it does not pass slowly."""

    def __init__(self, n: int, patience: float = 20.0):
        self.n = n
        self.patience = patience
        self.reached = False
        self.gave_up = False
        self._now = 0
        self._met = threading.Condition()

    def arrived(self, request: Arrival) -> None:
        with self._met:
            self._now += 1
            if self._now >= self.n:
                self.reached = True
                self._met.notify_all()
            elif not (self.reached or self.gave_up):
                if not self._met.wait_for(lambda: self.reached, timeout=self.patience):
                    self.gave_up = True

    def answered(self, request: Arrival) -> None:
        with self._met:
            self._now -= 1


class FaultFrom:
    """From the `first`-th request of stream `label` on (1: from its first), every request
    of that stream gets `fault` (a 503 unless told); the others are answered as usual."""

    def __init__(self, label: str, first: int, fault: Fault = SERVICE_UNAVAILABLE):
        self.label = label
        self.first = first
        self.fault = fault
        self.seen = 0
        self.hits = 0
        self._lock = threading.Lock()

    def arrived(self, request: Arrival) -> Fault | None:
        if stream_label(request) != self.label:
            return None
        with self._lock:
            self.seen += 1
            if self.seen < self.first:
                return None
            self.hits += 1
        return self.fault

    def answered(self, request: Arrival) -> None:
        pass
