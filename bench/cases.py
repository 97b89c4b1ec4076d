"""What the benchmark measures: the cases, the fakes they run against, their configs, the targets."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_pendo.process import FakeProcess
from tests.support.tap import select as select_catalog

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".bench"  # configs, catalogs, stderr of each run, the fakes' logs
TAP = str(Path(sys.executable).parent / "tap-pendo")
KEY = "bench-key"
DAY_MS = 86_400_000

# featureEvents (dayRange) over 30 days passes 1,000,000 rows from scale 55, with
# 1.14 million at 60 (tests/fake_pendo/dataset.py says so; the run checks it).
DEFAULT_SCALE = 60.0
EVENT_ROWS_WANTED = 1_000_000
DAYS = 30

EVENT_STREAMS = (
    "events",
    "feature_events",
    "page_events",
    "track_events",
    "guide_events",
    "poll_events",
)
LATENCY_IN_FLIGHT = (1, 4)  # max_concurrent_requests of the two latency runs

# The Data Sync case: one export whose allEvents file holds this many rows (snappy: the
# codec costs both readers the same, under 1 µs a row; see bench/datasync.py).
DATASYNC_ROWS = 1_000_000
DATASYNC_CODEC = "snappy"

# Issue 7's targets, issue 12's for the latency case, and the Data Sync case's.
TARGETS = {
    "event": {"rows_per_cpu_s": 150_000, "ratio_to_limit": 0.5, "peak_rss_mb": 100},
    "entity": {"rows_per_cpu_s": 100_000, "peak_rss_mb": 100},
    "history": {"peak_rss_mb": 100},
    "latency": {"peak_rss_mb": 100},
    "datasync": {"ratio_to_probe": 0.8, "peak_rss_mb": 150},
}
WALL_RATIO_TARGET = 0.4  # wall time at 4 in flight over wall time at 1, at most
TARGET_LINES = (
    "event streams (feature_events, events): ≥ 150,000 rows/CPU-s and ≥ 0.5 × the limit; "
    "feature_events ≥ 0.8 × the limit (issue 12)",
    "entity streams (accounts, visitors): ≥ 100,000 rows/CPU-s",
    "every API stream: peak RSS ≤ 100 MB",
    "datasync_events (Data Sync): ≥ 0.8 × the probe, start-up included; peak RSS ≤ 150 MB",
    f"latency: wall time at {LATENCY_IN_FLIGHT[1]} in flight ≤ {WALL_RATIO_TARGET} × at "
    f"{LATENCY_IN_FLIGHT[0]} (issue 12)",
)


@dataclass(frozen=True)
class Case:
    """One measured run of the tap."""

    name: str
    streams: tuple
    period: str
    kind: str  # event, entity, history, latency or datasync: which targets apply
    fake: str = "main"  # main, history, latency (see fakes()) or datasync (bench/datasync.py)
    source: str | None = None  # the aggregation source of the limit pipeline
    # The config's start_date; None: two days before the fake's 30 days of activity.
    # Entities were last updated up to 430 days before, so their first full sync
    # starts long before.
    start_date: str | None = None
    config: dict = field(default_factory=dict)  # added to the config
    group: str = ""  # `--only` name of cases that run together, if not `name`
    check_truth: bool = False  # compare the records with the fake's truth
    rounds: int | None = None  # None: `--repeat`
    targets: dict = field(default_factory=dict)  # this case's own, over its kind's

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in self.name)


def latency_case(in_flight: int) -> Case:
    return Case(
        f"6 event streams, {in_flight} in flight",
        EVENT_STREAMS,
        "dayRange",
        "latency",
        fake="latency",
        config={"max_concurrent_requests": in_flight},
        group="latency",
        check_truth=True,
        rounds=1,
    )


CASES = (
    Case(
        "feature_events",
        ("feature_events",),
        "dayRange",
        "event",
        source="featureEvents",
        targets={"ratio_to_limit": 0.8},  # issue 12
    ),
    Case("events", ("events",), "hourRange", "event", source="events"),
    Case(
        "accounts+visitors",
        ("accounts", "visitors"),
        "dayRange",
        "entity",
        start_date="2000-01-01T00:00:00Z",
    ),
    # Bound by the fake's latency: one round.
    Case("visitor_history", ("visitor_history",), "dayRange", "history", fake="history", rounds=1),
    *(latency_case(n) for n in LATENCY_IN_FLIGHT),
    # The installed tap on a fake Data Sync tree, beside the probe: bench/datasync.py.
    Case("datasync_events", ("datasync_events",), "—", "datasync", fake="datasync"),
)


def by_name() -> dict:
    """`--only` names: each case's name or group, and each stream of a throughput case."""
    names: dict = {}
    for case in CASES:
        names.setdefault(case.group or case.name, []).append(case)
        if case.kind != "latency" and len(case.streams) > 1:
            for stream in case.streams:
                names.setdefault(stream, []).append(case)
    return names


CASE_NAMES = by_name()


def chosen(only) -> list:
    """The cases of `--only` (all by default), in the usual order, once each."""
    wanted = {id(c) for name in only for c in CASE_NAMES[name]} if only else None
    return [c for c in CASES if wanted is None or id(c) in wanted]


def fakes(args, cases) -> dict:
    """The fake Pendo services the cases need, not started: name -> FakeProcess (the
    Data Sync case reads files: bench/datasync.py writes them)."""
    settings = {
        "main": {"scale": args.scale},
        "history": {"scale": args.history_scale, "latency": args.history_latency},
        "latency": {"scale": 1.0, "latency": args.latency_delay},
    }
    needed = dict.fromkeys(c.fake for c in cases)
    return {
        name: FakeProcess(key=KEY, seed=1, days=DAYS, stderr=WORK / f"fake-{name}.log", **kwargs)
        for name, kwargs in settings.items()
        if name in needed
    }


# ---------------------------------------------------------------------------- configs


def ms_to_iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def start_ms(fake: FakeProcess) -> int:
    """The config's start_date: two days before the fake's activity, in whole seconds."""
    return (fake.started_ms // 1000) * 1000 - (fake.days + 2) * DAY_MS


def config(fake: FakeProcess, period: str, start_date: str | None = None, **extra) -> dict:
    return {
        "x_pendo_integration_key": fake.key,
        "api_url": fake.url,
        "start_date": start_date or ms_to_iso(start_ms(fake)),
        "period": period,
        **extra,
    }


def write_json(path: Path, value) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def discover_argv(fake: FakeProcess, period: str) -> list:
    port = fake.url.rsplit(":", 1)[-1]
    path = write_json(WORK / f"config-discover-{port}-{period}.json", config(fake, period))
    return [TAP, "--config", path, "--discover"]


def tap_argv(fake: FakeProcess, case: Case, catalog: dict, slug: str | None = None) -> list:
    """The tap's command line for `case`; its config and catalog written to .bench/."""
    slug = slug or case.slug
    settings = config(fake, case.period, case.start_date, **case.config)
    selected = select_catalog(catalog, case.streams)
    return [
        TAP,
        "--config",
        write_json(WORK / f"config-{slug}.json", settings),
        "--catalog",
        write_json(WORK / f"catalog-{slug}.json", selected),
    ]


def limit_argv(fake: FakeProcess, case: Case, discard: bool = False) -> list:
    """bench/limit.py on the same rows as the tap in `case`."""
    argv = [sys.executable, str(REPO / "bench" / "limit.py"), "--url", fake.url, "--key", fake.key]
    argv += ["--source", case.source, "--stream", case.streams[0], "--period", case.period]
    argv += ["--start-ms", str(start_ms(fake))]
    return argv + (["--discard"] if discard else [])


STARTUP = Case("startup", (), "dayRange", "event")  # nothing selected: the tap's start-up
