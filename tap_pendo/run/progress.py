"""What the run tells on stderr: for people, the plan, a line per event window, a progress
line every few seconds and a summary; for Singer-aware tools, METRIC lines in
singer-python's format (a `http_request_duration` timer per request, the metric of
singer.metrics.http_request_timer, and `record_count` counters per stream, counted
per batch of rows, never per row)."""

import threading
import time

import singer
from singer import metrics

LOGGER = singer.get_logger()
INTERVAL_SECONDS = 5.0


class Progress:
    """Counts rows per stream and says how the run is going, at most every few seconds."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._started = clock()
        self._last_line = clock()
        self._lock = threading.Lock()
        self._counters: dict = {}
        self.rows: dict = {}
        self.requests = 0

    def planned(self, lines: list) -> None:
        """The plan, before any request."""
        for line in lines:
            LOGGER.info("%s", line.strip())

    def request(self, stream: str, status: int, seconds: float) -> None:
        """One HTTP try (from any worker): a METRIC line. Status 0: no answer came."""
        with self._lock:
            self.requests += 1
        tags = {
            metrics.Tag.endpoint: stream,
            metrics.Tag.http_status_code: status,
            metrics.Tag.status: metrics.Status.succeeded
            if status == 200
            else metrics.Status.failed,
        }
        metrics.log(
            LOGGER, metrics.Point("timer", metrics.Metric.http_request_duration, seconds, tags)
        )

    def rows_written(self, stream: str, count: int) -> None:
        """`count` more records of `stream` are out; logs a line if the last one is old."""
        self.rows[stream] = self.rows.get(stream, 0) + count
        counter = self._counters.get(stream)
        if counter is None:
            counter = self._counters[stream] = metrics.record_counter(stream).__enter__()
        counter.increment(count)
        now = self._clock()
        if now - self._last_line >= INTERVAL_SECONDS:
            self._last_line = now
            elapsed = max(now - self._started, 1e-9)
            total = sum(self.rows.values())
            LOGGER.info(
                "progress: %d rows (%s), %d requests, %.0f rows/s",
                total,
                ", ".join(f"{name} {rows}" for name, rows in self.rows.items()),
                self.requests,
                total / elapsed,
            )

    def unit_done(self, stream: str, unit, checkpoint) -> None:
        """A unit of `stream` is done: a line if its kind has one for it (event windows)."""
        line = checkpoint.done_line(unit, self.rows.get(stream, 0))
        if line:
            LOGGER.info("%s", line)
        if checkpoint.finished:
            LOGGER.info("%s: done, %d rows", stream, self.rows.get(stream, 0))

    def summary(self, requests_by_stream: dict, retries: int) -> None:
        """The end of the run: the last record counts, rows and requests per stream."""
        for counter in self._counters.values():
            counter.__exit__(None, None, None)
        self._counters = {}
        for stream in sorted(set(self.rows) | set(requests_by_stream)):
            LOGGER.info(
                "summary: %s: %d rows, %d requests",
                stream,
                self.rows.get(stream, 0),
                requests_by_stream.get(stream, 0),
            )
        LOGGER.info(
            "summary: %d rows, %d requests (%d retried) in %.1fs",
            sum(self.rows.values()),
            sum(requests_by_stream.values()),
            retries,
            self._clock() - self._started,
        )
