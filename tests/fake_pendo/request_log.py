"""The fake server's request log: counts of `/api/` requests, answers, faults and
bytes sent, and the spans of time the aggregations' timeSeries cover."""

from __future__ import annotations

import threading
from collections import Counter

from .faults import FAULT_KINDS
from .periods import HOUR_MS
from .query import SOURCE_PARAMS

ENDPOINT_KINDS = ("aggregation", "metadata", "history", "entity_list", "segment", "report", "other")
# A request of the tap spans at most this much time of periods (the contract's limit).
SPAN_LIMIT_MS = 25 * HOUR_MS


class RequestLog:
    """Thread-safe counts of `/api/` requests, answers, faults and bytes sent.

    For each aggregation request whose source has a valid timeSeries, the span
    of time its periods cover is kept too (see `snapshot`, and `spans`).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = Counter()
            self._sources = Counter()
            self._statuses = Counter()
            self._faults = Counter()
            self._bytes = 0
            self._spans: list = []

    def request(self, kind: str, source: str | None = None, span_ms: int | None = None) -> None:
        """One request; `span_ms` is the span of its timeSeries' periods, None without one."""
        with self._lock:
            self._requests[kind] += 1
            if source:
                self._sources[source] += 1
            if span_ms is not None:
                self._spans.append(span_ms)

    def spans(self) -> list:
        """The span (ms) of every timeSeries request, in the order they came."""
        with self._lock:
            return list(self._spans)

    def answered(self, status: int) -> None:
        with self._lock:
            self._statuses[f"{status // 100}xx"] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def sent(self, nbytes: int) -> None:
        with self._lock:
            self._bytes += nbytes

    def snapshot(self) -> dict:
        """The counts; every endpoint kind, source, status class and fault kind is present.

        `responses` counts answers by status class (injected 429 and 5xx
        included); a reset connection has no answer and counts only as a fault.
        `faults` counts the faults injected (a drawn cut only where a body was
        cut, not where the request got a 400). `bytes_sent` counts response bodies.
        `time_series` describes the aggregation requests whose source has a valid
        timeSeries, whatever their answer: how many, the longest span of periods
        one covered (from the start of its first period to the end of its last,
        0 for a request that names no period), and how many spanned more than
        25 hours.
        """
        with self._lock:
            spans = self._spans
            return {
                "requests": {kind: self._requests[kind] for kind in ENDPOINT_KINDS},
                "total": sum(self._requests.values()),
                "sources": {name: self._sources[name] for name in SOURCE_PARAMS},
                "responses": {c: self._statuses[c] for c in ("2xx", "4xx", "5xx")},
                "faults": {kind: self._faults[kind] for kind in FAULT_KINDS},
                "bytes_sent": self._bytes,
                "time_series": {
                    "requests": len(spans),
                    "longest_span_ms": max(spans, default=0),
                    "over_25_hours": sum(span > SPAN_LIMIT_MS for span in spans),
                },
            }
