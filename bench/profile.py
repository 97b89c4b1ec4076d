"""`python -m bench.run --profile STREAM`: where the tap's CPU goes, in this process.

Starts the same fake and runs the tap in process on the same responses (or,
for datasync_events, on the Data Sync case's file: bench/datasync.py):

1. ablation, without a profiler: passes over the same windows, each adding a
   step of the hot path (HTTP alone, + parse, + paging, + transform, + write,
   the whole tap; for Data Sync: the file's bytes through the store, + decode
   and convert with `datasync.rows`, + write, the whole tap); a step's cost is
   the difference between two passes;
2. cProfile of the whole tap on a per-thread CPU clock, its own time grouped
   by step;
3. the top functions by own CPU time.

Every use of tap_pendo's internals is in `tap_passes()`, `datasync_passes()` and
`TAP_FILES`: the rest of the bench runs the installed `tap-pendo` command only.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import os
import pstats
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from .cases import CASE_NAMES, WORK, fakes, limit_argv, tap_argv
from .datasync import Tree, tap_argvs, tree, warm
from .measure import measure
from .report import machine
from .runner import discover, log

STREAM_NAMES = ("feature_events", "events", "accounts", "visitors", "visitor_history")
PROFILED = (*STREAM_NAMES, "accounts+visitors", "datasync_events")  # --profile takes these
# Where HTTP runs (requests, urllib3, http.client, sockets and what they call).
HTTP_PATHS = tuple(
    "/requests/ /urllib3/ /http/client.py /socket.py /ssl.py /selectors.py /email/ /idna/ "
    "/charset_normalizer/ /certifi/ /http/cookiejar.py /urllib/".split()
)
STEPS = ("HTTP", "parse", "transform", "write", "paging & sync loop", "other")
# What the steps are for Data Sync, where the store reads files and fastavro decodes them.
DATASYNC_STEPS = {"HTTP": "store reads", "parse": "decode & convert"}


# ------------------------------------------------------------------ the tap's internals
#
# TAP INTERNALS: everything in this section knows tap_pendo's modules as of the
# plan/executor layout (plan.py, executor.py, windows.py, items.py, transform/).
# The rest of the bench runs the installed `tap-pendo` command, or
# `tap_pendo.main`, only. If the internals change again, `tap_passes` needs:
# the selected stream's first units for a config (sync.plan_sync), the reader
# of each unit type (executor.READERS) and what they yield (dict rows, Spawn),
# the client's aggregation answer (client.AggregationAnswer: rows(), the
# body's head), the stream's compiled record function (transform.RecordPlan)
# and the RECORD line framing (output.record_prefix). Without them the
# profile still runs, with the whole tap alone.

# The step of each tap_pendo file or package (the rest of tap_pendo is paging & sync loop).
TAP_FILES = {
    "transform": "transform",
    "timefmt.py": "transform",
    "output.py": "write",
    "client.py": "HTTP",
    "datasync/store.py": "HTTP",  # the Data Sync store's reads (fsspec)
    "datasync": "parse",  # Avro: fastavro runs inside datasync.rows
}
# Code the tap runs in C, called from its sync loop: the step it belongs to.
TAP_BUILTINS = {"orjson.dumps": "write", "'write' of '_io.BufferedWriter'": "write"}
# Functions of client.py inside which ijson's C parser runs: their own time is parsing.
TAP_PARSERS = ("rows", "stream_aggregation")


def tap_passes(argv: list, stream_name: str) -> list:
    """The ablation passes: (label, function returning rows or None), from tap_pendo's
    internals (see above). Each pass reads the stream's units one after the other."""
    from collections import deque

    import orjson
    from singer.catalog import Catalog

    from tap_pendo.config import load_config
    from tap_pendo.pendo.client import AggregationAnswer, PendoClient
    from tap_pendo.readers.items import ReadContext, Spawn
    from tap_pendo.run.executor import READERS
    from tap_pendo.singer.output import SingerWriter, record_prefix
    from tap_pendo.singer.sync import plan_sync, selection
    from tap_pendo.timefmt import ms_to_rfc3339, now_ms
    from tap_pendo.transform import RecordPlan

    config = load_config(json.loads(Path(argv[2]).read_text()))
    catalog = Catalog.from_dict(json.loads(Path(argv[4]).read_text()))
    chosen = next(s for s in selection(catalog, config.period) if s.stream.name == stream_name)
    devnull = open(os.devnull, "wb")  # noqa: SIM115 - open for the process
    bodies: list = []

    class BodyDropped(AggregationAnswer):
        """The answer read to its end and dropped; its head (startTime) kept."""

        def rows(self):
            while self._reader.read(1 << 16):
                pass
            return
            yield

    class BodiesOnly(PendoClient):
        """The tap's HTTP with no row reaching the pager; the request bodies are kept,
        and sent again by the parse-only pass. With no rows, the pager asks for one
        page per window: the tap's requests while no window holds more rows than
        the config's record_limit."""

        def post_aggregation(self, body, stream, label):
            bodies.append((body, stream, label))
            answer = super().post_aggregation(body, stream, label)
            answer.__class__ = BodyDropped
            return answer

    def rows_of(client_class):
        ctx = ReadContext(config, client_class(config))
        units = deque(plan_sync(config, {}, [chosen], now_ms()).units_of(stream_name))
        while units:
            unit = units.popleft()
            for item in READERS[type(unit)](ctx, unit):
                if type(item) is dict:
                    yield item
                elif type(item) is Spawn:
                    units.extend(item.units)

    def http_only():
        bodies.clear()
        return sum(1 for _ in rows_of(BodiesOnly)) * 0

    def parse_only():
        client, count = PendoClient(config), 0
        for request in bodies:
            answer = client.post_aggregation(*request)
            count += sum(1 for _ in answer.rows())
            answer.close()
        return count

    def pager():
        return sum(1 for _ in rows_of(PendoClient))

    def transform():
        convert = RecordPlan(chosen.stream, chosen.schema["properties"], set(chosen.fields)).convert
        count = 0
        for row in rows_of(PendoClient):
            convert(row)
            count += 1
        return count

    def write():
        convert = RecordPlan(chosen.stream, chosen.schema["properties"], set(chosen.fields)).convert
        writer, dumps, count = SingerWriter(devnull), orjson.dumps, 0
        prefix = record_prefix(stream_name, ms_to_rfc3339(now_ms()))
        for row in rows_of(PendoClient):
            writer.write(prefix + dumps(convert(row)) + b"}\n")
            count += 1
        writer.flush()
        return count

    return [
        ("HTTP: requests, bodies read and dropped", http_only),
        ("+ parse: ijson rows (AggregationAnswer.rows)", parse_only),
        ("+ paging: rows through the tap's pager and readers", pager),
        ("+ transform: RecordPlan.convert", transform),
        ("+ write: RECORD lines (orjson) to /dev/null", write),
        ("whole tap: tap_pendo.main (executor, state, progress)", lambda: whole_tap(argv)),
    ]


def datasync_passes(argv: list, stream_name: str, big: Tree) -> list:
    """The ablation passes of the Data Sync case's file (see TAP INTERNALS): the layer
    alone (`tap_pendo.datasync`: open_store, rows with the columns the tap adds), then
    RECORD lines framed as the tap frames them, then the whole tap."""
    import orjson

    from tap_pendo.datasync import open_store, rows
    from tap_pendo.singer.output import SingerWriter, record_prefix
    from tap_pendo.timefmt import ms_to_rfc3339, now_ms

    config = json.loads(Path(argv[2]).read_text())
    store = open_store(config["datasync_url"])
    path = store.join(store.root, *big.file.relative_to(big.root).parts)
    extra = {"app_id": big.app_id, "export_counter": big.export_counter}
    devnull = open(os.devnull, "wb")  # noqa: SIM115 - open for the process

    def read_only():
        with store.open(path) as file:
            while file.read(1 << 21):
                pass
        return 0

    def decode():
        return sum(1 for _ in rows(store, path, extra))

    def write():
        writer, dumps, count = SingerWriter(devnull), orjson.dumps, 0
        prefix = record_prefix(stream_name, ms_to_rfc3339(now_ms()))
        for record in rows(store, path, extra):
            writer.write(prefix + dumps(record) + b"}\n")
            count += 1
        writer.flush()
        return count

    return [
        ("read: the file through the store (2 MiB reads), dropped", read_only),
        ("+ decode: datasync.rows (fastavro, dates, added columns)", decode),
        ("+ write: RECORD lines (orjson) to /dev/null", write),
        ("whole tap: tap_pendo.main (manifest, executor, state)", lambda: whole_tap(argv)),
    ]


def whole_tap(argv: list) -> None:
    """`tap-pendo ARGV` in this process, its stdout to /dev/null."""
    import tap_pendo

    with redirected(1, os.devnull):
        tap_pendo.main(argv[1:])


def step_of(func: tuple) -> str | None:
    """The hot-path step of a profiled function; None for a builtin (its caller decides)."""
    filename, _, name = func
    path = filename.replace("\\", "/")
    if filename == "~":
        return next((step for key, step in TAP_BUILTINS.items() if key in name), None)
    if filename.startswith("<string>"):
        return None  # code the tap compiles with exec (its per-shape record functions)
    if "/tap_pendo/" in path:
        inside = path.rsplit("/tap_pendo/", 1)[1]
        if inside == "client.py" and name in TAP_PARSERS:
            return "parse"
        if inside in TAP_FILES:
            return TAP_FILES[inside]
        return TAP_FILES.get(inside.split("/", 1)[0], "paging & sync loop")
    if "/ijson/" in path or "/fastavro/" in path:
        return "parse"
    if "/fsspec/" in path:
        return "HTTP"
    if any(part in path for part in HTTP_PATHS):
        return "HTTP"
    return "other"


# ------------------------------------------------------------------------- profiling


def steps_from_stats(stats: pstats.Stats) -> dict:
    """Own CPU time per step; a builtin's time goes to the step of each caller."""
    totals = dict.fromkeys(STEPS, 0.0)
    for func, (_, _, own, _, callers) in stats.stats.items():
        step = step_of(func)
        if step is not None:
            totals[step] += own
            continue
        if not callers:
            totals["other"] += own
            continue
        for caller, edge in callers.items():
            totals[resolved_step(stats, caller)] += edge[2]
    return totals


def resolved_step(stats: pstats.Stats, func: tuple, depth: int = 0) -> str:
    """The step of `func`, or of its main caller when it has none of its own."""
    step = step_of(func)
    if step is not None:
        return step
    entry = stats.stats.get(func)
    if entry is None or not entry[4] or depth > 8:
        return "other"
    caller = max(entry[4].items(), key=lambda kv: kv[1][3])[0]
    return resolved_step(stats, caller, depth + 1)


class ThreadProfiles:
    """cProfile on the CPU clock in this thread and every thread started while it is on."""

    def __init__(self):
        self.profiles: list = []
        self._lock = threading.Lock()

    def _new(self) -> cProfile.Profile:
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self.profiles.append(profile)
        return profile

    def _thread_start(self, *_):
        self._new().enable()

    def __enter__(self):
        threading.setprofile(self._thread_start)
        self._main = self._new()
        self._main.enable()
        return self

    def __exit__(self, *exc):
        self._main.disable()
        threading.setprofile(None)

    def stats(self) -> pstats.Stats:
        stream = io.StringIO()
        for profile in self.profiles:
            profile.create_stats()
        stats = pstats.Stats(self.profiles[0], stream=stream)
        for profile in self.profiles[1:]:
            if profile.stats:
                stats.add(profile)
        return stats


@contextlib.contextmanager
def redirected(fd: int, path: str):
    """Point file descriptor `fd` at `path` for a while (the tap writes to fd 1 directly)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(fd)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(target, fd)
    os.close(target)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)


def profile(args) -> None:
    """The whole profile mode: fake, catalog, warm-up, passes, report."""
    if args.profile not in PROFILED:
        raise SystemExit(f"bench: --profile takes one of {', '.join(PROFILED)}")
    case = CASE_NAMES[args.profile][0]
    stream_name = args.profile if args.profile in STREAM_NAMES else case.streams[0]
    if case.kind == "datasync":
        profile_datasync(args, case)
        return
    fake = fakes(args, [case])[case.fake]
    try:
        log(f"starting the fake at scale {fake.scale:g}")
        fake.start().wait_ready()
        catalog = discover(fake, case.period)
        alone = replace(case, streams=(stream_name,))
        argv = tap_argv(fake, alone, catalog, slug=f"profile-{stream_name}")
        if case.source:
            log("warming the fake (one pass over the same bodies, discarded)")
            measure(limit_argv(fake, case, discard=True), WORK / "warmup-profile.err", ())
        report = profile_in_process(argv, stream_name, args.repeat or 1)
        report["machine"] = machine()
        report["scale"] = fake.scale
        print_profile(report, args.top)
        out = WORK / f"profile-{stream_name}.json"
        out.write_text(json.dumps(report, indent=2))
        log(f"wrote {out}")
    finally:
        fake.stop()


def profile_datasync(args, case) -> None:
    """The profile of the Data Sync case's file (written if not kept)."""
    big = tree(args.datasync_rows, args.datasync_codec)
    argv, _ = tap_argvs(case, big)
    warm(big.file)
    stream_name = case.streams[0]
    report = profile_in_process(
        argv, stream_name, args.repeat or 1, lambda a, s: datasync_passes(a, s, big)
    )
    report["machine"] = machine()
    report["file"] = big.describe()
    print_profile(report, args.top)
    out = WORK / f"profile-{stream_name}.json"
    out.write_text(json.dumps(report, indent=2))
    log(f"wrote {out}")


def profile_in_process(argv: list, stream_name: str, repeat: int, passes_of=None) -> dict:
    """Ablation passes, then the whole tap under cProfile, all in this process."""
    ablation: list = []
    rows = None
    broken = None
    with redirected(2, str(WORK / "profile-tap.err")):
        try:
            passes = (passes_of or tap_passes)(argv, stream_name)
        except (ImportError, AttributeError, TypeError, KeyError, StopIteration) as error:
            # The tap's internals moved (see TAP INTERNALS): the whole tap alone.
            broken = f"{type(error).__name__}: {error}"
            passes = [("whole tap: tap_pendo.main", lambda: whole_tap(argv))]
        for label, step in passes:
            best = None
            for _ in range(repeat):
                before = time.process_time()
                count = step()
                spent = time.process_time() - before
                best = spent if best is None else min(best, spent)
            if count:
                rows = count
            ablation.append({"step": label, "cpu_s": round(best, 3), "rows": count})
        profiles = ThreadProfiles()
        with profiles:
            whole_tap(argv)
    stats = profiles.stats()
    by_step = steps_from_stats(stats)
    top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)
    return {
        "stream": stream_name,
        "rows": rows,
        "ablation": ablation,
        "ablation_unavailable": broken,
        "profile_by_step": {k: round(v, 3) for k, v in by_step.items()},
        "profile_total_s": round(sum(by_step.values()), 3),
        "top": [
            {
                "function": pstats.func_std_string(func),
                "step": resolved_step(stats, func),
                "calls": value[1],
                "own_s": round(value[2], 3),
                "cumulative_s": round(value[3], 3),
            }
            for func, value in top[:40]
        ],
    }


def print_profile(report: dict, top: int) -> None:
    rows = report["rows"] or 0
    m = report["machine"]
    print()
    if "file" in report:
        f = report["file"]
        print(
            f"Profile of {report['stream']}: {rows:,} rows, {f['path']} ({f['mb']:g} MB, {f['codec']})"
        )
    else:
        print(f"Profile of {report['stream']}: {rows:,} rows, fake scale {report['scale']:g}")
    print(f"{m['cpu']}, {m['cores']} cores, Python {m['python']}")
    print()
    print("1. Ablation (no profiler; process CPU of each pass; a step's cost is the difference)")
    if report.get("ablation_unavailable"):
        print(
            "   NOT AVAILABLE: bench/profile.py's passes do not fit tap_pendo's internals "
            f"any more ({report['ablation_unavailable']}); the whole tap alone:"
        )
    print(f"   {'pass':<58} {'CPU s':>7} {'step s':>7} {'µs/row':>7} {'rows/CPU-s':>11}")
    previous = 0.0
    for entry in report["ablation"]:
        spent = entry["cpu_s"]
        step = spent - previous
        previous = spent
        per_row = f"{step / rows * 1e6:.2f}" if rows else "—"
        rate = f"{rows / spent:,.0f}" if rows and spent else "—"
        entry["step_s"] = round(step, 3)
        mark = ""
        if entry.get("rows") and entry["rows"] != rows:
            mark = f"  ({entry['rows']:,} rows: a window held more than one page)"
        print(f"   {entry['step']:<58} {spent:7.2f} {step:7.2f} {per_row:>7} {rate:>11}{mark}")
    print()
    total = report["profile_total_s"] or 1.0
    print("2. cProfile of the whole tap (per-thread CPU clock; profiling inflates Python calls)")
    labels = DATASYNC_STEPS if "file" in report else {}
    for step, seconds in report["profile_by_step"].items():
        print(f"   {labels.get(step, step):<22} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    print(f"   {'total':<22} {total:7.2f} s")
    print()
    print(f"3. Top {top} functions by own CPU time")
    for entry in report["top"][:top]:
        print(
            f"   {entry['own_s']:7.2f} s own {entry['cumulative_s']:7.2f} s cum "
            f"{entry['calls']:>9,}  [{labels.get(entry['step'], entry['step'])}] {entry['function']}"
        )
