"""The executor and its work queue, with fake reader kinds and no HTTP: how many units run
at once, the order of what is written and claimed, failures and Ctrl-C, a stalled output,
and units that spawn many more."""

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Optional

import pytest

from tap_pendo.pendo.paging import PageEnd
from tap_pendo.readers.base import PlanEntry, ReadContext
from tap_pendo.readers.items import Spawn, UnitEnd
from tap_pendo.run.checkpoints import Checkpoints
from tap_pendo.run.executor import OPEN_UNITS_PER_WORKER, Executor
from tap_pendo.run.progress import Progress

LIVENESS_SECONDS = 30  # a generous bound for threads that must end: never a measure of speed


@dataclass(eq=False)
class FakeUnit:
    """`rows` rows of `stream`, in pages of `page` rows; `script(unit)` runs before them."""

    kind: "FakeKind"
    stream: str
    index: int
    rows: int = 3
    page: int = 2
    script: Optional[object] = None
    spawn: tuple = ()  # groups of units spawned, throttled, after the rows

    state_at_end = True

    @property
    def streams(self) -> tuple:
        return (self.stream,)

    @property
    def checkpointed_streams(self) -> tuple:
        return (self.stream,)

    def position_of(self, row: dict) -> list:
        return [row["unit"], row["n"]]

    def describe(self) -> str:
        return f"unit {self.index}"

    def as_json(self) -> dict:
        return {"index": self.index}


@dataclass
class FakeScope:
    kind: "FakeKind"
    stream: SimpleNamespace
    unit_group: str
    bookmark_ms: None = None
    resume_position: None = None


class FakeCheckpoint:
    """Claims the units written to their end, in order, and the position written in the next."""

    def __init__(self, units: tuple, kind: "FakeKind"):
        self._expected = list(units)
        self._kind = kind
        self.done_units: list = []
        self.position = None
        self.finished = not self._expected
        self.entry = {"done": 0}

    def spawned(self, spawn: Spawn) -> None:
        self._expected.extend(spawn.units)
        self.finished = False

    def written(self, unit, position) -> None:
        self.position = position
        self.entry = {"done": len(self.done_units), "after": position}

    def done(self, unit, result) -> None:
        assert unit is self._expected[len(self.done_units)], "units end in order"
        self.done_units.append(unit)
        with self._kind.changed:
            self._kind.written += 1
            self._kind.changed.notify_all()
        self.finished = len(self.done_units) == len(self._expected)
        self.entry = {"done": len(self.done_units)}

    def done_line(self, unit, rows: int) -> None:
        return None


class FakeKind:
    """Reads FakeUnits; counts the units being read, and the most at once."""

    name = "fake"

    def __init__(self):
        self.changed = threading.Condition()
        self.reading = 0
        self.most_reading = 0
        self.started = 0
        self.written = 0
        self.most_open = 0  # units started and not yet written to their end, at most

    def read(self, ctx, unit: FakeUnit):
        with self.changed:
            self.started += 1
            self.reading += 1
            self.most_reading = max(self.most_reading, self.reading)
            self.most_open = max(self.most_open, self.started - self.written)
            self.changed.notify_all()
        try:
            if unit.script is not None:
                unit.script(unit)
            for n in range(unit.rows):
                yield {"unit": unit.index, "n": n}
                if (n + 1) % unit.page == 0:
                    yield PageEnd([unit.index, n], unit.page)
            for number, group in enumerate(unit.spawn):
                yield Spawn(group[0].stream, number, group, throttled=True)
            yield UnitEnd(unit.index)
        finally:
            with self.changed:
                self.reading -= 1
                self.changed.notify_all()

    def wait_for(self, predicate) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout=LIVENESS_SECONDS), "never happened"

    def checkpoint(self, scope, first_units):
        return FakeCheckpoint(first_units, self)

    def plan_entry(self, scope, units):
        return PlanEntry("fake", len(units), {}, ())


class FakeOutput:
    """What the executor writes: RECORD lines and STATEs, in order; `stall` blocks writing."""

    def __init__(self):
        self.lines: list = []
        self.states: list = []
        self.stall = threading.Event()
        self.stall.set()
        self.interrupt_at: Optional[int] = None  # the write that raises KeyboardInterrupt

    @staticmethod
    def record_prefix(stream: str, time_extracted: str) -> bytes:
        return f'{{"stream":"{stream}","record":'.encode()

    def write(self, lines: bytes) -> None:
        assert self.stall.wait(LIVENESS_SECONDS)
        if self.interrupt_at is not None and len(self.lines) >= self.interrupt_at:
            raise KeyboardInterrupt
        self.lines.extend(lines.decode().splitlines())

    def state(self, value: dict) -> None:
        self.states.append((len(self.lines), {k: dict(v) for k, v in value["bookmarks"].items()}))


@dataclass
class FakePlan:
    units: tuple
    scopes: tuple
    sync_start_ms: int = 0
    config: object = None

    def units_of(self, stream):
        return tuple(u for u in self.units if stream in u.streams)

    def units_informing(self, stream):
        return tuple(u for u in self.units if stream in u.checkpointed_streams)


@dataclass
class Run:
    kind: FakeKind
    output: FakeOutput
    executor: Executor
    units: dict = field(default_factory=dict)


def make_run(streams: dict, workers: int) -> Run:
    """An executor over `streams` (name -> list of FakeUnit keyword arguments)."""
    kind = FakeKind()
    units, scopes, by_stream = [], [], {}
    for stream, specs in streams.items():
        scopes.append(FakeScope(kind, SimpleNamespace(name=stream), stream))
        by_stream[stream] = [FakeUnit(kind, stream, i, **spec) for i, spec in enumerate(specs)]
    # Interleaved, as a plan of several streams is.
    for i in range(max(len(u) for u in by_stream.values())):
        units.extend(u[i] for u in by_stream.values() if i < len(u))
    plan = FakePlan(tuple(units), tuple(scopes))
    transforms = {s: SimpleNamespace(convert=lambda row: row, explain=None) for s in streams}
    output = FakeOutput()
    ctx = ReadContext(SimpleNamespace(max_concurrent_requests=workers))
    executor = Executor(ctx, plan, Checkpoints(plan), transforms, output, Progress())
    return Run(kind, output, executor, by_stream)


def rows_of(output: FakeOutput, stream: str) -> list:
    """The (unit, n) of each RECORD line of `stream`, in output order."""
    prefix = f'{{"stream":"{stream}","record":'
    rows = []
    for line in output.lines:
        if line.startswith(prefix):
            record = eval(line[len(prefix) : -1].replace("null", "None"))  # noqa: S307
            rows.append((record["unit"], record["n"]))
    return rows


def test_at_most_max_concurrent_requests_units_are_read_at_once_and_that_many_are():
    barrier = threading.Barrier(3, timeout=LIVENESS_SECONDS)
    specs = [{"script": lambda unit: barrier.wait()} for _ in range(3)] + [{}] * 9
    run = make_run({"a": specs}, workers=3)
    run.executor.run({})
    # The barrier let the first three go only once all three were read at once.
    assert run.kind.most_reading == 3
    assert len(rows_of(run.output, "a")) == 12 * 3


def test_rows_are_written_in_unit_order_and_states_claim_only_what_is_written():
    first_may_end = threading.Event()
    specs = [{"script": lambda unit: first_may_end.wait(LIVENESS_SECONDS)}] + [{}] * 5
    run = make_run({"a": specs, "b": [{}] * 3}, workers=3)

    def release_when_the_rest_is_read(unit):
        run.kind.wait_for(lambda: run.kind.started >= 6)
        first_may_end.set()

    specs_b = run.units["b"][0]
    specs_b.script = release_when_the_rest_is_read
    run.executor.run({})
    assert rows_of(run.output, "a") == [(u, n) for u in range(6) for n in range(3)]
    # Each STATE claims no unit whose rows are not all written before it.
    for lines_before, bookmarks in run.output.states:
        done = bookmarks["a"]["done"]
        written = rows_of(SimpleNamespace(lines=run.output.lines[:lines_before]), "a")
        assert len(written) >= done * 3
    assert run.output.states[-1][1] == {"a": {"done": 6}, "b": {"done": 3}}


def test_a_failing_unit_stops_the_run_with_its_own_error_and_every_worker_ends():
    error = ValueError("boom")
    others_may_go_on = threading.Event()

    def fail(unit):
        run.kind.wait_for(lambda: run.kind.reading == 3)  # the others are reading
        raise error

    specs = [{}, {"script": fail}] + [{"script": lambda u: others_may_go_on.wait()}] * 4
    run = make_run({"a": specs}, workers=3)
    with pytest.raises(ValueError) as raised:
        run.executor.run({})
    assert raised.value is error
    states_at_failure = len(run.output.states)
    others_may_go_on.set()
    for worker in run.executor._workers:
        worker.join(LIVENESS_SECONDS)
        assert not worker.is_alive(), "a worker went on after the run stopped"
    assert len(run.output.states) == states_at_failure, "a STATE after the failure"
    # What it claims is written: unit 0 at most.
    assert all(bookmarks["a"].get("done", 0) <= 1 for _, bookmarks in run.output.states)


def test_ctrl_c_stops_the_run_without_another_state_and_every_worker_ends():
    run = make_run({"a": [{"rows": 600, "page": 600}] * 6}, workers=2)
    run.output.interrupt_at = 1000  # the third batch
    with pytest.raises(KeyboardInterrupt):
        run.executor.run({})
    states = len(run.output.states)
    for worker in run.executor._workers:
        worker.join(LIVENESS_SECONDS)
        assert not worker.is_alive()
    assert len(run.output.states) == states
    for _, bookmarks in run.output.states:
        assert bookmarks["a"]["done"] * 600 <= len(rows_of(run.output, "a"))


def test_a_stalled_output_stops_the_reading_at_the_bound_and_then_the_run_ends():
    workers = 1
    bound = OPEN_UNITS_PER_WORKER * workers
    run = make_run({"a": [{}] * 30}, workers=workers)
    run.output.stall.clear()
    finished = threading.Thread(target=run.executor.run, args=({},))
    finished.start()
    # The first write blocks; reading goes on until the bound of open units.
    run.kind.wait_for(lambda: run.kind.started == bound)
    assert run.kind.written == 0
    run.output.stall.set()
    finished.join(LIVENESS_SECONDS)
    assert not finished.is_alive(), "the run never ended once the output flowed"
    assert run.kind.most_open <= bound
    assert rows_of(run.output, "a") == [(u, n) for u in range(30) for n in range(3)]


def spawn_groups(kind, stream: str, groups: int, per_group: int, fail_at=None) -> tuple:
    """Groups of units of `stream`, as a listing spawns a visitor's days of history."""
    units = iter(range(groups * per_group))
    return tuple(
        tuple(
            FakeUnit(kind, stream, n, script=fail_at if n == 50 else None)
            for n in (next(units) for _ in range(per_group))
        )
        for _ in range(groups)
    )


def test_a_unit_spawning_many_units_runs_queued_ones_itself_even_with_one_worker():
    # As the visitors listing spawns history days: units of another stream, in groups.
    run = make_run({"a": [{}], "b": []}, workers=1)
    run.units["a"][0].spawn = spawn_groups(run.kind, "b", 60, 3)
    run.executor.run({})
    assert rows_of(run.output, "a") == [(0, n) for n in range(3)]
    assert rows_of(run.output, "b") == [(u, n) for u in range(180) for n in range(3)]


def test_a_failing_spawned_unit_run_by_its_spawner_stops_the_run():
    error = RuntimeError("nested")

    def fail(unit):
        raise error

    run = make_run({"a": [{}], "b": []}, workers=1)
    run.units["a"][0].spawn = spawn_groups(run.kind, "b", 60, 3, fail_at=fail)
    with pytest.raises(RuntimeError) as raised:
        run.executor.run({})
    assert raised.value is error
