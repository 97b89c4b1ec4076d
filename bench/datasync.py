"""The Data Sync case: datasync_events read by the installed tap-pendo from one large Avro
export, beside the probe (bench/datasync_probe.py) on the same file, measured alike.

The tree is the fake Data Sync's big tree (`python -m tests.fake_pendo.datasync big`):
one application folder, one export (counter 1), one allEvents file of `--datasync-rows`
events in blocks of 4,000 rows. It is written once, in a subprocess (this process stays
small: its peak is the floor of every child's, see measure.py), and kept under
.bench/datasync-ROWS-CODEC/ with a tree.json that says what it holds.

Snappy by default: Data Sync writes deflate, snappy or nothing, and fastavro
decompresses a block the same way for both readers, in C: snappy about 0.25 µs a row
here, deflate 0.6, against some 30 µs of decoding. The codec moves both figures alike
and hardly the ratio; snappy leaves the most of the cost to what the readers do apart.

One run of the case:

1. the tree (written if not kept), its config (`datasync_url`, `start_date` 2000-01-01,
   no integration key) and the catalog the installed tap discovers, datasync_events
   selected alone;
2. the tap's start-up with this config and nothing selected (best of 3);
3. the file read once and dropped, so that both read it from the page cache;
4. rounds of the probe then the tap, alternating; the round with the least CPU of each
   counts (as for the limit), the peak RSS is the highest of the tap's rounds, and the
   ratio of each round is kept beside;
5. one more run of the tap on a tree of a fifth of the rows: its peak RSS beside the
   big file's says whether memory grows with the file.

The probe and the tap must write the tree's rows, no more and no less (a warning
otherwise), from its one Avro file (the probe is given its path, the tap its manifest).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.tap import select as select_catalog

from .cases import REPO, TAP, WORK, Case, write_json
from .measure import MB, best_of, measure, run_json, stderr_tail
from .runner import check_targets, log

PROBE = REPO / "bench" / "datasync_probe.py"
START_DATE = "2000-01-01T00:00:00Z"
SMALL_SHARE = 5  # the memory check reads a tree of a fifth of the rows
SMALL_MIN_ROWS = 10_000
WARM_BYTES = 1 << 20


@dataclass(frozen=True)
class Tree:
    """A big tree as kept under .bench/: where, what, and the columns a reader adds."""

    root: Path  # the folder that holds datasync/: the tap's datasync_url
    file: Path  # its one allEvents file
    rows: int
    codec: str
    bytes: int
    app_id: int
    export_counter: int

    def describe(self) -> dict:
        return {
            "path": str(self.file.relative_to(REPO)),
            "rows": self.rows,
            "codec": self.codec,
            "mb": round(self.bytes / MB, 1),
        }


def tree(rows: int, codec: str) -> Tree:
    """The big tree of `rows` rows, written now unless kept from an earlier run."""
    root = WORK / f"datasync-{rows}-{codec}"
    about = root / "tree.json"
    if not about.exists():
        write_tree(root, rows, codec)
    info = json.loads(about.read_text())
    files = sorted(root.rglob("*.avro"))
    if [str(f.relative_to(root)) for f in files] != [info["file"]] or info["rows"] != rows:
        raise SystemExit(f"bench: {root} is not the tree that tree.json says: remove it")
    (file,) = files
    app_folder = file.parent.parent  # datasync/{subscription}/{app}/{export}/allevents.avro
    manifest = json.loads((app_folder / "exportmanifest.json").read_text())
    (export,) = manifest["exports"]
    return Tree(
        root, file, rows, codec, file.stat().st_size, int(app_folder.name), export["counter"]
    )


def write_tree(root: Path, rows: int, codec: str) -> None:
    """The fake Data Sync's big tree, written in a subprocess to a side folder, then
    renamed: a tree cut short is never kept."""
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log(f"datasync_events: writing a tree of {rows:,} rows ({codec}) to {root}")
    argv = [sys.executable, "-m", "tests.fake_pendo.datasync", "big", str(partial)]
    done = subprocess.run(
        [*argv, "--rows", str(rows), "--codec", codec], cwd=REPO, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: the fake Data Sync failed:\n{done.stderr[-3000:]}")
    written = json.loads(done.stdout)
    file = Path(written["file"])
    about = {
        "rows": written["rows"],
        "codec": codec,
        "file": str(file.relative_to(partial)),
        "bytes": file.stat().st_size,
        "written_by": "python -m tests.fake_pendo.datasync big",
        "log": done.stderr.strip(),
    }
    (partial / "tree.json").write_text(json.dumps(about, indent=1) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    log(f"datasync_events: {done.stderr.strip()}")


def warm(path: Path) -> None:
    """Read the file once and drop it (one small buffer): both readers find it cached."""
    buffer = bytearray(WARM_BYTES)
    with open(path, "rb", buffering=0) as file:
        while file.readinto(buffer):
            pass


def tap_argvs(case: Case, big: Tree) -> tuple:
    """The tap's command lines on `big`: datasync_events selected, then nothing selected
    (its start-up); the config and catalogs written to .bench/."""
    slug = f"{case.slug}-{big.rows}"
    config = write_json(
        WORK / f"config-{slug}.json", {"datasync_url": str(big.root), "start_date": START_DATE}
    )
    catalog = run_json([TAP, "--config", config, "--discover"], "tap-pendo --discover")
    argvs = []
    for name, streams in ((slug, case.streams), (f"{slug}-startup", ())):
        path = write_json(WORK / f"catalog-{name}.json", select_catalog(catalog, streams))
        argvs.append([TAP, "--config", config, "--catalog", path])
    return tuple(argvs)


def probe_argv(case: Case, big: Tree) -> list:
    argv = [sys.executable, str(PROBE), str(big.file), "--stream", case.streams[0]]
    return argv + ["--app-id", str(big.app_id), "--export-counter", str(big.export_counter)]


def measure_run(argv: list, what: str, case: Case) -> dict:
    err = WORK / f"{what}-{case.slug}.err"
    run = measure(argv, err, case.streams)
    if run["returncode"] != 0:
        run["error"] = stderr_tail(err)
        log(f"{case.name}: {what} FAILED ({run['returncode']}):\n{run['error']}")
    return run


def run_datasync_case(case: Case, args) -> dict:
    """The tap and the probe on one big file, in alternating rounds; see the docstring."""
    result: dict = {"stream": case.name, "streams": list(case.streams), "period": case.period}
    result["kind"] = case.kind
    big = tree(args.datasync_rows, args.datasync_codec)
    result["file"] = big.describe()
    tap, startup_argv = tap_argvs(case, big)
    log(f"{case.name}: tap start-up with the Data Sync config (nothing selected)")
    err = WORK / "tap-startup-datasync.err"
    startup = best_of([measure(startup_argv, err, ()) for _ in range(3)])
    result["startup"] = {key: startup[key] for key in ("cpu_s", "peak_rss_mb", "returncode")}
    if not args.no_warmup:
        warm(big.file)
    rounds = case.rounds or max(1, args.repeat or 2)
    probes, taps = [], []
    for number in range(1, rounds + 1):
        if not args.no_limit:
            log(f"{case.name}: probe ({number}/{rounds})")
            probes.append(measure_run(probe_argv(case, big), "probe", case))
            if probes[-1]["returncode"] != 0:
                raise SystemExit(f"bench: the probe failed:\n{probes[-1]['error']}")
        log(f"{case.name}: tap-pendo ({number}/{rounds})")
        taps.append(measure_run(tap, "tap", case))
        if taps[-1]["returncode"] != 0:
            break
    best = best_of(taps)
    result.update(best)
    result["requests"] = None  # files, not requests
    result["cpu_s_of_rounds"] = [t["cpu_s"] for t in taps]
    result["peak_rss_mb"] = max(t["peak_rss_mb"] for t in taps)
    if probes:
        result["probe"] = best_of(probes)
        result["probe"]["cpu_s_of_rounds"] = [p["cpu_s"] for p in probes]
    if probes and result["probe"]["rows_per_cpu_s"] and best["rows_per_cpu_s"]:
        ratio = best["rows_per_cpu_s"] / result["probe"]["rows_per_cpu_s"]
        result["ratio_to_probe"] = round(ratio, 3)
        result["ratio_of_rounds"] = [
            round(t["rows_per_cpu_s"] / p["rows_per_cpu_s"], 3)
            for p, t in zip(probes, taps)
            if t["rows_per_cpu_s"] and p["rows_per_cpu_s"]
        ]
    warnings = []
    written = {best["rows"], *(p["rows"] for p in probes)}
    if written != {big.rows}:
        said = f"the probe wrote {result['probe']['rows']:,}, " if probes else ""
        warnings.append(f"the file holds {big.rows:,} rows; {said}the tap {best['rows']:,}")
    if result["peak_rss_mb"] <= best["rss_floor_mb"] + 1:
        warnings.append(
            f"peak RSS {result['peak_rss_mb']} MB is the bench's own peak at the start "
            "(see bench/measure.py), not the tap's"
        )
    if startup["returncode"] == 0 and best["cpu_s"] > startup["cpu_s"]:
        result["rows_per_cpu_s_after_startup"] = round(
            best["rows"] / (best["cpu_s"] - startup["cpu_s"])
        )
    if best["returncode"] == 0:
        result["memory_check"] = memory_check(case, args, big)
    if warnings:
        result["warning"] = "; ".join(warnings)
        log(f"{case.name}: WARNING: {result['warning']}")
    result["targets"] = check_targets(case, result)
    return result


def memory_check(case: Case, args, big: Tree) -> dict:
    """The tap once on a tree of a fifth of the rows: its peak RSS beside the big file's."""
    small = tree(max(SMALL_MIN_ROWS, big.rows // SMALL_SHARE), big.codec)
    tap, _ = tap_argvs(case, small)
    if not args.no_warmup:
        warm(small.file)
    log(f"{case.name}: tap-pendo on {small.rows:,} rows (does memory grow with the file?)")
    run = measure_run(tap, "tap-small", case)
    return {
        "rows": small.rows,
        "file_mb": round(small.bytes / MB, 1),
        "peak_rss_mb": run["peak_rss_mb"],
        "cpu_s": run["cpu_s"],
        "rows_written": run["rows"],
        "returncode": run["returncode"],
    }
