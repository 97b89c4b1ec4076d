"""Shared by the reliability tests: the secret key, the checks every run must pass,
a run in its own working directory, a tap that can be killed while it writes,
and a tiny scripted Pendo for answers the fake never gives."""

import json
import os
import re
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Optional

from tests.integration.harness import TAP, TapRun, by_key, clock_env, run_tap

# Distinctive, so that a leak cannot be a coincidence; every test here uses it.
SECRET_MARK = "7f3a9c1e"
SECRET_KEY = f"rel-SECRET-{SECRET_MARK}-0b5d-integration-key"
SINGER_TYPES = {"SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH"}
INPUT_FILES = {"config.json", "catalog.json", "state.json"}


# -- checks -------------------------------------------------------------------


def singer_lines(stdout: str, allow_cut_last_line: bool = False) -> list:
    """stdout as Singer messages; AssertionError naming the first line that is not one.

    A run killed with -9 may stop in the middle of a line: that last piece is
    left out when `allow_cut_last_line`.
    """
    lines = stdout.split("\n")
    tail = lines.pop()  # "" when stdout ends with a newline
    if tail and not allow_cut_last_line:
        lines.append(tail)
    messages = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            raise AssertionError(f"stdout line {number} is not JSON: {line[:300]!r}") from None
        assert isinstance(message, dict) and message.get("type") in SINGER_TYPES, (
            f"stdout line {number} is not a Singer message: {line[:300]!r}"
        )
        if message["type"] == "RECORD":
            assert isinstance(message.get("stream"), str) and isinstance(
                message.get("record"), dict
            ), f"stdout line {number}: a RECORD without stream or record"
        if message["type"] == "STATE":
            assert isinstance(message.get("value"), dict), f"stdout line {number}: bad STATE"
        messages.append(message)
    return messages


def critical_lines(stderr: str) -> list:
    return [line for line in stderr.splitlines() if "CRITICAL" in line]


def assert_clean_failure(run: TapRun, problem: str, fix: Optional[str]) -> str:
    """Exit 1, no traceback, one CRITICAL line naming the problem and the fix, valid stdout."""
    where = f"stderr:\n{run.stderr[-3000:]}"
    assert run.returncode == 1, f"exit code {run.returncode}, expected 1; {where}"
    assert "Traceback" not in run.stderr, f"a traceback on stderr; {where}"
    errors = critical_lines(run.stderr)
    assert len(errors) == 1, f"{len(errors)} CRITICAL lines, expected 1; {where}"
    line = errors[0]
    # Nothing but the error after it (a summary of rows and requests may precede it).
    after = run.stderr.split(line, 1)[1].strip()
    assert after == "", f"stderr goes on after the error: {after[:500]!r}"
    assert re.search(problem, line, re.I), (
        f"the error does not name the problem /{problem}/: {line}"
    )
    if fix is not None:
        assert re.search(fix, line, re.I), f"the error does not name the fix /{fix}/: {line}"
    singer_lines(run.stdout)
    return line


def assert_no_secret(*texts: str, directory: Optional[Path] = None) -> None:
    """No piece of the integration key is in `texts` nor in any file under `directory`.

    Every key the tests configure contains SECRET_MARK, also the deliberately
    malformed ones, so a leak is found even when the key is quoted or split.
    """
    for number, text in enumerate(texts):
        assert SECRET_MARK not in text, (
            f"the integration key leaked into output #{number}: "
            f"...{text[max(0, text.find(SECRET_MARK) - 200) : text.find(SECRET_MARK) + 60]}..."
        )
    if directory is not None:
        for path in Path(directory).rglob("*"):
            if path.is_file() and path.name not in INPUT_FILES:
                data = path.read_bytes()
                assert SECRET_MARK.encode() not in data, f"the integration key leaked into {path}"


# -- comparing runs -------------------------------------------------------------


def identity(stream: str, period: str = "dayRange") -> list:
    from tests.fake_pendo.truth import primary_key

    return primary_key(stream, period)


def keyed(stream: str, records: list, period: str = "dayRange") -> dict:
    """Records by identity, the last version winning; a keyless stream's last record."""
    key = identity(stream, period)
    if key:
        return by_key(records, key)
    return {(): records[-1]} if records else {}


def assert_same_rows(got: dict, expected: dict, period: str = "dayRange", what="") -> None:
    """stream -> records, compared by identity and value, stream by stream."""
    for stream in sorted(set(got) | set(expected)):
        mine, theirs = (
            keyed(stream, got.get(stream, []), period),
            keyed(stream, expected.get(stream, []), period),
        )
        missing = [k for k in theirs if k not in mine]
        extra = [k for k in mine if k not in theirs]
        changed = [k for k in theirs if k in mine and mine[k] != theirs[k]]
        assert not (missing or extra or changed), (
            f"{what}{stream}: {len(missing)} rows missing (e.g. {missing[:2]}), "
            f"{len(extra)} extra (e.g. {extra[:2]}), {len(changed)} with other values "
            f"(e.g. {[(mine[k], theirs[k]) for k in changed[:1]]})"
        )


# Bookmark keys that say a stream was under way when a STATE was written.
RESUME_KEYS = ("window_start", "after", "run_started", "visitor")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def under_way(state: dict, stream: str) -> bool:
    """Was `stream` interrupted (its bookmark says where to go on) at this STATE?"""
    bookmark = ((state or {}).get("bookmarks") or {}).get(stream) or {}
    return any(key in bookmark for key in RESUME_KEYS)


def records_around_last_state(run) -> tuple:
    """stream -> records printed before the run's last STATE, and that STATE."""
    messages = run.messages
    states = [i for i, m in enumerate(messages) if m["type"] == "STATE"]
    if not states:
        return {}, None
    before: dict = {}
    for message in messages[: states[-1]]:
        if message["type"] == "RECORD":
            before.setdefault(message["stream"], []).append(message["record"])
    return before, messages[states[-1]]["value"]


def assert_resume_repeats_only_rereads(name: str, before: dict, state: dict, resumed) -> None:
    """Rows printed before a STATE come again, in a run resumed from it, only as the
    re-reads that an incremental run makes of streams that were done: none of a stream
    under way; of a finished one, only undated rows and ties at its bookmark (entities),
    the late-data lookback (events, history), or the document (metadata)."""
    from tap_pendo.timefmt import parse_datetime_ms

    bookmarks = state.get("bookmarks", {})
    for stream, records in before.items():
        done = keyed(stream, records)
        resumed_rows = keyed(stream, resumed.records.get(stream, []))
        again = [resumed_rows[k] for k in resumed_rows if k in done]
        if not again:
            continue
        where = f"{name}: {stream}"
        assert not under_way(state, stream), (
            f"{where}: {len(again)} rows printed before the last STATE came again, e.g. {again[0]}"
        )
        bookmark = bookmarks.get(stream) or {}
        if not identity(stream):
            continue  # full table: one document every run
        if "day" in bookmark or "browser_time" in bookmark:
            field = "day" if "day" in bookmark else "browser_time"
            lowest = parse_datetime_ms(bookmark[field]) - DAY_MS - 25 * HOUR_MS
            early = [r for r in again if parse_datetime_ms(r[field]) < lowest]
            assert not early, f"{where}: rows before the lookback came again, e.g. {early[0]}"
        elif "modified_ts" in bookmark:
            lowest = parse_datetime_ms(bookmark["modified_ts"]) - DAY_MS
            early = [r for r in again if parse_datetime_ms(r["ts"]) < lowest]
            assert not early, f"{where}: history items read again, e.g. {early[0]}"
        else:
            (key, value), *_ = bookmark.items() or [(None, None)]
            dated = [r for r in again if r.get(key) is not None and r.get(key) != value]
            assert not dated, f"{where}: rows dated after the bookmark came again, e.g. {dated[0]}"


def normalized_state(state: dict, earliest_ms: int, latest_ms: int) -> dict:
    """The state without what depends on when the run started: visitor_history's
    bookmark is the start of its run (signposted), checked to lie in [earliest, latest]."""
    from tap_pendo.timefmt import parse_datetime_ms

    state = json.loads(json.dumps(state))
    history = state.get("bookmarks", {}).get("visitor_history") or {}
    for key in ("modified_ts", "run_started"):
        if history.get(key):
            moment = parse_datetime_ms(history[key])
            assert earliest_ms - 1000 <= moment <= latest_ms + 1000, (
                f"visitor_history {key} {history[key]} is not the start of a run of this test"
            )
            history[key] = "<a run's start>"
    return state


# -- running the tap ----------------------------------------------------------


@contextmanager
def working_directory(path: Path):
    """The tap's working directory (files it might write land here)."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def isolated_env(workdir: Path) -> dict:
    tmp = workdir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {"TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp)}


def run_isolated(fake, tmp_path, config, **kwargs) -> TapRun:
    """harness.run_tap with its own working and temporary directories, checked for the key.

    Inputs are written in `tmp_path`; the tap runs in `tmp_path/work`, where
    every file is one the tap wrote. Messages are parsed by `singer_lines`, so
    that a line that is not a Singer message fails with a clear assertion.
    """
    tmp_path = Path(tmp_path)
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    env = {**isolated_env(work), **kwargs.pop("env", {})}
    discover = kwargs.get("discover", False)
    with working_directory(work):
        try:
            run = run_tap(fake, tmp_path, config, env=env, **kwargs)
        except json.JSONDecodeError as exc:  # run_tap parses stdout itself
            raise AssertionError(
                f"stdout holds a line that is not JSON: {exc.doc[:300]!r}"
            ) from None
    assert_no_secret(run.stdout, run.stderr, directory=work)
    if not discover:
        run.messages = singer_lines(run.stdout)
    return run


F_SETPIPE_SZ = 1031  # Linux fcntl: the capacity of a pipe


class KillableRun:
    """tap-pendo started with Popen; its stdout read line by line, so a test can kill -9
    it at a chosen moment, then read what it had printed.

    `pipe_bytes` shrinks the stdout pipe (to 4096, say): the tap then blocks in
    its next write as soon as the test stops reading, so a kill lands right
    after what the test has read, not a pipe's length later.
    """

    def __init__(
        self,
        fake,
        tmp_path: Path,
        config: dict,
        catalog: dict,
        state=None,
        pipe_bytes: Optional[int] = None,
    ):
        import fcntl

        tmp_path = Path(tmp_path)
        work = tmp_path / "work"
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        files = {"config": config, "catalog": catalog}
        if state is not None:
            files["state"] = state
        args = [TAP]
        for name, value in files.items():
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(value))
            args += [f"--{name}", str(path)]
        self.stderr_path = work / "stderr.txt"
        self._stderr = open(self.stderr_path, "wb")
        env = {**os.environ, **clock_env(fake), **isolated_env(work)}
        read_end, write_end = os.pipe()
        if pipe_bytes:
            fcntl.fcntl(write_end, F_SETPIPE_SZ, pipe_bytes)
        try:
            self.proc = subprocess.Popen(
                args, stdout=write_end, stderr=self._stderr, cwd=work, env=env
            )
        finally:
            os.close(write_end)
        self.out = os.fdopen(read_end, "rb")
        self.chunks: list = []
        self.bytes_read = 0
        self.killed = False

    def lines(self):
        """Complete stdout lines as bytes, as they arrive."""
        for line in self.out:
            self.chunks.append(line)
            self.bytes_read += len(line)
            yield line

    def kill(self) -> None:
        """kill -9 now; whatever it had already written is still read."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.killed = True

    def finish(self, timeout: float = 300) -> TapRun:
        """Read the rest of stdout, wait, and check that the key went nowhere."""
        self.chunks.append(self.out.read())
        self.out.close()
        code = self.proc.wait(timeout=timeout)
        self._stderr.close()
        stdout = b"".join(self.chunks).decode("utf-8", "replace")
        stderr = self.stderr_path.read_text(errors="replace")
        run = TapRun(code, stdout, stderr)
        run.messages = singer_lines(stdout, allow_cut_last_line=self.killed)
        assert_no_secret(stdout, stderr, directory=self.work)
        return run

    def abandon(self) -> None:
        """Kill and reap, for a test that fails half-way."""
        self.kill()
        self.proc.wait(timeout=60)
        self.out.close()
        self._stderr.close()


# -- a scripted Pendo ----------------------------------------------------------


class Answer:
    """What the scripted server does for one request."""

    def __init__(self, status=200, body=b"", headers=None, reset=False, cut_at=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.reset = reset  # close the connection without an answer
        self.cut_at = cut_at  # promise the whole body, send this many bytes, close


class ScriptedPendo:
    """An HTTP server on 127.0.0.1:0 answering `script(method, path, query, body) -> Answer`.

    It also keeps every request's headers, to check what the tap sent.
    """

    def __init__(self, script: Callable):
        self.script = script
        self.requests: list = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def _handle(self, method):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                path, _, query = self.path.partition("?")
                outer.requests.append((method, path, dict(self.headers)))
                answer = outer.script(method, path, query, body)
                if answer.reset:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                if answer.cut_at is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if answer.cut_at is not None:
                    self.wfile.write(answer.body[: answer.cut_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(answer.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def __enter__(self) -> "ScriptedPendo":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
