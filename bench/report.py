"""Reporting: the table (printed and in markdown), the verdicts, results.json and results.md."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

from . import check
from .cases import CASES, DAYS, LATENCY_IN_FLIGHT, REPO, TARGET_LINES

HEADERS = [
    "stream",
    "period",
    "rows",
    "tap CPU s",
    "rows/CPU-s",
    "limit/probe rows/CPU-s",
    "× limit/probe",
    "peak RSS MB",
    "requests",
    "wall s",
]
TARGET_NAMES = {
    "rows_per_cpu_s": "rows/CPU-s",
    "ratio_to_limit": "× limit",
    "ratio_to_probe": "× probe",
    "peak_rss_mb": "peak RSS MB",
}


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
        # The API event streams' reference is the limit pipeline; Data Sync's, the probe.
        ratio = r.get("ratio_to_limit", r.get("ratio_to_probe"))
        ratio_target = t.get("ratio_to_limit", t.get("ratio_to_probe"))
        limit = r.get("limit") or r.get("probe") or {}
        rows.append(
            [
                r["stream"],
                r["period"],
                fmt_int(r.get("rows")),
                f"{r['cpu_s']:.2f}",
                fmt_int(r.get("rows_per_cpu_s")) + fmt_check(t.get("rows_per_cpu_s")),
                fmt_int(limit.get("rows_per_cpu_s")) if limit else "—",
                (f"{ratio:.2f}" if ratio is not None else "—") + fmt_check(ratio_target),
                f"{r['peak_rss_mb']:.0f}" + fmt_check(t.get("peak_rss_mb")),
                fmt_int(r.get("requests")),
                f"{r['wall_s']:.1f}",
            ]
        )
    return rows


def text_table(rows: list) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]

    def line(cells) -> str:
        return "  ".join(
            c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    return "\n".join([line(HEADERS), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(rows: list) -> str:
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(HEADERS) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def verdict(what: str, value, target: dict, at_most: bool) -> str:
    """`what value (target ≥ bound): met`."""
    if target["met"] is None:
        state = "not measured"
    else:
        state = "met" if target["met"] else "MISSED"
    bound = ("≤ " if at_most else "≥ ") + f"{target['target']:,}"
    if value is None:
        shown = "—"
    elif isinstance(value, float) and value < 10:
        shown = f"{value:,.2f}"
    else:
        shown = f"{value:,.0f}"
    return f"{what} {shown} (target {bound}): {state}"


def verdicts(report: dict) -> list:
    lines = []
    for r in report["results"]:
        for name, target in r.get("targets", {}).items():
            what = f"{r['stream']}: {TARGET_NAMES[name]}"
            lines.append(verdict(what, target["value"], target, name == "peak_rss_mb"))
    ratio = (report.get("latency") or {}).get("wall_ratio")
    if ratio:
        low, high = LATENCY_IN_FLIGHT
        what = f"latency: wall time at {high} in flight / at {low}"
        lines.append(verdict(what, ratio["value"], ratio, at_most=True))
    return lines


def latency_lines(report: dict) -> list:
    """The latency case in a few lines: each run's wall time, requests and truth; the ratio."""
    summary = report.get("latency")
    if not summary:
        return []
    lines = [
        f"Latency (issue 12): a fake at scale 1 answering every request after "
        f"{summary['latency_s'] * 1000:.0f} ms; a full sync of the six event streams "
        f"(dayRange, {DAYS} days) with max_concurrent_requests {' and '.join(summary['runs'])}:"
    ]
    results = {
        str(r["config"]["max_concurrent_requests"]): r
        for r in report["results"]
        if r["kind"] == "latency"
    }
    for in_flight, run in summary["runs"].items():
        truth = results[in_flight].get("truth")
        said = "not compared" if truth is None else check.summary(truth)
        failed = f", tap-pendo exited with {run['returncode']}" if run["returncode"] else ""
        lines.append(
            f"- {in_flight} in flight: {run['wall_s']:.1f} s wall, {fmt_int(run['requests'])} "
            f"requests, {fmt_int(run['rows'])} rows{failed}; records against the fake's truth: "
            f"{said}"
        )
    ratio = summary.get("wall_ratio")
    if ratio:
        state = "met" if ratio["met"] else "MISSED"
        lines.append(
            f"- wall time at {LATENCY_IN_FLIGHT[1]} / at {LATENCY_IN_FLIGHT[0]}: "
            f"{ratio['value']:.2f} (target ≤ {ratio['target']}): {state}"
        )
    return lines


def datasync_note(r: dict) -> str:
    """The Data Sync case in a paragraph: the file, the probe, the rounds, the start-up, the
    peak RSS at two sizes."""
    f, probe = r["file"], r.get("probe")
    beside = (
        " and the probe (bench/datasync_probe.py: fastavro, snake_case, RFC3339 dates, one "
        "orjson line a row) on the same file,"
        if probe
        else " (the probe skipped) on"
    )
    text = (
        f"{r['stream']} (Data Sync): the installed tap (datasync_url, start_date 2000-01-01, "
        f"datasync_events selected){beside} {f['path']}: {fmt_int(f['rows'])} rows, "
        f"{f['mb']:g} MB ({f['codec']}). "
    )
    if probe:
        rss = f"{probe['peak_rss_mb']:.0f} MB"
        if probe["peak_rss_mb"] <= probe.get("rss_floor_mb", 0) + 1:
            rss = f"at most {rss} (the bench's own peak at the start: bench/measure.py)"
        text += (
            f"Probe: {fmt_int(probe['rows'])} rows, {probe['cpu_s']:.2f} CPU s, "
            f"{fmt_int(probe['rows_per_cpu_s'])} rows/CPU-s, peak RSS {rss}, "
            f"{probe['wall_s']:.1f} s wall. "
        )
    text += (
        f"Tap: {fmt_int(r['rows'])} rows, {r['cpu_s']:.2f} CPU s, "
        f"{fmt_int(r['rows_per_cpu_s'])} rows/CPU-s, {r['wall_s']:.1f} s wall. CPU s of the "
        f"rounds: tap {r.get('cpu_s_of_rounds')}"
    )
    if probe:
        text += (
            f", probe {probe.get('cpu_s_of_rounds')}; tap/probe per round "
            f"{r.get('ratio_of_rounds')}"
        )
    text += "."
    startup = r.get("startup")
    if startup and startup.get("returncode") == 0:
        text += (
            f" Start-up of the tap with this config (nothing selected): "
            f"{startup['cpu_s']:.2f} CPU s, {startup['peak_rss_mb']:.0f} MB, included in its "
            f"figures and in the ratio; net of it "
            f"{fmt_int(r.get('rows_per_cpu_s_after_startup'))} rows/CPU-s."
        )
    check = r.get("memory_check")
    if check:
        text += (
            f" Peak RSS of the tap: {r['peak_rss_mb']:.0f} MB on {fmt_int(r['rows'])} rows, "
            f"{check['peak_rss_mb']:.0f} MB on {fmt_int(check['rows'])} rows "
            f"({check['file_mb']:g} MB)."
        )
    return text


def notes(report: dict) -> list:
    out = []
    startup = report.get("startup")
    if startup:
        net = [
            f"{r['stream']} {fmt_int(r['rows_per_cpu_s_after_startup'])} rows/CPU-s"
            for r in report["results"]
            if r.get("rows_per_cpu_s_after_startup") and r["kind"] not in ("latency", "datasync")
        ]
        out.append(
            f"Start-up of the tap (interpreter, imports, config, catalog; nothing selected): "
            f"{startup['cpu_s']:.2f} CPU s and {startup['peak_rss_mb']:.0f} MB, included in every "
            "row of the API streams." + (" Net of it: " + ", ".join(net) + "." if net else "")
        )
    for r in report["results"]:
        if r["kind"] == "datasync" and "file" in r:
            out.append(datasync_note(r))
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


def describe(report: dict) -> str:
    """What ran against what, and how the figures are taken: the paragraph above the table."""
    s = report["settings"]
    used = s.get("fakes", ["main", "history", "latency"])
    fakes = []
    if "main" in used:
        fakes.append(
            f"Fake Pendo at scale {s['scale']:g} (seed 1, {DAYS} days; featureEvents dayRange "
            f"{fmt_int(s.get('feature_event_rows'))} rows)."
        )
    if "history" in used:
        fakes.append(
            f"visitor_history against a fake at scale {s['history_scale']:g} with "
            f"{s['history_latency'] * 1000:.0f} ms of latency per request."
        )
    if "latency" in used:
        fakes.append(
            f"The latency case against a fake at scale 1 with {s['latency_delay'] * 1000:.0f} ms."
        )
    if "datasync" in used:
        fakes.append(
            f"datasync_events reads a fake Data Sync export whose one allEvents file holds "
            f"{fmt_int(s.get('datasync_rows'))} rows ({s.get('datasync_codec')}), beside the "
            "probe (bench/datasync_probe.py) on the same file: its figures are in the "
            "limit/probe columns."
        )
    return " ".join(fakes) + (
        " CPU and peak RSS are the tap process's own (wait4): the round with the least CPU "
        f"of {s.get('rounds', 1)} (visitor_history and the latency case: one), and the highest "
        "peak; requests are the fake's count, rows are RECORD lines. Wall time is mostly the "
        "fake's (it builds, sorts and writes every window in Python on the same cores) and "
        "depends on the machine's load. The limit pipeline (bench/limit.py: stream-parse with "
        "ijson yajl2_c, rename keys through a memo dict, write lines with orjson) reads the "
        "same responses, with the tap's windowing, and is measured the same way."
    )


def render_markdown(report: dict) -> str:
    m = report["machine"]
    ran = [
        r["stream"]
        for r in report["results"]
        if r.get("measured", {}).get("date", m["date"]) == m["date"]
    ]
    who = "Measured by `make bench`"
    if len(ran) < len(report["results"]):
        who = f"{', '.join(ran)}: measured by `make bench` with `--only` (the rest below)"
    lines = [
        "# tap-pendo benchmark",
        "",
        f"{who} on {m['date']}: {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}, {m['os']}; ijson {m['ijson']}, orjson {m['orjson']}; "
        f"commit {m['commit']}; load average at start {', '.join(map(str, m['load_average']))}.",
        "",
        describe(report),
        "",
        markdown_table(table_rows(report["results"])),
        "",
        "✓ / ✗: target met / missed. Targets (issue 7 unless said): "
        + "; ".join(TARGET_LINES)
        + ".",
        "",
    ]
    lines += [f"- {line}" for line in verdicts(report)]
    latency = latency_lines(report)
    if latency:
        lines += ["", *latency]
    for note in notes(report):
        lines += ["", note]
    for note in measured_apart(report):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def print_report(report: dict) -> None:
    m = report["machine"]
    print()
    print(f"tap-pendo benchmark: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}")
    settings = report["settings"]
    used = settings.get("fakes", ["main"])
    said = []
    if any(name != "datasync" for name in used):
        said.append(f"fake scale {settings['scale'] if 'main' in used else 1:g}")
    if "datasync" in used:
        said.append(
            f"Data Sync file of {fmt_int(settings['datasync_rows'])} rows "
            f"({settings['datasync_codec']})"
        )
    print(f"{'; '.join(said)}; load average at start {m['load_average']}")
    print()
    print(text_table(table_rows(report["results"])))
    print()
    print("Targets (issue 7 unless said):")
    for line in TARGET_LINES:
        print(f"  {line}")
    print()
    for line in verdicts(report):
        print(f"  {line}")
    latency = latency_lines(report)
    if latency:
        print()
        print("\n".join(latency))
    for line in notes(report):
        print()
        print(line)


# ------------------------------------------------------------ results files, partial runs

# The settings that belong to each fake: kept from the previous results with its cases.
FAKE_SETTINGS = {
    "main": ("scale", "feature_event_rows"),
    "history": ("history_scale", "history_latency"),
    "latency": ("latency_delay",),
    "datasync": ("datasync_rows", "datasync_codec"),
}


def when(machine_: dict) -> dict:
    """When and on what a result was measured."""
    keys = ("date", "commit", "load_average", "cpu", "cores", "python")
    return {key: machine_.get(key) for key in keys}


def merged(report: dict, previous: dict) -> tuple:
    """A run with `--only` and, from the results.json it replaces, the results of the cases
    it did not run: (the report to write, the cases kept). Each result says when and on
    what it was measured (results.md says it of those kept)."""
    for r in report["results"]:
        r.setdefault("measured", when(report["machine"]))
    ran = {r["stream"] for r in report["results"]}
    kept = [r for r in previous.get("results", ()) if r["stream"] not in ran]
    if not kept:
        return report, []
    for r in kept:
        r.setdefault("measured", when(previous["machine"]))
    order = [case.name for case in CASES]
    results = sorted(
        report["results"] + kept,
        key=lambda r: order.index(r["stream"]) if r["stream"] in order else len(order),
    )
    settings, before = dict(report["settings"]), previous.get("settings", {})
    used = set(settings.get("fakes", ())) | set(before.get("fakes", ()))
    for fake, keys in FAKE_SETTINGS.items():
        if fake not in settings.get("fakes", ()) and fake in before.get("fakes", ()):
            settings.update({key: before[key] for key in keys if key in before})
    settings["fakes"] = [fake for fake in FAKE_SETTINGS if fake in used]
    startups = {**before.get("fake_startup_s", {}), **settings.get("fake_startup_s", {})}
    if startups:
        settings["fake_startup_s"] = startups
    out = {**report, "settings": settings, "results": results}
    for key in ("startup", "latency"):
        if key not in out and key in previous:
            out[key] = previous[key]
    return out, [r["stream"] for r in kept]


def measured_apart(report: dict) -> list:
    """A line per earlier run whose results a run with `--only` kept."""
    this = report["machine"]
    runs: dict = {}
    for r in report["results"]:
        at = r.get("measured")
        if at and at["date"] != this["date"]:
            runs.setdefault(json.dumps(at, sort_keys=True), []).append(r["stream"])
    lines = []
    for key, names in runs.items():
        at = json.loads(key)
        where = ""
        if at.get("cpu") and (at["cpu"], at["cores"]) != (this["cpu"], this["cores"]):
            where = f" on another machine ({at['cpu']}, {at['cores']} cores, Python {at['python']})"
        lines.append(
            f"Kept from an earlier run (this one ran with `--only`): {', '.join(names)}, "
            f"measured on {at['date']}{where}, commit {at['commit']}, load average at start "
            f"{', '.join(map(str, at.get('load_average') or ()))}."
        )
    return lines


def write_results(report: dict, out: Path, keep_others: bool = False) -> tuple:
    """results.json and results.md in `out`: (their paths, the cases kept). With
    `keep_others` (a run with `--only`), the results of the other cases are kept from the
    results.json there."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "results.md"]
    kept: list = []
    if keep_others and paths[0].exists():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            report, kept = merged(report, json.loads(paths[0].read_text()))
    for r in report["results"]:
        r.setdefault("measured", when(report["machine"]))
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(render_markdown(report))
    return paths, kept
