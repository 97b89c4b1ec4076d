"""The tap's Data Sync rows path beside the probe, on one Avro file of event rows.

Writes (once, kept) an `allevents` file of `--rows` event rows with the fields of the
data contract's table (docs/DATA-CONTRACT.md, ../shared/pendo-datasync.md), under a
`datasync/` tree, then runs, alternately and `--rounds` times each, as subprocesses
measured by bench.measure (CPU and peak RSS from wait4, RECORD lines counted):

- the probe: `bench/datasync_probe.py` on the file;
- the tap's side: `tap_pendo.datasync` (open_store, rows with app_id and
  export_counter) and RECORD lines framed as the tap's output layer frames them.

It prints the best round of each (least CPU), rows per CPU-second, the ratio of the
tap's to the probe's, and peak RSS. The tap must reach 0.8 x the probe.

    python -m bench.datasync_ab [--rows 1000000] [--codec deflate] [--rounds 2]
"""

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STREAM = "datasync_events"
APP_ID = -323232
EXPORT_COUNTER = 7
FIRST_DAY = 20787  # 2026-11-30
DAY_MS = 86_400_000


def event_schema() -> dict:
    """The writer schema of an allevents file, from the contract's table of event fields."""

    def nullable(kind):
        return ["null", kind]

    fields = [
        ("periodId", {"type": "int", "logicalType": "date"}),
        ("eventId", "string"),
        ("browserTimestamp", {"type": "long", "logicalType": "timestamp-millis"}),
        ("visitorId", "string"),
        ("accountId", "string"),
        ("eventType", "string"),
        ("eventClass", "string"),
        ("eventSource", "string"),
    ]
    strings = "server url remoteIp userAgent country region language elementPath"
    fields += [(name, nullable("string")) for name in strings.split()]
    fields += [("latitude", nullable("double")), ("longitude", nullable("double"))]
    strings = (
        "uiElementId uiElementType uiElementText uiElementActions guideId guideStepId "
        "guideSessionId guideSeenReason destinationStepId"
    )
    fields += [(name, nullable("string")) for name in strings.split()]
    longs = "guideSeenTimeoutMs guideSnoozeDurationMs loadDurationMs"
    fields += [(name, nullable("long")) for name in longs.split()]
    strings = "pollId pollType pollResponse oldVisitorId trackTypeName propertiesJson"
    fields += [(name, nullable("string")) for name in strings.split()]
    return {
        "type": "record",
        "name": "Event",
        "namespace": "io.pendo.datasync",
        "fields": [{"name": name, "type": kind} for name, kind in fields],
    }


def event_rows(count: int, seed: int = 7):
    """`count` events of one day, of the kinds Pendo writes, with plausible values."""
    chance = random.Random(seed)
    start = FIRST_DAY * DAY_MS
    kinds = ["load", "click", "click", "focus", "change", "track", "guideSeen", "pollResponse"]
    for index in range(count):
        kind = chance.choice(kinds)
        click = kind in ("click", "focus", "change")
        guide = kind == "guideSeen"
        yield {
            "periodId": FIRST_DAY,
            "eventId": f"{chance.getrandbits(64):016x}",
            "browserTimestamp": start + index * DAY_MS // count + chance.randrange(1000),
            "visitorId": f"visitor-{chance.randrange(50_000)}",
            "accountId": "" if chance.random() < 0.2 else f"account-{chance.randrange(3000)}",
            "eventType": kind,
            "eventClass": "web",
            "eventSource": "browser" if kind != "track" else "server",
            "server": "app.example.com",
            "url": f"https://app.example.com/projects/{chance.randrange(500)}/settings",
            "remoteIp": f"10.{chance.randrange(256)}.{chance.randrange(256)}.{chance.randrange(256)}",
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0 Safari/537.36",
            "country": "US",
            "region": "CA",
            "language": "en-US",
            "elementPath": "DIV.main BUTTON#save" if click else None,
            "latitude": 37.7749,
            "longitude": -122.4194,
            "uiElementId": "save" if click else None,
            "uiElementType": "BUTTON" if click else None,
            "uiElementText": "Save changes" if click else None,
            "uiElementActions": '[{"action":"click"}]' if click else None,
            "guideId": "guide-1" if guide else None,
            "guideStepId": "step-1" if guide else None,
            "guideSessionId": f"s{index}" if guide else None,
            "guideSeenReason": "auto" if guide else None,
            "destinationStepId": None,
            "guideSeenTimeoutMs": 10_000 if guide else None,
            "guideSnoozeDurationMs": None,
            "loadDurationMs": chance.randrange(5000) if kind == "load" else None,
            "pollId": "poll-1" if kind == "pollResponse" else None,
            "pollType": "NPSRating" if kind == "pollResponse" else None,
            "pollResponse": str(chance.randrange(11)) if kind == "pollResponse" else None,
            "oldVisitorId": None,
            "trackTypeName": "Signed Up" if kind == "track" else None,
            "propertiesJson": '{"plan":"pro","seats":12}' if kind == "track" else None,
        }


def write_events(path: Path, count: int, codec: str) -> None:
    """An allevents file of `count` rows (fastavro's default block size)."""
    import fastavro

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        fastavro.writer(out, event_schema(), event_rows(count), codec=codec)
    partial.rename(path)


def tap_side(root: str, path: str) -> None:
    """The tap's rows of one file as RECORD lines on stdout (subprocess of the A/B)."""
    import orjson

    from tap_pendo.datasync import open_store, rows

    out = open(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False)
    prefix = (
        b'{"type":"RECORD","stream":'
        + orjson.dumps(STREAM)
        + b',"time_extracted":"2026-12-01T00:00:00.000000Z","record":'
    )
    store = open_store(root)
    dumps, write = orjson.dumps, out.write
    extra = {"app_id": APP_ID, "export_counter": EXPORT_COUNTER}
    for record in rows(store, store.join(store.root, path), extra):
        write(prefix + dumps(record) + b"}\n")
    out.flush()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.datasync_ab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--codec", default="deflate", choices=["null", "deflate", "snappy"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", default=str(REPO / ".bench" / "datasync"))
    parser.add_argument("--tap-side", nargs=2, metavar=("ROOT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tap_side:
        tap_side(*args.tap_side)
        return

    from .measure import best_of, measure

    root = Path(args.dir)
    relative = (
        f"datasync/5650/{APP_ID}/export-{EXPORT_COUNTER}/allevents-{args.rows}-{args.codec}.avro"
    )
    avro = root / relative
    if not avro.exists():
        print(f"writing {avro} ({args.rows} rows, {args.codec})", file=sys.stderr)
        write_events(avro, args.rows, args.codec)
    probe = [sys.executable, str(REPO / "bench" / "datasync_probe.py"), str(avro)]
    probe += ["--app-id", str(APP_ID), "--export-counter", str(EXPORT_COUNTER)]
    tap = [sys.executable, __file__, "--tap-side", str(root), relative]
    runs: dict = {"probe": [], "tap": []}
    for round_number in range(args.rounds):
        for name, argv_ in (("probe", probe), ("tap", tap)):
            result = measure(argv_, root / f"{name}.stderr", [STREAM])
            if result["returncode"] != 0:
                sys.exit(f"{name} failed: see {root / (name + '.stderr')}")
            runs[name].append(result)
            print(
                f"round {round_number + 1} {name}: {result['rows']} rows, {result['cpu_s']} CPU s, "
                f"{result['rows_per_cpu_s']} rows/CPU-s, peak RSS {result['peak_rss_mb']} MB",
                file=sys.stderr,
            )
    best = {name: best_of(found) for name, found in runs.items()}
    summary = {
        "file": str(avro),
        "rows": best["tap"]["rows"],
        "probe_rows_per_cpu_s": best["probe"]["rows_per_cpu_s"],
        "tap_rows_per_cpu_s": best["tap"]["rows_per_cpu_s"],
        "ratio": round(best["tap"]["rows_per_cpu_s"] / best["probe"]["rows_per_cpu_s"], 3),
        "probe_peak_rss_mb": best["probe"]["peak_rss_mb"],
        "tap_peak_rss_mb": best["tap"]["peak_rss_mb"],
        "rss_floor_mb": best["tap"]["rss_floor_mb"],
    }
    if best["tap"]["rows"] != best["probe"]["rows"]:
        sys.exit(f"the tap wrote {best['tap']['rows']} rows, the probe {best['probe']['rows']}")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
