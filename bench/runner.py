"""Running the cases: warm-up, rounds of limit and tap, the best round, the targets."""

from __future__ import annotations

import sys

from tests.fake_pendo.process import FakeProcess

from . import check
from .cases import (
    LATENCY_IN_FLIGHT,
    STARTUP,
    TARGETS,
    WALL_RATIO_TARGET,
    WORK,
    Case,
    discover_argv,
    limit_argv,
    start_ms,
    tap_argv,
)
from .measure import MB, best_of, measure, run_json, stderr_tail


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def discover(fake: FakeProcess, period: str) -> dict:
    """The catalog the installed tap-pendo discovers on `fake`."""
    return run_json(discover_argv(fake, period), "tap-pendo --discover")


def measure_tap(case: Case, fake: FakeProcess, argv: list, keep=None) -> dict:
    """One run of the tap, with the fake's count of its requests."""
    fake.reset_log()
    tap = measure(argv, WORK / f"tap-{case.slug}.err", case.streams, keep=keep)
    fake_log = fake.log()
    tap["requests"] = fake_log["total"]
    tap["requests_by_kind"] = {k: v for k, v in fake_log["requests"].items() if v}
    tap["requests_by_source"] = {k: v for k, v in fake_log.get("sources", {}).items() if v}
    if "time_series" in fake_log:
        tap["time_series"] = fake_log["time_series"]
    tap["response_mb"] = round(fake_log.get("bytes_sent", 0) / MB, 1)
    if tap["returncode"] != 0:
        tap["error"] = stderr_tail(WORK / f"tap-{case.slug}.err")
        log(f"{case.name}: tap-pendo FAILED ({tap['returncode']}):\n{tap['error']}")
    return tap


def measure_limit(case: Case, fake: FakeProcess) -> dict:
    fake.reset_log()
    err = WORK / f"limit-{case.slug}.err"
    limit = measure(limit_argv(fake, case), err, case.streams)
    limit["requests"] = fake.log()["total"]
    if limit["returncode"] != 0:
        raise SystemExit(f"bench: the limit pipeline failed:\n{stderr_tail(err)}")
    return limit


def run_case(case: Case, fake: FakeProcess, catalog: dict, args) -> dict:
    """Warm the fake, then rounds of limit and tap; the round with least CPU of each counts.

    CPU time on a shared machine varies by 10 % or more from run to run; the
    run that took least CPU is the one least disturbed. Cases bound by the
    fake's latency run once.
    """
    result: dict = {"stream": case.name, "streams": list(case.streams), "period": case.period}
    result["kind"] = case.kind
    if case.config:
        result["config"] = case.config
    if case.source and not args.no_warmup:
        log(f"{case.name}: warming the fake (one pass over the same bodies, discarded)")
        warm = measure(limit_argv(fake, case, discard=True), WORK / f"warmup-{case.slug}.err", ())
        result["warmup_wall_s"] = warm["wall_s"]
    rounds = case.rounds or max(1, args.repeat or 2)
    limits, taps = [], []
    argv = tap_argv(fake, case, catalog)
    keep = WORK / f"output-{case.slug}.jsonl" if case.check_truth else None
    for number in range(1, rounds + 1):
        if case.source and not args.no_limit:
            log(f"{case.name}: limit pipeline ({number}/{rounds})")
            limits.append(measure_limit(case, fake))
        log(f"{case.name}: tap-pendo ({number}/{rounds})")
        taps.append(measure_tap(case, fake, argv, keep))
        if taps[-1]["returncode"] != 0:
            break
    tap = best_of(taps)
    result.update(tap)
    result["cpu_s_of_rounds"] = [t["cpu_s"] for t in taps]
    result["peak_rss_mb"] = max(t["peak_rss_mb"] for t in taps)
    if result["peak_rss_mb"] <= tap.get("rss_floor_mb", 0) + 1:
        result["warning"] = (
            f"peak RSS {result['peak_rss_mb']} MB is the bench's own peak at the start "
            "(see bench/measure.py), not the tap's"
        )
    if limits:
        result["limit"] = best_of(limits)
        result["limit"]["cpu_s_of_rounds"] = [t["cpu_s"] for t in limits]
    if "limit" in result and result["limit"]["rows_per_cpu_s"] and tap["rows_per_cpu_s"]:
        limit = result["limit"]
        result["ratio_to_limit"] = round(tap["rows_per_cpu_s"] / limit["rows_per_cpu_s"], 3)
        if limit["rows"] != tap["rows"]:
            result["warning"] = (
                f"the limit pipeline read {limit['rows']} rows, the tap {tap['rows']}"
            )
            log(f"{case.name}: WARNING: {result['warning']}")
    if keep and tap["returncode"] == 0:
        log(f"{case.name}: records against the fake's truth")
        result["truth"] = check.in_subprocess(fake, keep, case.streams, case.period, start_ms(fake))
        log(f"{case.name}: records {check.summary(result['truth'])}")
    if args.startup_cpu_s is not None and tap["cpu_s"] > args.startup_cpu_s:
        result["rows_per_cpu_s_after_startup"] = round(
            tap["rows"] / (tap["cpu_s"] - args.startup_cpu_s)
        )
    result["targets"] = check_targets(case, result)
    return result


def check_targets(case, result: dict) -> dict:
    """Each target of the case (its kind's, and its own): the figure, the bound and whether
    it is met."""
    checks = {}
    for name, bound in {**TARGETS[case.kind], **case.targets}.items():
        value = result.get(name)
        met = (
            None if value is None else (value <= bound if name == "peak_rss_mb" else value >= bound)
        )
        checks[name] = {"value": value, "target": bound, "met": met}
    return checks


def latency_summary(results: list, delay: float) -> dict | None:
    """The latency case's two runs side by side: wall times, their ratio, requests, truth."""
    runs = {r["config"]["max_concurrent_requests"]: r for r in results if r["kind"] == "latency"}
    if not runs:
        return None
    low, high = LATENCY_IN_FLIGHT
    summary: dict = {"latency_s": delay, "runs": {}}
    for in_flight, r in sorted(runs.items()):
        summary["runs"][str(in_flight)] = {
            "wall_s": r["wall_s"],
            "requests": r["requests"],
            "rows": r["rows"],
            "returncode": r["returncode"],
            "records_equal_truth": r.get("truth", {}).get("equal"),
        }
    if low in runs and high in runs and runs[low]["wall_s"] > 0:
        ratio = round(runs[high]["wall_s"] / runs[low]["wall_s"], 3)
        summary["wall_ratio"] = {
            "value": ratio,
            "target": WALL_RATIO_TARGET,
            "met": ratio <= WALL_RATIO_TARGET,
        }
    return summary


def startup_cost(fake: FakeProcess, catalog: dict, rounds: int = 3) -> dict:
    """The tap with nothing selected: interpreter, imports, config and catalog (best of 3)."""
    argv = tap_argv(fake, STARTUP, catalog)
    return best_of([measure(argv, WORK / "tap-startup.err", ()) for _ in range(rounds)])
