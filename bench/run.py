"""`make bench`: the installed tap-pendo against the fake Pendo, measured per stream.

    python -m bench.run                      # the full benchmark (about 7 minutes)
    python -m bench.run --scale 2 --out-dir .bench/dev   # a quick look
    python -m bench.run --only feature_events --scale 5
    python -m bench.run --only latency                    # the latency case alone
    python -m bench.run --only datasync_events            # the Data Sync case alone
    python -m bench.run --only datasync_events --datasync-rows 200000   # a smaller file
    python -m bench.run --profile feature_events          # where the CPU goes

What it does:

1. Starts the fake Pendo (`python -m tests.fake_pendo`, through
   tests/fake_pendo/process.py) at `--scale` (60 by default: featureEvents
   passes 1,000,000 dayRange rows over its 30 days), a second one at scale 1
   with 100 ms of latency per request for visitor_history, and a third at
   scale 1 with 300 ms per request for the latency case.
2. Discovers a catalog with the installed `tap-pendo`, once per fake and period.
3. Runs the installed `tap-pendo` as a subprocess, once per case, with a
   config whose start_date covers the fake's data, and measures the tap
   process alone: rows (RECORD lines counted on its stdout pipe), CPU
   (user+sys from wait4 on its pid), peak RSS (ru_maxrss from wait4),
   requests (the fake's /_fake/log, reset before the run) and wall time.
4. For the event streams, runs the "limit" pipeline (bench/limit.py) on the
   same responses, measured the same way, and prints the tap's ratio to it.
5. The latency case: a full sync of the six event streams with
   max_concurrent_requests 1, then 4; both wall times and their ratio, the
   requests, and whether each run's records equal the fake's truth.
6. The Data Sync case (bench/datasync.py): a fake Data Sync tree whose one
   allEvents file holds `--datasync-rows` rows (1,000,000 by default, written
   once and kept under .bench/), read by the installed `tap-pendo`
   (datasync_events) and by the probe (bench/datasync_probe.py, the least a
   Python reader must do) in alternating rounds, measured the same way; the
   ratio of their rows per CPU-second, and the tap's peak RSS on this file and
   on one of a fifth of the rows.
7. Prints a table beside the targets and writes bench/results.json and
   bench/results.md (which the README quotes). A run with `--only` keeps the
   results of the other cases from the results.json it replaces (each result
   says when it was measured).

Before each measured event run the fake is warmed with one pass that reads
the same bodies and discards them (`--no-warmup` skips it), so that the tap
and the limit both read from a fake that serves from its cache.

`--profile STREAM` runs the tap in this process instead, on the same
responses, and says where its CPU goes per step of the hot path: first by
ablation (HTTP alone, + parse, + transform, + write, whole tap; each without
a profiler), then under cProfile (per-thread CPU clock), grouped by step.

Modules: cases (what is measured), measure (one process: CPU, RSS, rows),
runner (a case's rounds, its targets), datasync (the Data Sync case), check
(records against the truth), report (table, results files), profile, limit
(the limit pipeline), datasync_probe (the probe).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .cases import (
    CASE_NAMES,
    DATASYNC_CODEC,
    DATASYNC_ROWS,
    DAYS,
    DEFAULT_SCALE,
    EVENT_ROWS_WANTED,
    REPO,
    TARGETS,
    WALL_RATIO_TARGET,
    WORK,
    chosen,
    fakes,
)
from .datasync import run_datasync_case
from .report import fmt_int, machine, print_report, write_results
from .runner import discover, latency_summary, log, run_case, startup_cost


def benchmark(args) -> dict:
    cases = chosen(args.only)
    report = {
        "machine": machine(),
        "settings": {
            "scale": args.scale,
            "history_scale": args.history_scale,
            "history_latency": args.history_latency,
            "latency_delay": args.latency_delay,
            "days": DAYS,
            "warmup": not args.no_warmup,
            "rounds": args.repeat or 2,
            "datasync_rows": args.datasync_rows,
            "datasync_codec": args.datasync_codec,
        },
        "targets": {**TARGETS, "latency_wall_ratio": WALL_RATIO_TARGET},
        "results": [],
    }
    api_cases = [c for c in cases if c.kind != "datasync"]
    servers = fakes(args, api_cases)
    report["settings"]["fakes"] = list(servers) + (
        ["datasync"] if len(api_cases) < len(cases) else []
    )
    args.startup_cpu_s = None
    try:
        for fake in servers.values():
            fake.start()  # the fakes build their datasets at the same time
        for name, fake in servers.items():
            log(f"starting the fake '{name}' at scale {fake.scale:g}")
            fake.wait_ready()
            log(f"fake '{name}' ready in {fake.startup_s:.1f}s at {fake.url}")
        report["settings"]["fake_startup_s"] = {
            name: round(f.startup_s, 1) for name, f in servers.items()
        }
        catalogs: dict = {}
        for case in api_cases:
            if (case.fake, case.period) not in catalogs:
                catalogs[case.fake, case.period] = discover(servers[case.fake], case.period)
        if api_cases:
            log("tap start-up cost (nothing selected)")
            first = api_cases[0]
            startup = startup_cost(servers[first.fake], catalogs[first.fake, first.period])
            report["startup"] = startup
            args.startup_cpu_s = startup["cpu_s"] if startup["returncode"] == 0 else None
        for case in cases:
            if case.kind == "datasync":
                result = run_datasync_case(case, args)
            else:
                fake = servers[case.fake]
                result = run_case(case, fake, catalogs[case.fake, case.period], args)
            report["results"].append(result)
            if case.name == "feature_events":
                report["settings"]["feature_event_rows"] = result["rows"]
                if result["rows"] < EVENT_ROWS_WANTED and args.scale >= DEFAULT_SCALE:
                    log(f"WARNING: only {result['rows']:,} feature_events rows at {args.scale:g}")
            log(
                f"{case.name}: {result['rows']:,} rows, {result['cpu_s']:.2f} CPU s, "
                f"{fmt_int(result['rows_per_cpu_s'])} rows/CPU-s, {result['peak_rss_mb']:.0f} MB, "
                f"{fmt_int(result['requests'])} requests, {result['wall_s']:.1f} s"
                + (
                    f", {result['ratio_to_probe']:.2f} × the probe"
                    if "ratio_to_probe" in result
                    else ""
                )
            )
    finally:
        for fake in servers.values():
            fake.stop()
    latency = latency_summary(report["results"], args.latency_delay)
    if latency:
        report["latency"] = latency
    return report


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="scale of the main fake")
    parser.add_argument("--history-scale", type=float, default=1.0)
    parser.add_argument("--history-latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument(
        "--latency-delay",
        type=float,
        default=0.3,
        help="the latency case: seconds the fake waits before each answer",
    )
    parser.add_argument(
        "--datasync-rows",
        type=int,
        default=DATASYNC_ROWS,
        help="rows of the Data Sync case's Avro file (written once, kept under .bench/)",
    )
    parser.add_argument(
        "--datasync-codec",
        choices=("snappy", "deflate", "null"),
        default=DATASYNC_CODEC,
        help="the Avro codec of that file",
    )
    parser.add_argument("--only", nargs="+", choices=sorted(CASE_NAMES), help="only these cases")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="rounds of limit (or probe) and tap per case, the least CPU counting (default 2); "
        "with --profile, passes per ablation step (default 1)",
    )
    parser.add_argument(
        "--no-limit", action="store_true", help="skip the limit pipeline (and the probe)"
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the fake's (or the file's) warm-up pass"
    )
    parser.add_argument("--out-dir", default=str(REPO / "bench"), help="where results.{json,md} go")
    parser.add_argument("--no-write", action="store_true", help="write no results files")
    parser.add_argument("--profile", metavar="STREAM", help="profile one stream in-process instead")
    parser.add_argument("--top", type=int, default=20, help="profile: functions listed")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(exist_ok=True)
    if args.profile:
        from .profile import profile

        profile(args)
        return
    report = benchmark(args)
    print_report(report)
    if not args.no_write:
        paths, kept = write_results(report, Path(args.out_dir), keep_others=bool(args.only))
        log(f"wrote {' and '.join(map(str, paths))}")
        if kept:
            log(f"kept the earlier results of {', '.join(kept)} (see results.md)")
    failed = [r["stream"] for r in report["results"] if r.get("returncode")]
    if failed:
        raise SystemExit(f"bench: tap-pendo failed for {', '.join(failed)}")


if __name__ == "__main__":
    main()
