"""A client for a fake Pendo running in another process (`python -m tests.fake_pendo`).

    with FakeProcess(scale=1, latency=0.3) as fake:
        fake.url, fake.key            # what a tap's config needs
        fake.reset_log()
        ...                           # run something against fake.url
        fake.log()["total"]           # the requests it made
        fake.advance(hours=6)         # new activity appears
        fake.truth("feature_events", period="dayRange", start_ms=...)

The benchmark and the demo use it; the tests use the in-process `FakePendo`.
`FakeProcess.at(url)` reads a fake that another process started.
`start()` returns at once and `wait_ready()` blocks until the fake prints its
URL, so that several fakes can build their datasets at the same time.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


class FakeProcess:
    """`python -m tests.fake_pendo` as a subprocess, read through its `/_fake/` endpoints.

    `seed`, `scale`, `days`, `latency` and `key` are the command's options;
    `args` adds others (e.g. `["--p429", "0.1"]`). The fake's stderr goes to
    `stderr` (a path) or to this process's.
    """

    def __init__(
        self,
        *,
        key: str = "test-key",
        seed: int = 1,
        scale: float = 1.0,
        days: int = 30,
        latency: float = 0.0,
        args: tuple = (),
        stderr: Path | None = None,
    ):
        self.key, self.seed, self.scale, self.days, self.latency = key, seed, scale, days, latency
        self.args = tuple(args)
        self.stderr = stderr
        self.url = ""
        self.started_ms = 0  # the wall clock at launch: the fake's clock starts then
        self.startup_s = 0.0  # from launch to its URL
        self._proc: subprocess.Popen | None = None
        self._launched = 0.0

    @classmethod
    def at(cls, url: str, key: str = "test-key") -> FakeProcess:
        """A client for a fake that is already running (started elsewhere) at `url`."""
        fake = cls(key=key)
        fake.url = url
        return fake

    def argv(self) -> list:
        argv = [sys.executable, "-m", "tests.fake_pendo", "--port", "0", "--key", self.key]
        argv += ["--seed", str(self.seed), "--scale", f"{self.scale:g}", "--days", str(self.days)]
        if self.latency:
            argv += ["--latency", f"{self.latency:g}"]
        return argv + list(self.args)

    def start(self) -> FakeProcess:
        """Launch the fake; it builds its dataset, then prints its URL (see `wait_ready`)."""
        err = open(self.stderr, "wb") if self.stderr else None
        self.started_ms = int(time.time() * 1000)
        self._launched = time.perf_counter()
        self._proc = subprocess.Popen(self.argv(), cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
        if err:
            err.close()
        return self

    def wait_ready(self, timeout: float = 900) -> FakeProcess:
        """Block until the fake prints `{"url": ..., "key": ...}`; raise if it does not."""
        if self._proc is None:
            self.start()
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            tail = ""
            if self.stderr and Path(self.stderr).exists():
                tail = ":\n" + Path(self.stderr).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the fake Pendo did not start ({' '.join(self.argv()[1:])}){tail}")
        hello = json.loads(line)
        self.url, self.key = hello["url"], hello["key"]
        self.startup_s = time.perf_counter() - self._launched
        return self

    def __enter__(self) -> FakeProcess:
        return self.wait_ready()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within 30 s."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()

    # ---- /_fake/ ----

    def control(self, method: str, path: str, params: dict | None = None, body=None, timeout=60):
        """One control request; its JSON answer."""
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = (
            json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        )
        request = urllib.request.Request(url, method=method, data=data)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read()
        return json.loads(answer) if answer.strip() else None

    def log(self) -> dict:
        """Counts of the `/api/` requests since the last reset: `total`, `requests` by
        endpoint kind, `sources`, `responses`, `faults`, `bytes_sent`."""
        return self.control("GET", "/_fake/log")

    def reset_log(self) -> None:
        self.control("POST", "/_fake/log/reset")

    def advance(self, hours: float) -> int:
        """Move the fake's clock on; new activity appears. Its new now, epoch ms."""
        return self.control("POST", "/_fake/advance", {"hours": hours})["now_ms"]

    def faults(self) -> dict:
        return self.control("GET", "/_fake/faults")

    def set_faults(self, **settings: Any) -> dict:
        """Change fault probabilities, `slow_seconds`, `retry_after` or `latency`."""
        return self.control("POST", "/_fake/faults", body=settings)

    def truth(
        self,
        stream: str,
        period: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        include_anonymous: bool | None = None,
        app_ids=None,
        timeout: float = 600,
    ) -> list:
        """The records a correct full sync emits for `stream` (tests/fake_pendo/truth.py)."""
        params: dict = {"stream": stream}
        optional = {"period": period, "start": start_ms, "end": end_ms}
        params.update({k: v for k, v in optional.items() if v is not None})
        if include_anonymous is not None:
            params["include_anonymous"] = "true" if include_anonymous else "false"
        if app_ids is not None:
            params["app_ids"] = ",".join(str(a) for a in app_ids)
        return self.control("GET", "/_fake/truth", params, timeout=timeout)
