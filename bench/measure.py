"""Measuring one process: the tap or the limit as a subprocess, on its own.

CPU (user + system) and peak RSS come from `wait4` on its pid, so neither the
fake nor this process counts; rows are RECORD lines counted on its stdout
pipe, where nothing is kept unless asked (`keep`).

One catch: Linux records in a child's ru_maxrss the peak RSS of the image it
replaced at exec, which is this process's (vfork or fork). A child's peak is
never below this process's peak at its start, given as `rss_floor_mb`; the
bench keeps this process small (about 30 MB) for that reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path

from .cases import WORK

MB = 1024 * 1024
CHUNK = 1 << 18
RUN_TIMEOUT_S = 1800


def record_marker(stream: str) -> bytes:
    """How the tap starts a RECORD line of `stream` (orjson, no spaces: the tap's output.py)."""
    return b'{"type":"RECORD","stream":' + json.dumps(stream).encode() + b","


def count_markers(fd: int, markers: dict, totals: dict, keep: Path | None = None) -> None:
    """Read a pipe to its end, counting each marker and the lines; a copy goes to `keep`.

    One buffer serves every read, so that this process does not grow: its
    peak RSS is the floor of the next child's (see above).
    """
    longest = max((len(m) for m in markers.values()), default=1) - 1
    buffer = bytearray(longest + CHUNK)
    view = memoryview(buffer)
    held = lines = nbytes = 0  # held: the end of the chunk before, at the front
    counts = dict.fromkeys(markers, 0)
    copy = open(keep, "wb") if keep else None  # noqa: SIM115 - closed below
    with open(fd, "rb", buffering=0) as pipe:
        while True:
            n = pipe.readinto(view[held : held + CHUNK])
            if not n:
                break
            end = held + n
            if copy:
                copy.write(view[held:end])
            nbytes += n
            lines += buffer.count(b"\n", held, end)
            for name, marker in markers.items():
                # From where a marker cut by the chunk before may begin: none fits whole before.
                counts[name] += buffer.count(marker, max(0, held - len(marker) + 1), end)
            held = min(longest, end)
            view[:held] = view[end - held : end]
    if copy:
        copy.close()
    totals.update(records=counts, lines=lines, bytes=nbytes)


def measure(
    argv: list, stderr_path: Path, streams, keep: Path | None = None, timeout=RUN_TIMEOUT_S
) -> dict:
    """Run `argv`; count its RECORD lines per stream; its own CPU and peak RSS from wait4."""
    markers = {s: record_marker(s) for s in streams}
    read_fd, write_fd = os.pipe()
    totals: dict = {}
    # Linux counts the parent's peak at the start in a child's ru_maxrss: the floor.
    floor_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(stderr_path, "wb") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=WORK, stdout=write_fd, stderr=err, stdin=subprocess.DEVNULL
        )
        os.close(write_fd)
        reader = threading.Thread(target=count_markers, args=(read_fd, markers, totals, keep))
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
        "rss_floor_mb": round(floor_kib / 1024, 1),
        "wall_s": round(wall, 2),
    }


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def best_of(runs: list) -> dict:
    """The run that took least CPU among the successful ones (else the first)."""
    good = [r for r in runs if r["returncode"] == 0] or runs[:1]
    return dict(min(good, key=lambda r: r["cpu_s"]))


def stderr_tail(path: Path, chars: int = 2000) -> str:
    return path.read_text(errors="replace")[-chars:]


def run_json(argv: list, what: str, timeout: float = 300):
    """Run `argv` to its end; its stdout as JSON (a catalog)."""
    done = subprocess.run(argv, cwd=WORK, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"bench: {what} failed:\n{done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout)
