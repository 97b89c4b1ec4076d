"""The executor: runs the units of every selected stream, at most `max_concurrent_requests`
at once, and writes what they read.

- Workers (one thread per request in flight) take units in plan order, read them,
  turn their rows into RECORD lines (the compiled transform, one `time_extracted`
  per page) and hand the lines over in batches through one bounded queue. Rows of
  different units interleave on stdout; no unit's rows are held beyond one batch,
  and a worker waits while the queue is full.
- This thread writes the lines in the order they arrive, keeps each stream's books
  (books.py) and writes a STATE once the books moved: a STATE follows the records it
  covers and claims only the finished prefix of each stream's units.
- A unit that spawns many units (a listed visitor's history days) waits while too
  many are queued, running queued ones itself meanwhile, so memory stays flat even
  with one worker.
"""

import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .documents import DocumentUnit, read_document
from .entities import ListingUnit, read_listing
from .history import HistoryDay, read_history_day
from .items import ReadContext, Spawn, StreamRow
from .output import SingerWriter, record_prefix
from .pager import PageEnd
from .progress import Progress
from .timefmt import ms_to_rfc3339, now_ms
from .transform import Unconvertible
from .windows import Window, read_window

READERS = {
    ListingUnit: read_listing,
    Window: read_window,
    DocumentUnit: read_document,
    HistoryDay: read_history_day,
}
BATCH_ROWS = 500  # rows per hand-over: a few hundred KB at most
QUEUED_BATCHES_PER_WORKER = 4
THROTTLE_UNITS_PER_WORKER = 16  # spawned units queued per worker before spawning waits


@dataclass(frozen=True)
class Records:
    """RECORD lines of one stream, ready to write."""

    stream: str
    lines: bytes
    count: int


@dataclass(frozen=True)
class PageDone:
    unit: Any
    page: PageEnd


@dataclass(frozen=True)
class UnitDone:
    unit: Any
    result: Any


@dataclass(frozen=True)
class UnitFailed:
    unit: Any
    error: BaseException


class WorkQueue:
    """Units waiting for a worker, in order; and how many spawned units are outstanding."""

    def __init__(self, units):
        self._units = deque(units)
        self._throttled: set = set()
        self._closed = False
        self._changed = threading.Condition()

    def put(self, units, throttled: bool) -> None:
        with self._changed:
            self._units.extend(units)
            if throttled:
                self._throttled.update(units)
            self._changed.notify_all()

    def take(self):
        """The next unit; None once the queue is closed."""
        with self._changed:
            while not self._units and not self._closed:
                self._changed.wait()
            return None if self._closed else self._units.popleft()

    def take_throttled(self):
        """A queued spawned unit, if any, to run while waiting for room; else None."""
        with self._changed:
            for unit in self._units:
                if unit in self._throttled:
                    self._units.remove(unit)
                    return unit
            return None

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


class Executor:
    """Runs a plan's units; writes RECORD and STATE messages through `writer`."""

    def __init__(self, ctx: ReadContext, plan, books: dict, transforms: dict, writer, progress):
        self._ctx = ctx
        self._plan = plan
        self._books = books  # stream -> book, in run order
        self._transforms = transforms  # stream -> RecordPlan
        self._writer: SingerWriter = writer
        self._progress: Progress = progress
        workers = ctx.config.max_concurrent_requests
        self._work = WorkQueue(plan.units)
        self._out: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES_PER_WORKER * workers)
        self._throttle = THROTTLE_UNITS_PER_WORKER * workers
        self._workers = [
            threading.Thread(target=self._worker, name=f"worker-{i}", daemon=True)
            for i in range(workers)
        ]

    # -- this thread: write, keep the books, checkpoint -----------------------

    def run(self, state: dict) -> dict:
        """Run every unit; `state` is updated and written as the books move."""
        bookmarks = state.setdefault("bookmarks", {})
        for worker in self._workers:
            worker.start()
        try:
            while not all(book.finished for book in self._books.values()):
                moved = self._handle(self._out.get())
                while True:  # whatever else is ready goes under the same STATE
                    try:
                        moved |= self._handle(self._out.get_nowait())
                    except queue.Empty:
                        break
                if moved:
                    self._checkpoint(state, bookmarks)
        finally:
            self._work.close()
        state["currently_syncing"] = None
        self._writer.state(state)
        return state

    def _handle(self, item) -> bool:
        """Act on one item from the workers; True if some stream's bookmark may have moved."""
        kind = type(item)
        if kind is Records:
            self._writer.write(item.lines)
            self._progress.rows_written(item.stream, item.count)
            return False
        if kind is PageDone:
            for stream in item.unit.streams:
                self._books[stream].on_page(item.unit, item.page)
        elif kind is Spawn:
            self._books[item.stream].on_spawn(item)
        elif kind is UnitDone:
            for stream in item.unit.streams:
                book = self._books[stream]
                book.on_done(item.unit, item.result)
                self._progress.unit_done(stream, item.unit, book)
        else:
            raise item.error
        return True

    def _checkpoint(self, state: dict, bookmarks: dict) -> None:
        for stream, book in self._books.items():
            if book.entry is not None:
                bookmarks[stream] = book.entry
        # Singer's one stream "currently syncing": the first one not finished.
        state["currently_syncing"] = next(
            (stream for stream, book in self._books.items() if not book.finished), None
        )
        self._writer.state(state)

    # -- worker threads: read, transform, hand over ---------------------------

    def _worker(self) -> None:
        while True:
            unit = self._work.take()
            if unit is None:
                return
            if not self._run(unit):
                self._work.close()
                return

    def _run(self, unit) -> bool:
        """Read one unit; False if it failed (the failure is handed over)."""
        try:
            result = self._read(unit)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread, raised there
            self._out.put(UnitFailed(unit, error))
            return False
        finally:
            self._work.finished(unit)
        self._out.put(UnitDone(unit, result))
        return True

    def _read(self, unit):
        """The hot loop: rows of the unit's stream become RECORD lines, in batches."""
        stream = unit.stream
        transform = self._transforms[stream]
        convert, dumps = transform.convert, orjson.dumps
        prefix = record_prefix(stream, ms_to_rfc3339(now_ms()))
        lines: list = []
        append = lines.append
        others = _OtherRows(self._transforms, self._out)
        outcome: list = []
        item = None
        try:
            for item in _returning(READERS[type(unit)](self._ctx, unit), outcome):
                if type(item) is dict:
                    append(prefix + dumps(convert(item)) + b"}\n")
                    if len(lines) >= BATCH_ROWS:
                        self._out.put(Records(stream, b"".join(lines), len(lines)))
                        lines.clear()
                    continue
                if lines:
                    self._out.put(Records(stream, b"".join(lines), len(lines)))
                    lines.clear()
                if type(item) is StreamRow:
                    others.add(item)
                    continue
                others.flush()
                if type(item) is PageEnd:
                    self._out.put(PageDone(unit, item))
                    prefix = record_prefix(stream, ms_to_rfc3339(now_ms()))
                    others.new_page()
                elif type(item) is Spawn:
                    self._spawn(item)
                else:
                    raise TypeError(f"a reader yielded {item!r}")
        except Unconvertible:
            transform.explain(item)
        if lines:
            self._out.put(Records(stream, b"".join(lines), len(lines)))
        others.flush()
        return outcome[0] if outcome else None

    def _spawn(self, spawn: Spawn) -> None:
        if spawn.throttled:
            self._work.wait_for_room(self._throttle, self._run)
        # The books learn of the units before any of them can finish.
        self._out.put(spawn)
        self._work.put(spawn.units, spawn.throttled)


class _OtherRows:
    """Rows a shared listing reads for several streams, batched per stream."""

    def __init__(self, transforms: dict, out: queue.Queue):
        self._transforms = transforms
        self._out = out
        self._lines: dict = {}
        self._prefixes: dict = {}
        self._extracted = ms_to_rfc3339(now_ms())

    def add(self, item: StreamRow) -> None:
        transform = self._transforms[item.stream]
        try:
            record = transform.convert(item.row)
        except Unconvertible:
            transform.explain(item.row)
        prefix = self._prefixes.get(item.stream)
        if prefix is None:
            prefix = self._prefixes[item.stream] = record_prefix(item.stream, self._extracted)
        lines = self._lines.setdefault(item.stream, [])
        lines.append(prefix + orjson.dumps(record) + b"}\n")
        if len(lines) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        for stream, lines in self._lines.items():
            if lines:
                self._out.put(Records(stream, b"".join(lines), len(lines)))
        self._lines = {}

    def new_page(self) -> None:
        self._extracted = ms_to_rfc3339(now_ms())
        self._prefixes = {}


def _returning(generator, outcome: list):
    """`generator`'s items; its return value is appended to `outcome`."""
    outcome.append((yield from generator))
