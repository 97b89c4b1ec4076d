"""`make bench`: the installed tap-pendo against the fake Pendo, measured per stream.

    python -m bench.run                      # the full benchmark (about 5 minutes)
    python -m bench.run --scale 2 --out-dir .bench/dev   # a quick look
    python -m bench.run --only feature_events --scale 5
    python -m bench.run --profile feature_events          # where the CPU goes

What it does:

1. Starts the fake Pendo (`python -m tests.fake_pendo`) at `--scale` (60 by
   default: featureEvents passes 1,000,000 dayRange rows over its 30 days),
   and a second one at scale 1 with 100 ms of latency per request, for
   visitor_history.
2. Discovers a catalog with the installed `tap-pendo`, once per period.
3. Runs the installed `tap-pendo` as a subprocess, once per case, with a
   config whose start_date covers the fake's data, and measures the tap
   process alone: rows (RECORD lines counted on its stdout pipe), CPU
   (user+sys from wait4 on its pid), peak RSS (ru_maxrss from wait4),
   requests (the fake's /_fake/log, reset before the run) and wall time.
4. For the event streams, runs the "limit" pipeline (bench/limit.py) on the
   same responses, measured the same way, and prints the tap's ratio to it.
5. Prints a table beside the targets of issue 7 and writes bench/results.json
   and bench/results.md (which the README quotes).

Before each measured event run the fake is warmed with one pass that reads
the same bodies and discards them (`--no-warmup` skips it), so that the tap
and the limit both read from a fake that serves from its cache.

`--profile STREAM` runs the tap in this process instead, on the same
responses, and says where its CPU goes per step of the hot path: first by
ablation (HTTP alone, + parse, + transform, + write, whole tap; each without
a profiler), then under cProfile (per-thread CPU clock), grouped by step.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.integration.harness import select as select_catalog

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".bench"
TAP = str(Path(sys.executable).parent / "tap-pendo")
KEY = "bench-key"
DAY_MS = 86_400_000
MB = 1024 * 1024

# featureEvents (dayRange) over 30 days passes 1,000,000 rows from scale 55, with
# 1.14 million at 60 (tests/fake_pendo/dataset.py says so; the run checks it).
DEFAULT_SCALE = 60.0
EVENT_ROWS_WANTED = 1_000_000
DAYS = 30
RUN_TIMEOUT_S = 1800

# Issue 7's targets.
TARGETS = {
    "event": {"rows_per_cpu_s": 150_000, "ratio_to_limit": 0.5, "peak_rss_mb": 100},
    "entity": {"rows_per_cpu_s": 100_000, "peak_rss_mb": 100},
    "history": {"peak_rss_mb": 100},
}


@dataclass(frozen=True)
class Case:
    """One measured run of the tap."""

    name: str
    streams: tuple
    period: str
    kind: str  # event, entity or history: which targets apply
    fake: str = "main"  # or "latency"
    source: str | None = None  # the aggregation source of the limit pipeline
    # The config's start_date; None: two days before the fake's 30 days of activity.
    # Entities were last updated up to 430 days before, so their first full sync
    # starts long before.
    start_date: str | None = None


CASES = (
    Case("feature_events", ("feature_events",), "dayRange", "event", source="featureEvents"),
    Case("events", ("events",), "hourRange", "event", source="events"),
    Case(
        "accounts+visitors",
        ("accounts", "visitors"),
        "dayRange",
        "entity",
        start_date="2000-01-01T00:00:00Z",
    ),
    Case("visitor_history", ("visitor_history",), "dayRange", "history", fake="latency"),
)
CASE_NAMES = {c.name: c for c in CASES} | {"accounts": CASES[2], "visitors": CASES[2]}


# ----------------------------------------------------------------------------
# The fake
# ----------------------------------------------------------------------------


class Fake:
    """`python -m tests.fake_pendo` in a subprocess, stopped with SIGTERM."""

    def __init__(self, name: str, scale: float, latency: float = 0.0, days: int = DAYS):
        self.name, self.scale, self.latency, self.days = name, scale, latency, days
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.key = KEY
        self.started_ms = 0
        self.startup_s = 0.0

    def start(self) -> Fake:
        argv = [sys.executable, "-m", "tests.fake_pendo", "--port", "0", "--seed", "1"]
        argv += ["--scale", f"{self.scale:g}", "--days", str(self.days), "--key", KEY]
        if self.latency:
            argv += ["--latency", f"{self.latency:g}"]
        self._log = open(WORK / f"fake-{self.name}.log", "wb")
        self.started_ms = int(time.time() * 1000)
        self.proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=self._log)
        return self

    def wait_ready(self, timeout: float = 900) -> Fake:
        """Block until the fake prints its URL."""
        assert self.proc is not None
        began = time.perf_counter()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            log = (WORK / f"fake-{self.name}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"bench: the fake ({self.name}) did not start:\n{log}")
        info = json.loads(line)
        self.url, self.key = info["url"], info["key"]
        self.startup_s = time.perf_counter() - began
        return self

    def control(self, method: str, path: str) -> dict:
        request = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body.strip() else {}

    def reset_log(self) -> None:
        self.control("POST", "/_fake/log/reset")

    def log(self) -> dict:
        return self.control("GET", "/_fake/log")

    def config(self, period: str, start_date: str | None = None) -> dict:
        return {
            "x_pendo_integration_key": self.key,
            "api_url": self.url,
            "start_date": start_date or ms_to_iso(self.start_ms()),
            "period": period,
        }

    def start_ms(self) -> int:
        """The config's start_date: two days before the fake's activity, in whole seconds."""
        return (self.started_ms // 1000) * 1000 - (self.days + 2) * DAY_MS

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def ms_to_iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


# ----------------------------------------------------------------------------
# Measuring one process
# ----------------------------------------------------------------------------


def record_marker(stream: str) -> bytes:
    """How the tap starts a RECORD line of `stream` (orjson, no spaces: the tap's output.py)."""
    return b'{"type":"RECORD","stream":' + json.dumps(stream).encode() + b","


def count_markers(fd: int, markers: dict, totals: dict) -> None:
    """Read a pipe to its end, counting each marker and the lines; nothing is kept."""
    keep = max((len(m) for m in markers.values()), default=1) - 1
    tail = b""
    lines = nbytes = 0
    counts = dict.fromkeys(markers, 0)
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        nbytes += len(chunk)
        lines += chunk.count(b"\n")
        data = tail + chunk
        for name, marker in markers.items():
            counts[name] += data.count(marker)
        tail = data[-keep:] if keep else b""
    os.close(fd)
    totals.update(records=counts, lines=lines, bytes=nbytes)


def measure(argv: list, stderr_path: Path, streams, timeout: float = RUN_TIMEOUT_S) -> dict:
    """Run `argv`; count its RECORD lines per stream; its own CPU and peak RSS from wait4."""
    markers = {s: record_marker(s) for s in streams}
    read_fd, write_fd = os.pipe()
    totals: dict = {}
    with open(stderr_path, "wb") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=WORK, stdout=write_fd, stderr=err, stdin=subprocess.DEVNULL
        )
        os.close(write_fd)
        reader = threading.Thread(target=count_markers, args=(read_fd, markers, totals))
        reader.start()
        killer = threading.Timer(timeout, _kill, (proc.pid,))
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join()
    cpu = usage.ru_utime + usage.ru_stime
    rows = sum(totals["records"].values())
    return {
        "returncode": proc.returncode,
        "rows": rows,
        "rows_by_stream": totals["records"],
        "lines": totals["lines"],
        "output_mb": round(totals["bytes"] / MB, 1),
        "cpu_s": round(cpu, 3),
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "rows_per_cpu_s": round(rows / cpu) if cpu > 0 else None,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
        "wall_s": round(wall, 2),
    }


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stderr_tail(path: Path, chars: int = 2000) -> str:
    return path.read_text(errors="replace")[-chars:]


# ----------------------------------------------------------------------------
# The tap: catalog and runs
# ----------------------------------------------------------------------------


def write_json(path: Path, value) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def discover(fake: Fake, period: str) -> dict:
    config = write_json(WORK / f"config-{fake.name}-{period}.json", fake.config(period))
    done = subprocess.run(
        [TAP, "--config", config, "--discover"], cwd=WORK, capture_output=True, timeout=300
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: tap-pendo --discover failed:\n{done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout)


def tap_argv(
    fake: Fake, case_name: str, period: str, catalog: dict, streams, start_date=None
) -> list:
    slug = case_name.replace("+", "_")
    config = write_json(WORK / f"config-{slug}.json", fake.config(period, start_date))
    selected = write_json(WORK / f"catalog-{slug}.json", select_catalog(catalog, streams))
    return [TAP, "--config", config, "--catalog", selected]


def limit_argv(fake: Fake, case: Case, raw: bool = False) -> list:
    argv = [sys.executable, str(REPO / "bench" / "limit.py"), "--url", fake.url, "--key", fake.key]
    argv += ["--source", case.source, "--stream", case.streams[0], "--period", case.period]
    argv += ["--start-ms", str(fake.start_ms())]
    return argv + (["--discard"] if raw else [])


def run_case(case: Case, fake: Fake, catalog: dict, args) -> dict:
    """Warm the fake, then `--repeat` rounds of limit and tap; the best round of each counts.

    CPU time on a shared machine varies by 10 % or more from run to run; the
    run that took least CPU is the one least disturbed. visitor_history, bound
    by the fake's latency, runs once.
    """
    slug = case.name.replace("+", "_")
    result: dict = {"stream": case.name, "streams": list(case.streams), "period": case.period}
    result["kind"] = case.kind
    if case.source and not args.no_warmup:
        log(f"{case.name}: warming the fake (one pass over the same bodies, discarded)")
        warm = measure(limit_argv(fake, case, raw=True), WORK / f"warmup-{slug}.err", ())
        result["warmup_wall_s"] = warm["wall_s"]
    rounds = 1 if case.kind == "history" else max(1, args.repeat or 2)
    limits, taps = [], []
    argv = tap_argv(fake, case.name, case.period, catalog, case.streams, case.start_date)
    for number in range(1, rounds + 1):
        if case.source and not args.no_limit:
            log(f"{case.name}: limit pipeline ({number}/{rounds})")
            fake.reset_log()
            limit = measure(limit_argv(fake, case), WORK / f"limit-{slug}.err", case.streams)
            limit["requests"] = fake.log()["total"]
            if limit["returncode"] != 0:
                raise SystemExit(
                    f"bench: the limit pipeline failed:\n{stderr_tail(WORK / f'limit-{slug}.err')}"
                )
            limits.append(limit)
        log(f"{case.name}: tap-pendo ({number}/{rounds})")
        fake.reset_log()
        tap = measure(argv, WORK / f"tap-{slug}.err", case.streams)
        fake_log = fake.log()
        tap["requests"] = fake_log["total"]
        tap["requests_by_kind"] = {k: v for k, v in fake_log["requests"].items() if v}
        tap["response_mb"] = round(fake_log.get("bytes_sent", 0) / MB, 1)
        taps.append(tap)
        if tap["returncode"] != 0:
            tap["error"] = stderr_tail(WORK / f"tap-{slug}.err")
            log(f"{case.name}: tap-pendo FAILED ({tap['returncode']}):\n{tap['error']}")
            break
    tap = best_of(taps)
    result.update(tap)
    result["cpu_s_of_rounds"] = [t["cpu_s"] for t in taps]
    result["peak_rss_mb"] = max(t["peak_rss_mb"] for t in taps)
    if limits:
        result["limit"] = best_of(limits)
        result["limit"]["cpu_s_of_rounds"] = [t["cpu_s"] for t in limits]
    if "limit" in result and result["limit"]["rows_per_cpu_s"] and tap["rows_per_cpu_s"]:
        result["ratio_to_limit"] = round(
            tap["rows_per_cpu_s"] / result["limit"]["rows_per_cpu_s"], 3
        )
        if result["limit"]["rows"] != tap["rows"]:
            result["warning"] = (
                f"the limit pipeline read {result['limit']['rows']} rows, the tap {tap['rows']}"
            )
            log(f"{case.name}: WARNING: {result['warning']}")
    if args.startup_cpu_s is not None and tap["cpu_s"] > args.startup_cpu_s:
        result["rows_per_cpu_s_after_startup"] = round(
            tap["rows"] / (tap["cpu_s"] - args.startup_cpu_s)
        )
    result["targets"] = check_targets(case.kind, result)
    return result


def best_of(runs: list) -> dict:
    """The run that took least CPU among the successful ones (else the first)."""
    good = [r for r in runs if r["returncode"] == 0] or runs[:1]
    return dict(min(good, key=lambda r: r["cpu_s"]))


def check_targets(kind: str, result: dict) -> dict:
    """Each target of the case's kind: the figure, the bound and whether it is met."""
    checks = {}
    for name, bound in TARGETS[kind].items():
        value = result.get(name)
        met = (
            None if value is None else (value <= bound if name == "peak_rss_mb" else value >= bound)
        )
        checks[name] = {"value": value, "target": bound, "met": met}
    return checks


def startup_cost(fake: Fake, catalog: dict, rounds: int = 3) -> dict:
    """The tap with nothing selected: interpreter, imports, config and catalog (best of 3)."""
    argv = tap_argv(fake, "startup", "dayRange", catalog, ())
    return best_of([measure(argv, WORK / "tap-startup.err", ()) for _ in range(rounds)])


# ----------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------


def machine() -> dict:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import ijson
    import orjson

    def git(*argv) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "tap_pendo", "setup.py"):
        commit += " (tap_pendo with uncommitted changes)"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "ijson": f"{ijson.__version__} ({ijson.backend})",
        "orjson": orjson.__version__,
        "commit": commit,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def fmt_int(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def fmt_check(check: dict | None) -> str:
    if not check or check["met"] is None:
        return ""
    return " ✓" if check["met"] else " ✗"


def table_rows(results: list) -> list:
    rows = []
    for r in results:
        t = r.get("targets", {})
        ratio = r.get("ratio_to_limit")
        limit = r.get("limit", {})
        rows.append(
            [
                r["stream"],
                r["period"],
                fmt_int(r.get("rows")),
                f"{r['cpu_s']:.2f}",
                fmt_int(r.get("rows_per_cpu_s")) + fmt_check(t.get("rows_per_cpu_s")),
                fmt_int(limit.get("rows_per_cpu_s")) if limit else "—",
                (f"{ratio:.2f}" if ratio is not None else "—") + fmt_check(t.get("ratio_to_limit")),
                f"{r['peak_rss_mb']:.0f}" + fmt_check(t.get("peak_rss_mb")),
                fmt_int(r.get("requests")),
                f"{r['wall_s']:.1f}",
            ]
        )
    return rows


HEADERS = [
    "stream",
    "period",
    "rows",
    "tap CPU s",
    "rows/CPU-s",
    "limit rows/CPU-s",
    "× limit",
    "peak RSS MB",
    "requests",
    "wall s",
]


def text_table(rows: list) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    lines = [
        "  ".join(
            h.rjust(w) if i > 1 else h.ljust(w) for i, (h, w) in enumerate(zip(HEADERS, widths))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(
                c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )
    return "\n".join(lines)


def markdown_table(rows: list) -> str:
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(HEADERS) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


TARGET_LINES = (
    "event streams (feature_events, events): ≥ 150,000 rows/CPU-s and ≥ 0.5 × the limit",
    "entity streams (accounts, visitors): ≥ 100,000 rows/CPU-s",
    "every stream: peak RSS ≤ 100 MB",
)


def verdicts(results: list) -> list:
    lines = []
    names = {
        "rows_per_cpu_s": "rows/CPU-s",
        "ratio_to_limit": "× limit",
        "peak_rss_mb": "peak RSS MB",
    }
    for r in results:
        for name, check in r.get("targets", {}).items():
            if check["met"] is None:
                state = "not measured"
            else:
                state = "met" if check["met"] else "MISSED"
            bound = ("≤ " if name == "peak_rss_mb" else "≥ ") + f"{check['target']:,}"
            value = check["value"]
            shown = (
                "—"
                if value is None
                else (
                    f"{value:,.2f}" if isinstance(value, float) and value < 10 else f"{value:,.0f}"
                )
            )
            lines.append(f"{r['stream']}: {names[name]} {shown} (target {bound}): {state}")
    return lines


def notes(report: dict) -> list:
    out = []
    startup = report.get("startup")
    if startup:
        out.append(
            f"Start-up of the tap (interpreter, imports, config, catalog; nothing selected): "
            f"{startup['cpu_s']:.2f} CPU s and {startup['peak_rss_mb']:.0f} MB, included in every row. "
            "Net of it: "
            + ", ".join(
                f"{r['stream']} {fmt_int(r['rows_per_cpu_s_after_startup'])} rows/CPU-s"
                for r in report["results"]
                if r.get("rows_per_cpu_s_after_startup")
            )
            + "."
        )
    for r in report["results"]:
        if len(r.get("rows_by_stream", {})) > 1:
            out.append(
                f"{r['stream']}: "
                + ", ".join(f"{n} {fmt_int(c)} rows" for n, c in r["rows_by_stream"].items())
                + "."
            )
        if r.get("warning"):
            out.append(f"Warning: {r['stream']}: {r['warning']}.")
        if r.get("error"):
            out.append(f"{r['stream']}: tap-pendo exited with {r['returncode']}.")
    return out


def render_markdown(report: dict) -> str:
    m = report["machine"]
    s = report["settings"]
    lines = [
        "# tap-pendo benchmark",
        "",
        f"Measured by `make bench` on {m['date']}: {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}, {m['os']}; ijson {m['ijson']}, orjson {m['orjson']}; "
        f"commit {m['commit']}; load average at start {', '.join(map(str, m['load_average']))}.",
        "",
        f"Fake Pendo at scale {s['scale']:g} (seed 1, {DAYS} days; featureEvents dayRange "
        f"{fmt_int(s.get('feature_event_rows'))} rows). visitor_history against a second fake "
        f"at scale {s['history_scale']:g} with {s['history_latency'] * 1000:.0f} ms of latency per request. "
        "CPU and peak RSS are the tap process's own (wait4): the round with the least CPU "
        f"of {s.get('rounds', 1)} (visitor_history: one), and the highest peak; requests "
        "are the fake's count, rows are RECORD lines. Wall time is mostly the fake's (it builds, sorts and writes "
        "every window in Python on the same cores) and depends on the machine's load. "
        "The limit pipeline (bench/limit.py: stream-parse with ijson "
        "yajl2_c, rename keys through a memo dict, write lines with orjson) reads the same "
        "responses and is measured the same way.",
        "",
        markdown_table(table_rows(report["results"])),
        "",
        "✓ / ✗: target of issue 7 met / missed. Targets: " + "; ".join(TARGET_LINES) + ".",
        "",
    ]
    lines += [f"- {line}" for line in verdicts(report["results"])]
    for note in notes(report):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------


def benchmark(args) -> dict:
    cases = [CASE_NAMES[n] for n in args.only] if args.only else list(CASES)
    cases = [c for c in CASES if c in cases]  # the usual order, once each
    report = {
        "machine": machine(),
        "settings": {
            "scale": args.scale,
            "history_scale": args.history_scale,
            "history_latency": args.history_latency,
            "days": DAYS,
            "warmup": not args.no_warmup,
            "rounds": args.repeat or 2,
        },
        "targets": TARGETS,
        "results": [],
    }
    fakes = {"main": Fake("main", args.scale)}
    if any(c.fake == "latency" for c in cases):
        fakes["latency"] = Fake("latency", args.history_scale, latency=args.history_latency)
    try:
        for fake in fakes.values():
            fake.start()
        for fake in fakes.values():
            log(f"starting the fake '{fake.name}' at scale {fake.scale:g}")
            fake.wait_ready()
            log(f"fake '{fake.name}' ready in {fake.startup_s:.1f}s at {fake.url}")
        report["settings"]["fake_startup_s"] = {
            f.name: round(f.startup_s, 1) for f in fakes.values()
        }
        catalogs = {}
        for case in cases:
            key = (case.fake, case.period)
            if key not in catalogs:
                catalogs[key] = discover(fakes[case.fake], case.period)
        log("tap start-up cost (nothing selected)")
        startup = startup_cost(fakes["main"], catalogs[(cases[0].fake, cases[0].period)])
        report["startup"] = startup
        args.startup_cpu_s = startup["cpu_s"] if startup["returncode"] == 0 else None
        for case in cases:
            result = run_case(case, fakes[case.fake], catalogs[(case.fake, case.period)], args)
            report["results"].append(result)
            if case.name == "feature_events":
                report["settings"]["feature_event_rows"] = result["rows"]
                if result["rows"] < EVENT_ROWS_WANTED and args.scale >= DEFAULT_SCALE:
                    log(
                        f"WARNING: only {result['rows']:,} feature_events rows at scale {args.scale:g}"
                    )
            log(
                f"{case.name}: {result['rows']:,} rows, {result['cpu_s']:.2f} CPU s, "
                f"{fmt_int(result['rows_per_cpu_s'])} rows/CPU-s, {result['peak_rss_mb']:.0f} MB, "
                f"{result['requests']} requests, {result['wall_s']:.1f} s"
            )
    finally:
        for fake in fakes.values():
            fake.stop()
    return report


def print_report(report: dict) -> None:
    m = report["machine"]
    print()
    print(f"tap-pendo benchmark: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}")
    print(f"fake scale {report['settings']['scale']:g}; load average at start {m['load_average']}")
    print()
    print(text_table(table_rows(report["results"])))
    print()
    print("Targets (issue 7):")
    for line in TARGET_LINES:
        print(f"  {line}")
    print()
    for line in verdicts(report["results"]):
        print(f"  {line}")
    for line in notes(report):
        print()
        print(line)


# ----------------------------------------------------------------------------
# Profile mode
# ----------------------------------------------------------------------------

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


def step_of(func: tuple) -> str | None:
    """The hot-path step of a profiled function; None for a builtin (its caller decides)."""
    filename, _, name = func
    path = filename.replace("\\", "/")
    if filename == "~" or filename.startswith("<string>"):
        # Builtins, and code the tap compiles with exec (its per-shape record functions).
        return None
    if "/tap_pendo/" in path:
        base = path.rsplit("/", 1)[-1]
        if base in ("transform.py", "timefmt.py"):
            return "transform"
        if base == "output.py":
            return "write"
        if base == "client.py":
            # ijson's C parser runs inside this generator: its time is this frame's own.
            return "parse" if name == "stream_aggregation" else "HTTP"
        return "paging & sync loop"
    if "/ijson/" in path:
        return "parse"
    if any(part in path for part in HTTP_PATHS):
        return "HTTP"
    return "other"


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


def cpu_now() -> float:
    return time.process_time()


def profile(args) -> None:
    case = CASE_NAMES.get(args.profile)
    if case is None:
        raise SystemExit(f"bench: --profile takes one of {', '.join(CASE_NAMES)}")
    stream_name = args.profile if args.profile in STREAM_NAMES else case.streams[0]
    scale = args.history_scale if case.fake == "latency" else args.scale
    latency = args.history_latency if case.fake == "latency" else 0.0
    fake = Fake(case.fake, scale, latency=latency).start()
    try:
        log(f"starting the fake at scale {scale:g}")
        fake.wait_ready()
        catalog = discover(fake, case.period)
        argv = tap_argv(
            fake, f"profile-{stream_name}", case.period, catalog, (stream_name,), case.start_date
        )
        if case.source:
            log("warming the fake (one pass over the same bodies, discarded)")
            measure(limit_argv(fake, case, raw=True), WORK / "warmup-profile.err", ())
        report = profile_in_process(argv, stream_name, args.repeat or 1)
        report["machine"] = machine()
        report["scale"] = scale
        print_profile(report, args.top)
        out = WORK / f"profile-{stream_name}.json"
        out.write_text(json.dumps({k: v for k, v in report.items() if k != "stats"}, indent=2))
        log(f"wrote {out}")
    finally:
        fake.stop()


STREAM_NAMES = ("feature_events", "events", "accounts", "visitors", "visitor_history")


def profile_in_process(argv: list, stream_name: str, repeat: int) -> dict:
    """Ablation steps, then the whole tap under cProfile, all in this process."""
    from singer.catalog import Catalog

    import tap_pendo
    from tap_pendo.client import PendoClient
    from tap_pendo.config import load_config
    from tap_pendo.output import SingerWriter
    from tap_pendo.readers import RunContext
    from tap_pendo.sync import record_plan, selection
    from tap_pendo.timefmt import now_ms

    config_path, catalog_path = argv[2], argv[4]
    config = load_config(json.loads(Path(config_path).read_text()))
    selected = selection(
        Catalog.from_dict(json.loads(Path(catalog_path).read_text())), config.period
    )
    chosen = next(s for s in selected if s.stream.name == stream_name)
    # tap_pendo.sync, the module (the package exports a function of that name).
    sync_module = sys.modules["tap_pendo.sync"]
    table = getattr(sync_module, "READERS", None) or sync_module.readers()
    reader = table[chosen.stream.kind]
    devnull = open(os.devnull, "wb")

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
        return reader(ctx, chosen.stream)

    def http_only():
        bodies.clear()
        return sum(1 for _ in rows_of(BodiesOnly)) * 0

    def parse_only():
        client = PendoClient(config)
        return sum(sum(1 for _ in client.stream_aggregation(*request)) for request in bodies)

    def pager():
        return sum(1 for item in rows_of(PendoClient) if type(item) is dict)

    def transform():
        plan, count = record_plan(chosen), 0
        for item in rows_of(PendoClient):
            if type(item) is dict:
                plan.record(item)
                count += 1
        return count

    def write():
        plan, writer, count = record_plan(chosen), SingerWriter(devnull), 0
        for item in rows_of(PendoClient):
            if type(item) is dict:
                writer.record(stream_name, plan.record(item))
                count += 1
        writer.flush()
        return count

    def whole_tap():
        with redirected(1, os.devnull):
            tap_pendo.main(argv[1:])
        return None

    steps = [
        ("HTTP: requests, bodies read and dropped", http_only),
        ("+ parse: ijson rows (PendoClient.stream_aggregation)", parse_only),
        ("+ paging: rows through the tap's pager and reader", pager),
        ("+ transform: RecordPlan.record", transform),
        ("+ write: SingerWriter.record to /dev/null", write),
        ("whole tap: tap_pendo.main (sync loop, state, progress)", whole_tap),
    ]
    ablation = []
    rows = None
    err_log = str(WORK / "profile-tap.err")
    with redirected(2, err_log):
        for label, step in steps:
            best = None
            for _ in range(repeat):
                before = cpu_now()
                count = step()
                spent = cpu_now() - before
                best = spent if best is None else min(best, spent)
            if count:
                rows = count
            ablation.append({"step": label, "cpu_s": round(best, 3), "rows": count})
        log_calls = ThreadProfiles()
        with log_calls:
            with redirected(1, os.devnull):
                tap_pendo.main(argv[1:])
    stats = log_calls.stats()
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
    print()
    print(f"Profile of {report['stream']}: {rows:,} rows, fake scale {report['scale']:g}")
    print(
        f"{report['machine']['cpu']}, {report['machine']['cores']} cores, Python {report['machine']['python']}"
    )
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


# ----------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="scale of the main fake")
    parser.add_argument("--history-scale", type=float, default=1.0)
    parser.add_argument("--history-latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--only", nargs="+", choices=sorted(CASE_NAMES), help="only these cases")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="rounds of limit and tap per case, the least CPU counting (default 2); "
        "with --profile, passes per ablation step (default 1)",
    )
    parser.add_argument("--no-limit", action="store_true", help="skip the limit pipeline")
    parser.add_argument("--no-warmup", action="store_true", help="skip the fake's warm-up pass")
    parser.add_argument("--out-dir", default=str(REPO / "bench"), help="where results.{json,md} go")
    parser.add_argument("--no-write", action="store_true", help="write no results files")
    parser.add_argument("--profile", metavar="STREAM", help="profile one stream in-process instead")
    parser.add_argument("--top", type=int, default=20, help="profile: functions listed")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(exist_ok=True)
    if args.profile:
        profile(args)
        return
    report = benchmark(args)
    print_report(report)
    if not args.no_write:
        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        (out / "results.md").write_text(render_markdown(report))
        log(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    failed = [r["stream"] for r in report["results"] if r.get("returncode")]
    if failed:
        raise SystemExit(f"bench: tap-pendo failed for {', '.join(failed)}")


if __name__ == "__main__":
    main()
