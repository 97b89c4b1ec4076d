"""Whether a run's records equal the fake's truth: key sets, and records by primary key.

`bench.runner` runs it as a subprocess, so that the bench's own process stays
small: on Linux a child's peak RSS (ru_maxrss) is at least its parent's at
the time it was started, so records held here would show in the next run.

    python -m bench.check --url URL --output FILE --period dayRange --start-ms MS STREAM...

prints the comparison as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import orjson

from tests.fake_pendo.process import FakeProcess
from tests.fake_pendo.truth import primary_key

SHOWN = 3  # keys quoted per kind of difference


def records_by_stream(path: Path) -> dict:
    """stream -> its RECORD messages' records, in output order, from a file of Singer lines."""
    out: dict = {}
    with open(path, "rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"RECORD"'):
                message = orjson.loads(line)
                out.setdefault(message["stream"], []).append(message["record"])
    return out


def compare(records: list, truth: list, key: list) -> dict:
    """Counts of what differs between two lists of records, matched by `key`."""

    def keyed(rows):
        return {tuple(r.get(k) for k in key): r for r in rows}

    got, want = keyed(records), keyed(truth)
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    differing = [k for k in want if k in got and got[k] != want[k]]
    result = {
        "rows": len(records),
        "truth_rows": len(truth),
        "duplicate_keys": len(records) - len(got),
        "missing": len(missing),
        "extra": len(extra),
        "differing": len(differing),
    }
    result["equal"] = not (result["duplicate_keys"] or missing or extra or differing)
    for name, keys in (("missing", missing), ("extra", extra), ("differing", differing)):
        if keys:
            result[f"{name}_keys"] = [list(k) for k in keys[:SHOWN]]
    return result


def against_truth(fake: FakeProcess, output: Path, streams, period: str, start: int) -> dict:
    """Per stream, the run's records (in `output`) against `/_fake/truth` from `start`."""
    records = records_by_stream(output)
    checks = {}
    for stream in streams:
        truth = fake.truth(stream, period=period, start_ms=start)
        checks[stream] = compare(records.get(stream, []), truth, primary_key(stream, period))
    return {"equal": all(c["equal"] for c in checks.values()), "streams": checks}


def summary(check: dict) -> str:
    """`equal` or what differs, per stream, in one line."""
    if check["equal"]:
        return "equal"
    parts = []
    for stream, c in check["streams"].items():
        if c["equal"]:
            continue
        found = [f"{c[n]:,} {n}" for n in ("missing", "extra", "differing") if c[n]]
        found += [f"{c['duplicate_keys']:,} keys twice"] if c["duplicate_keys"] else []
        parts.append(f"{stream} {c['rows']:,} rows, truth {c['truth_rows']:,}: " + ", ".join(found))
    return "NOT equal: " + "; ".join(parts)


def in_subprocess(fake: FakeProcess, output: Path, streams, period: str, start: int) -> dict:
    """`against_truth` in a child process (see the module's docstring)."""
    argv = [sys.executable, "-m", "bench.check", "--url", fake.url, "--output", str(output)]
    argv += ["--period", period, "--start-ms", str(start), *streams]
    done = subprocess.run(argv, cwd=Path(__file__).resolve().parent.parent, capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: the check against the truth failed:\n{done.stderr.decode()}")
    return json.loads(done.stdout)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.check", description=__doc__)
    parser.add_argument("--url", required=True, help="the fake's base URL")
    parser.add_argument("--output", required=True, type=Path, help="the tap's Singer lines")
    parser.add_argument("--period", default="dayRange")
    parser.add_argument("--start-ms", type=int, required=True, help="the config's start_date")
    parser.add_argument("streams", nargs="+")
    args = parser.parse_args(argv)
    fake = FakeProcess.at(args.url)
    print(json.dumps(against_truth(fake, args.output, args.streams, args.period, args.start_ms)))


if __name__ == "__main__":
    main()
