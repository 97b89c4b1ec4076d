"""The executor: runs the units of every selected stream, at most `max_concurrent_requests`
at once, and writes what they read.

- Workers (one thread per request in flight) take units in plan order, read them through
  their reader kind (`unit.kind.read`), turn their rows into RECORD lines (the compiled
  transform, one `time_extracted` per page) and hand the lines over in batches, each with
  the position of its last row.
- This thread writes each stream's batches in the stream's order of units (resequencer.py):
  rows of different streams interleave on stdout, rows of one stream come unit after unit.
  It keeps each stream's checkpoint (checkpoints.py) and writes a STATE once they moved: a
  STATE claims exactly the rows written before it, so a run killed at any moment and
  resumed from its last STATE repeats none of them and misses nothing.

Why the run cannot deadlock, and why memory stays flat
------------------------------------------------------
A worker blocks in three places only; this thread never blocks on a worker except by
waiting for the next item, and a worker's hand-over never blocks (the queue is unbounded,
but every batch in it holds one of its unit's SLOTS_PER_UNIT slots):

1. Taking a unit: the work queue gives one only while fewer than OPEN_UNITS_PER_WORKER
   per worker are open (taken, not yet written to their end). Units are taken in each
   stream's order, so the first open unit of every stream is at the front of its
   resequencer: its batches are written as they come, it reaches its end and frees its
   place. While any unit is open, one of them progresses; when none is, taking succeeds.
   A stalled output (a target flushing a large batch) therefore stops the reading after
   a few units instead of reading the rest of the run into memory, even with one worker.
2. A unit's slots: a unit read ahead of its turn holds at most SLOTS_PER_UNIT batches;
   then its worker waits until the unit comes to the front, which by 1 it does.
3. Room to spawn: a unit that spawns many units (a listing that finds visitors, each a
   group of history days) waits while more than THROTTLE_UNITS_PER_WORKER per worker are
   outstanding, and meanwhile runs queued ones itself (`spawn_room_or_unit`), so that it
   progresses even when every worker is such a unit. When the open bound keeps it from
   taking one, open units exist, and by 1 they are written and make room. This holds
   because throttled units are never of a stream whose rows their spawner writes (the
   visitors listing spawns visitor_history's days): they do not wait for it to end.

A unit that fails (or is stopped) stops the run: its error reaches this thread, which
claims what was written before it, raises it, and makes every worker stop at its next
hand-over. Ctrl-C (KeyboardInterrupt) stops it the same way, without another STATE.
"""

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

import orjson

from ..pendo.paging import PageEnd
from ..readers.items import Spawn, StreamRow, UnitEnd
from ..timefmt import ms_to_rfc3339, now_ms
from ..transform import Unconvertible
from .checkpoints import Checkpoints
from .progress import Progress
from .resequencer import Resequencer
from .work_queue import WorkQueue

BATCH_ROWS = 500  # rows per hand-over: a few hundred KB at most
SLOTS_PER_UNIT = 8  # batches a unit may have waiting for its turn
THROTTLE_UNITS_PER_WORKER = 16  # spawned units queued per worker before spawning waits
OPEN_UNITS_PER_WORKER = 4  # units taken and not yet written, per worker
STATE_SECONDS = 1.0  # at most one STATE a second while streams are under way
DRAIN_ITEMS = 256  # items handled under one STATE at most, when more are ready
STOP_POLL_SECONDS = 0.1  # how soon a worker waiting for a slot sees that the run stopped


@dataclass(frozen=True)
class Records:
    """RECORD lines of one stream from one unit, ready to write; `position`: where the
    last of their rows lies in the unit's order (None: the unit's rows come whole)."""

    stream: str
    unit: Any
    lines: bytes
    count: int
    position: Optional[list]
    slots: threading.Semaphore


@dataclass(frozen=True)
class UnitDone:
    unit: Any
    result: Any


@dataclass(frozen=True)
class UnitFailed:
    unit: Any
    error: BaseException


class Stopped(Exception):
    """Raised in a worker whose run has stopped (another unit failed, or Ctrl-C)."""


class Executor:
    """Runs a plan's units; writes RECORD and STATE messages through `output`, which has
    `record_prefix(stream, time_extracted)`, `write(lines)` and `state(value)`."""

    def __init__(self, ctx, plan, checkpoints: Checkpoints, transforms: dict, output, progress):
        self._ctx = ctx
        self._checkpoints = checkpoints
        self._order = {stream: Resequencer(plan.units_of(stream)) for stream in checkpoints.streams}
        self._transforms = transforms  # stream -> RecordPlan
        self._output = output
        self._progress: Progress = progress
        workers = ctx.config.max_concurrent_requests
        self._work = WorkQueue(plan.units, OPEN_UNITS_PER_WORKER * workers)
        self._unwritten_streams: dict = {}  # unit -> how many of its streams await its end
        # Unbounded: every batch in it holds one of its unit's slots.
        self._out: queue.Queue = queue.Queue()
        self._throttle = THROTTLE_UNITS_PER_WORKER * workers
        self._stopping = threading.Event()
        self._failure: Optional[BaseException] = None
        self._unit_ended = False  # a unit that asks for a STATE of its own ended
        self._last_state: Optional[bytes] = None  # the last STATE written, as JSON
        self._workers = [
            threading.Thread(target=self._worker, name=f"worker-{i}", daemon=True)
            for i in range(workers)
        ]

    # -- this thread: write in each stream's order, keep the checkpoints ---------------

    def run(self, state: dict) -> dict:
        """Run every unit; `state` is updated and written as the checkpoints move."""
        for worker in self._workers:
            worker.start()
        last_state = time.monotonic()
        moved = False
        try:
            while not self._checkpoints.all_finished:
                moved |= self._handle(self._out.get())
                # What else is ready goes under the same STATE, up to a bound: a fast source
                # (local files) keeps the queue full, and STATEs must still come.
                for _ in range(DRAIN_ITEMS):
                    if self._failure is not None:
                        break
                    try:
                        moved |= self._handle(self._out.get_nowait())
                    except queue.Empty:
                        break
                if self._failure is not None:
                    # What was written before the failure is claimed, then the run ends.
                    if moved:
                        self._write_state(state)
                    raise self._failure
                # A STATE once a unit that asks for one ends, else at most every STATE_SECONDS.
                if moved and (self._unit_ended or time.monotonic() - last_state >= STATE_SECONDS):
                    self._write_state(state)
                    last_state, moved, self._unit_ended = time.monotonic(), False, False
        finally:
            self._stopping.set()
            self._work.close()
        for worker in self._workers:
            worker.join()
        # Every stream finished: currently_syncing is None.
        self._write_state(state)
        return state

    def _write_state(self, state: dict) -> None:
        """A STATE of what the checkpoints claim now, unless it says what the last one did."""
        self._checkpoints.update(state)
        said = orjson.dumps(state)
        if said != self._last_state:
            self._output.state(state)
            self._last_state = said

    def _handle(self, item) -> bool:
        """Act on one item from the workers; True if some stream's checkpoint may have moved."""
        kind = type(item)
        if kind is Records:
            for ready in self._order[item.stream].accept(item.unit, item, ends=False):
                self._act(item.stream, ready)
            return True
        if kind is Spawn:
            self._order[item.stream].add(item.units)
            self._checkpoints[item.stream].spawned(item)
            return True
        if kind is UnitFailed:
            self._failure = item.error
            return False
        self._unit_ended |= item.unit.state_at_end
        if not item.unit.streams:  # a listing read only for the streams it checkpointed_streams
            self._work.written()
        for stream in item.unit.checkpointed_streams:
            if stream in item.unit.streams:
                for ready in self._order[stream].accept(item.unit, item, ends=True):
                    self._act(stream, ready)
            else:  # a stream that follows the unit without taking rows from it
                self._act(stream, item)
        return True

    def _act(self, stream: str, item) -> None:
        """Write a batch, or close a unit, of `stream`, now that it is its turn."""
        checkpoint = self._checkpoints[stream]
        if type(item) is Records:
            self._output.write(item.lines)
            item.slots.release()
            self._progress.rows_written(stream, item.count)
            checkpoint.written(item.unit, item.position)
        else:
            checkpoint.done(item.unit, item.result)
            self._progress.unit_done(stream, item.unit, checkpoint)
            if stream in item.unit.streams:
                self._stream_written(item.unit)

    def _stream_written(self, unit) -> None:
        """One of the unit's streams wrote it to its end; after the last, it is written."""
        left = self._unwritten_streams.pop(unit, len(unit.streams)) - 1
        if left:
            self._unwritten_streams[unit] = left
        else:
            self._work.written()

    # -- worker threads: read, transform, hand over ------------------------------------

    def _worker(self) -> None:
        while True:
            unit = self._work.take()
            if unit is None:
                return
            if not self._run(unit):
                return

    def _run(self, unit) -> bool:
        """Read one unit; False if it failed or the run stopped (a failure is handed over)."""
        try:
            result = self._read(unit)
        except Stopped:
            return False
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
        # A unit without positions (a history day, a document) hands its rows over whole.
        batch_rows = BATCH_ROWS if unit.position_of is not None else float("inf")
        batches = _Batcher(self._out, unit, self._output.record_prefix, self._stopping)
        records: list = []  # JSON of each record; framed as RECORD lines per batch
        append = records.append
        result = item = None
        try:
            for item in unit.kind.read(self._ctx, unit):
                if type(item) is dict:
                    append(dumps(convert(item)))
                    if len(records) >= batch_rows:
                        batches.over(stream, records, item)
                        records.clear()
                    continue
                if records:
                    batches.over(stream, records, None)  # the position comes with the PageEnd
                    records.clear()
                if type(item) is StreamRow:
                    batches.other(item, self._transforms)
                elif type(item) is PageEnd:
                    batches.page_end(item.position)
                elif type(item) is Spawn:
                    self._spawn(item)
                elif type(item) is UnitEnd:
                    result = item.result
                else:
                    raise TypeError(f"a reader yielded {item!r}")
        except Unconvertible:
            transform.explain(item)
        if records:
            batches.over(stream, records, None)
        batches.flush()
        return result

    def _spawn(self, spawn: Spawn) -> None:
        if spawn.throttled:
            while (queued := self._work.spawn_room_or_unit(self._throttle)) is not None:
                if not self._run(queued):
                    raise Stopped  # its failure, if any, is handed over already
        if self._stopping.is_set():
            raise Stopped
        # The checkpoints and the order learn of the units before any of them can hand rows over.
        self._out.put(spawn)
        self._work.put(spawn.units, spawn.throttled)


class _Batcher:
    """One unit's batches for the executor's thread: RECORD lines per stream,
    each claiming a slot of the unit (a worker waits while its unit has no free slot),
    framed with the RECORD prefix of the page being read (its time_extracted)."""

    def __init__(self, out: queue.Queue, unit, record_prefix, stopping: threading.Event):
        self._out = out
        self._unit = unit
        self._record_prefix = record_prefix
        self._stopping = stopping
        self._slots = threading.Semaphore(SLOTS_PER_UNIT)
        # A batch (stream, lines, count) handed over at the page end, which tells its position
        self._waiting: Optional[tuple] = None
        self._others: dict = {}  # stream -> [records (JSON), position of the last row]
        self._prefixes: dict = {}
        self._extracted = ms_to_rfc3339(now_ms())

    def _batch(self, stream: str, records: list) -> tuple:
        """(stream, RECORD lines, count) of these records (JSON) of `stream`, read now (this
        page).

        Framed per batch, not per row, in one join: a copy of each record less, and one
        large allocation per batch (`records` is the caller's to clear)."""
        prefix = self._prefixes.get(stream)
        if prefix is None:
            prefix = self._prefixes[stream] = self._record_prefix(stream, self._extracted)
        count = len(records)
        records[0] = prefix + records[0]
        records[-1] += b"}\n"
        return stream, (b"}\n" + prefix).join(records), count

    def over(self, stream: str, records: list, last_row: Optional[dict]) -> None:
        """Hand records over; their position is the last row's, or the page end's to come."""
        batch = self._batch(stream, records)
        if last_row is None and self._unit.position_of is not None:
            self._waiting = batch
            return
        self._put(*batch, self._unit.position_of(last_row) if last_row is not None else None)

    def page_end(self, position: list) -> None:
        """The rows before this point end at `position`."""
        if self._waiting is not None:
            self._put(*self._waiting, position)
            self._waiting = None
        self.flush()
        self._extracted = ms_to_rfc3339(now_ms())
        self._prefixes = {}

    def other(self, item: StreamRow, transforms: dict) -> None:
        """A row of another stream of a shared listing."""
        transform = transforms[item.stream]
        try:
            record = transform.convert(item.row)
        except Unconvertible:
            transform.explain(item.row)
        pending = self._others.setdefault(item.stream, [[], None])
        pending[0].append(orjson.dumps(record))
        pending[1] = item.position
        if len(pending[0]) >= BATCH_ROWS:
            self._put(*self._batch(item.stream, pending[0]), pending[1])
            del self._others[item.stream]

    def flush(self) -> None:
        if self._waiting is not None:
            self._put(*self._waiting, None)
            self._waiting = None
        for stream, (records, position) in self._others.items():
            self._put(*self._batch(stream, records), position)
        self._others = {}

    def _put(self, stream: str, lines: bytes, count: int, position) -> None:
        while not self._slots.acquire(timeout=STOP_POLL_SECONDS):
            if self._stopping.is_set():
                raise Stopped
        if self._stopping.is_set():
            raise Stopped
        self._out.put(Records(stream, self._unit, lines, count, position, self._slots))
