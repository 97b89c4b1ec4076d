"""Progress on stderr: the plan, a line per window or every few seconds, a summary."""

import time

import singer

LOGGER = singer.get_logger()
INTERVAL_SECONDS = 5.0


class Progress:
    """Counts rows per stream and says how the run is going, at most every few seconds."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._started = clock()
        self._stream_started: dict = {}
        self._last_line = clock()
        self.rows: dict = {}
        self.windows: dict = {}

    def planned(self, streams) -> None:
        """The streams this run will sync."""
        LOGGER.info("plan: %d streams: %s", len(streams), ", ".join(streams))

    def stream_started(self, stream: str) -> None:
        """A stream begins."""
        self._stream_started[stream] = self._clock()
        self.rows.setdefault(stream, 0)

    def rows_written(self, stream: str, rows: int) -> None:
        """`rows` records of `stream` are out; logs a line if the last one is old."""
        self.rows[stream] = rows
        now = self._clock()
        if now - self._last_line >= INTERVAL_SECONDS:
            self._last_line = now
            elapsed = max(now - self._stream_started.get(stream, self._started), 1e-9)
            done, total = self.windows.get(stream, (None, None))
            windows = f", windows {done}/{total}" if total else ""
            LOGGER.info(
                "progress: %s: %d rows%s, %.0f rows/s", stream, rows, windows, rows / elapsed
            )

    def windows_planned(self, stream: str, total: int, first: str, end: str) -> None:
        """The windows an event stream will read."""
        self.windows[stream] = (0, total)
        LOGGER.info("%s: %d windows planned, from %s to %s", stream, total, first, end)

    def window_done(self, stream: str, index: int, total: int, rows: int, start: str) -> None:
        """One window of an event stream is read."""
        self.windows[stream] = (index + 1, total)
        LOGGER.info(
            "%s: window %d/%d (%s) done, %d rows so far", stream, index + 1, total, start, rows
        )

    def summary(self, requests_by_stream: dict, retries: int) -> None:
        """The end of the run: rows and requests per stream, and the duration."""
        for stream, rows in self.rows.items():
            LOGGER.info(
                "summary: %s: %d rows, %d requests", stream, rows, requests_by_stream.get(stream, 0)
            )
        LOGGER.info(
            "summary: %d rows, %d requests (%d retried) in %.1fs",
            sum(self.rows.values()),
            sum(requests_by_stream.values()),
            retries,
            self._clock() - self._started,
        )
