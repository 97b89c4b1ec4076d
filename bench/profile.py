"""`python -m bench.run --profile STREAM`: where the tap's CPU goes, in this process.

Starts the same fake and runs the tap in process on the same responses:

1. ablation, without a profiler: passes over the same windows, each adding a
   step of the hot path (HTTP alone, + parse, + paging, + transform, + write,
   the whole tap); a step's cost is the difference between two passes;
2. cProfile of the whole tap on a per-thread CPU clock, its own time grouped
   by step;
3. the top functions by own CPU time.

Every use of tap_pendo's internals is in `tap_passes()` and `TAP_FILES`: the
rest of the bench runs the installed `tap-pendo` command only.
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
from .measure import measure
from .report import machine
from .runner import discover, log

STREAM_NAMES = ("feature_events", "events", "accounts", "visitors", "visitor_history")
PROFILED = (*STREAM_NAMES, "accounts+visitors")  # --profile takes a stream or this case
HTTP_PATHS = (
    "/requests/",
    "/urllib3/",
    "/http/client.py",
    "/socket.py",
    "/ssl.py",
    "/selectors.py",
    "/email/",
    "/idna/",
    "/charset_normalizer/",
    "/certifi/",
    "/http/cookiejar.py",
    "/urllib/",
)
STEPS = ("HTTP", "parse", "transform", "write", "paging & sync loop", "other")
# The step of each tap_pendo file (the rest of tap_pendo is paging & sync loop).
TAP_FILES = {"transform.py": "transform", "timefmt.py": "transform", "output.py": "write"}


# ------------------------------------------------------------------ the tap's internals


def tap_passes(argv: list, stream_name: str) -> list:
    """The ablation passes: (label, function returning rows or None), from tap_pendo's internals.

    TAP INTERNALS: tap_pendo.readers (RunContext, the reader table in
    tap_pendo.sync), tap_pendo.sync (selection, record_plan) and
    PendoClient._send. When readers.py/sync.py give way to plan.py/executor.py
    this function needs: the selected stream's units of work for this config,
    a way to read their rows with a given client class (for the HTTP-only and
    parse-only passes), the compiled record function of the stream, and the
    writer.
    """
    from singer.catalog import Catalog
    from tap_pendo.readers import RunContext

    from tap_pendo.client import PendoClient
    from tap_pendo.config import load_config
    from tap_pendo.output import SingerWriter
    from tap_pendo.sync import record_plan, selection
    from tap_pendo.timefmt import now_ms

    config_path, catalog_path = argv[2], argv[4]
    config = load_config(json.loads(Path(config_path).read_text()))
    catalog = Catalog.from_dict(json.loads(Path(catalog_path).read_text()))
    chosen = next(s for s in selection(catalog, config.period) if s.stream.name == stream_name)
    # tap_pendo.sync, the module (the package exports a function of that name).
    sync_module = sys.modules["tap_pendo.sync"]
    reader = (getattr(sync_module, "READERS", None) or sync_module.readers())[chosen.stream.kind]
    devnull = open(os.devnull, "wb")  # noqa: SIM115 - open for the process
    bodies: list = []

    class BodiesOnly(PendoClient):
        """The tap's HTTP with the body read and dropped: no row reaches the pager.

        It keeps the request bodies, which the parse-only pass sends again. With
        no rows, the pager asks for one page per window: the same requests as
        the tap's while no window holds more rows than the config's record_limit.
        """

        def stream_aggregation(self, body, stream, detail):
            bodies.append((body, stream, detail))
            response = self._send(
                "POST", "/api/v1/aggregation", stream, detail, json_body=body, streamed=True
            )
            response.raw.decode_content = True
            while response.raw.read(1 << 16):
                pass
            response.close()
            return
            yield

    def rows_of(client_class):
        ctx = RunContext(
            config=config,
            client=client_class(config),
            state={},
            sync_start_ms=now_ms(),
            selected=frozenset({stream_name}),
        )
        return (item for item in reader(ctx, chosen.stream) if type(item) is dict)

    def http_only():
        bodies.clear()
        return sum(1 for _ in rows_of(BodiesOnly)) * 0

    def parse_only():
        client = PendoClient(config)
        return sum(sum(1 for _ in client.stream_aggregation(*request)) for request in bodies)

    def pager():
        return sum(1 for _ in rows_of(PendoClient))

    def transform():
        plan, count = record_plan(chosen), 0
        for item in rows_of(PendoClient):
            plan.record(item)
            count += 1
        return count

    def write():
        plan, writer, count = record_plan(chosen), SingerWriter(devnull), 0
        for item in rows_of(PendoClient):
            writer.record(stream_name, plan.record(item))
            count += 1
        writer.flush()
        return count

    return [
        ("HTTP: requests, bodies read and dropped", http_only),
        ("+ parse: ijson rows (PendoClient.stream_aggregation)", parse_only),
        ("+ paging: rows through the tap's pager and reader", pager),
        ("+ transform: RecordPlan.record", transform),
        ("+ write: SingerWriter.record to /dev/null", write),
        ("whole tap: tap_pendo.main (sync loop, state, progress)", lambda: whole_tap(argv)),
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
    if filename == "~" or filename.startswith("<string>"):
        # Builtins, and code the tap compiles with exec (its per-shape record functions).
        return None
    if "/tap_pendo/" in path:
        base = path.rsplit("/", 1)[-1]
        if base == "client.py":
            # ijson's C parser runs inside this generator: its time is this frame's own.
            return "parse" if name == "stream_aggregation" else "HTTP"
        return TAP_FILES.get(base, "paging & sync loop")
    if "/ijson/" in path:
        return "parse"
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


def profile_in_process(argv: list, stream_name: str, repeat: int) -> dict:
    """Ablation passes, then the whole tap under cProfile, all in this process."""
    ablation = []
    rows = None
    with redirected(2, str(WORK / "profile-tap.err")):
        for label, step in tap_passes(argv, stream_name):
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
    print(f"Profile of {report['stream']}: {rows:,} rows, fake scale {report['scale']:g}")
    print(f"{m['cpu']}, {m['cores']} cores, Python {m['python']}")
    print()
    print("1. Ablation (no profiler; process CPU of each pass; a step's cost is the difference)")
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
    for step, seconds in report["profile_by_step"].items():
        print(f"   {step:<22} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    print(f"   {'total':<22} {total:7.2f} s")
    print()
    print(f"3. Top {top} functions by own CPU time")
    for entry in report["top"][:top]:
        print(
            f"   {entry['own_s']:7.2f} s own {entry['cumulative_s']:7.2f} s cum "
            f"{entry['calls']:>9,}  [{entry['step']}] {entry['function']}"
        )
