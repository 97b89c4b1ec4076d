"""The installed `tap-pendo` command as a subprocess, on a pinned clock.

Every run writes its inputs in `tmp_path`, runs in `tmp_path/work` with its own
temporary directory, and is checked for the integration key in everything it wrote.
The tap's clock starts at the `now_ms` given (libfaketime), which for a run against
a fake is the fake's clock: nothing depends on the day the tests run.

`TAP_PENDO_TEST_LAUNCHES=FILE` appends a line per launch to FILE (to count them).
"""

from __future__ import annotations

import fcntl
import glob
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import kernel
from .secret import assert_no_secret
from .singer import parse_messages

TAP = str(Path(sys.executable).parent / "tap-pendo")
# Seconds a tap may take before its test fails: far above what any run here needs,
# and below the suite's per-test timeout (pyproject.toml), so the failure names the run.
TIMEOUT = 100
FAKETIME_LIBS = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
F_SETPIPE_SZ = 1031  # Linux fcntl: the capacity of a pipe


def clock_env(now_ms: int) -> dict:
    """Environment that starts a program's clock at `now_ms` (within a second after it), from
    where it runs on. Monotonic clocks are shifted too: with them left alone, this
    libfaketime makes time.sleep() fail with EINVAL."""
    assert FAKETIME_LIBS, "libfaketime is missing: `make test` installs the faketime package"
    offset = math.ceil(now_ms / 1000 - time.time())
    return {"LD_PRELOAD": FAKETIME_LIBS[0], "FAKETIME": f"{offset:+d}"}


@dataclass
class TapRun:
    """One finished run: exit code, stdout, stderr, and stdout's Singer messages."""

    returncode: int
    stdout: str
    stderr: str
    messages: list = field(default_factory=list)
    peak_rss_kb: int = 0  # the process's peak resident memory (KiB), where it was watched

    @property
    def records(self) -> dict:
        """stream -> records, in output order."""
        out: dict = {}
        for message in self.messages:
            if message["type"] == "RECORD":
                out.setdefault(message["stream"], []).append(message["record"])
        return out

    @property
    def schemas(self) -> dict:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def states(self) -> list:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self):
        states = self.states
        return states[-1] if states else None

    def ok(self) -> TapRun:
        assert self.returncode == 0, f"tap-pendo failed ({self.returncode}):\n{self.stderr[-4000:]}"
        return self


def input_files(tmp_path: Path, config, catalog, state) -> list:
    """The inputs written as files in `tmp_path`, as arguments (a str is written as it is)."""
    args = []
    for name, value in (("config", config), ("catalog", catalog), ("state", state)):
        if value is not None:
            path = tmp_path / f"{name}.json"
            path.write_text(value if isinstance(value, str) else json.dumps(value))
            args += [f"--{name}", str(path)]
    return args


def environment(work: Path, now_ms: int | None, env: dict | None) -> dict:
    """The environment of a tap run in `work`: its own temporary directory, its clock from
    `now_ms` (None: the real one), and `env` on top; counted when asked to."""
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    run_env = {**os.environ, "TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp)}
    if now_ms is not None:
        run_env.update(clock_env(now_ms))
    run_env.update(env or {})
    launches = os.environ.get("TAP_PENDO_TEST_LAUNCHES")
    if launches:
        with open(launches, "a") as log:
            log.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?')}\n")
    return run_env


def run_tap(
    tmp_path,
    config=None,
    *,
    now_ms: int | None,
    catalog=None,
    state=None,
    discover: bool = False,
    args=(),
    env: dict | None = None,
    timeout: float = TIMEOUT,
) -> TapRun:
    """Run tap-pendo to its end. `now_ms` starts its clock (None: the real one, for runs in
    which time plays no part); `args` are further arguments. stdout is parsed as Singer
    messages unless this is a discovery or `args` asks for another output (`--plan`)."""
    tmp_path = Path(tmp_path)
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    argv = [TAP, *input_files(tmp_path, config, catalog, state), *args]
    if discover:
        argv.append("--discover")
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=work,
        env=environment(work, now_ms, env),
    )
    run = TapRun(done.returncode, done.stdout, done.stderr)
    assert_no_secret(run.stdout, run.stderr, directory=work)
    if not discover and not {"--plan", "--about"} & set(args):
        run.messages = parse_messages(run.stdout)
    return run


def sync(fake, tmp_path, config, catalog, state=None, **kwargs) -> TapRun:
    """A sync against `fake`, on the fake's clock; it must succeed."""
    return run_tap(
        tmp_path, config, now_ms=fake.dataset.now_ms, catalog=catalog, state=state, **kwargs
    ).ok()


def discover(tmp_path, config, now_ms: int) -> dict:
    """The catalog tap-pendo discovers."""
    run = run_tap(tmp_path, config, now_ms=now_ms, discover=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def select(catalog: dict, streams, fields=None) -> dict:
    """A copy of `catalog` with `streams` selected (every field, or only `fields` besides
    the automatic ones) and the others not."""
    catalog = json.loads(json.dumps(catalog))
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] in streams
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
            elif fields is not None and chosen:
                item["metadata"]["selected"] = item["breadcrumb"][1] in fields
    return catalog


class TapProcess:
    """tap-pendo started in the background, its stdout read line by line, so that a test
    can stop reading it, look at the process, or kill -9 it at a chosen moment.

    `pipe_bytes` shrinks the stdout pipe (to 4096, say): the tap then blocks in its
    next write as soon as the test stops reading, so a kill lands right after what
    the test has read, not a pipe's length later. `peak_rss_kb` is the tap's peak
    resident memory (VmHWM) as last seen: `lines` looks every MEMORY_LINES lines and
    at the end of stdout. (wait4's ru_maxrss would not do: Linux counts in it the
    memory of the test process that forked the tap.)
    """

    MEMORY_LINES = 200

    def __init__(
        self,
        tmp_path,
        config,
        catalog,
        *,
        now_ms: int,
        state=None,
        pipe_bytes: int | None = None,
    ):
        tmp_path = Path(tmp_path)
        self.work = tmp_path / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        argv = [TAP, *input_files(tmp_path, config, catalog, state)]
        self.stderr_path = self.work / "stderr.txt"
        env = environment(self.work, now_ms, None)
        read_end, write_end = os.pipe()
        if pipe_bytes:
            fcntl.fcntl(write_end, F_SETPIPE_SZ, pipe_bytes)
        with open(self.stderr_path, "wb") as stderr:
            try:
                self.proc = subprocess.Popen(
                    argv, stdout=write_end, stderr=stderr, cwd=self.work, env=env
                )
            finally:
                os.close(write_end)
        self.pid = self.proc.pid
        self.out = os.fdopen(read_end, "rb")
        self.chunks: list = []
        self.killed = False
        self.peak_rss_kb = 0

    def lines(self):
        """Complete stdout lines as bytes, as they arrive."""
        for number, line in enumerate(self.out):
            self.chunks.append(line)
            if number % self.MEMORY_LINES == 0:
                self.look_at_memory()
            yield line
        self.look_at_memory()

    def look_at_memory(self) -> int:
        """The tap's peak resident memory so far (KiB), kept in `peak_rss_kb`; the last
        value seen once the process is gone."""
        self.peak_rss_kb = max(self.peak_rss_kb, kernel.peak_rss_kb(self.pid) or 0)
        return self.peak_rss_kb

    def kill(self) -> None:
        """kill -9 now (nothing, if it has ended); whatever it wrote is still read. The
        process is reaped by `finish`."""
        if self.proc.returncode is None:
            os.kill(self.pid, signal.SIGKILL)

    def finish(self) -> TapRun:
        """Read the rest of stdout, reap the process, parse what it wrote, and check that
        the key went nowhere. A tap that never ends is stopped by the suite's per-test
        timeout."""
        self.chunks.append(self.out.read())
        self.out.close()
        _, status = os.waitpid(self.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.killed = self.proc.returncode == -signal.SIGKILL
        stdout = b"".join(self.chunks).decode("utf-8", "replace")
        stderr = self.stderr_path.read_text(errors="replace")
        run = TapRun(self.proc.returncode, stdout, stderr, peak_rss_kb=self.peak_rss_kb)
        run.messages = parse_messages(stdout, allow_cut_last_line=self.killed)
        assert_no_secret(stdout, stderr, directory=self.work)
        return run

    def abandon(self) -> None:
        """Kill and reap, for a test that fails half-way."""
        self.kill()
        self.out.close()
        if self.proc.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
