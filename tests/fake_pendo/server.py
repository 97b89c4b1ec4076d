"""The fake Pendo's HTTP server: the v1 endpoints of `shared/pendo-api.md`, faults and a log.

A stdlib `ThreadingHTTPServer` on the loopback interface, HTTP/1.1 with
keep-alive. JSON answers go out with chunked transfer encoding, serialized a
batch of rows at a time, so that a million-row aggregation needs neither the
whole body in memory nor more than a few seconds.

Control endpoints under `/_fake/` (no key, never logged) let a test in another
process read the log, reset it, move the clock, change the faults and read the
ground truth.

This module handles HTTP: the key, the faults' effect on the answer, sending,
and the control endpoints. Hooks (`RequestHook`) let an in-process test see each
`/api/` request as it arrives and once it is answered, hold it (a barrier), or give
it a fault of their choosing. The `/api/` bodies are made in `endpoints.py`, the
faults drawn in `faults.py`, the requests counted in `request_log.py`; their
public names are importable from here too.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, Callable, Protocol
from urllib.parse import parse_qs, urlsplit

import orjson

from .endpoints import (
    BATCH_ROWS,
    ROUTES,
    _aggregation_facts,
    _route,
    aggregation_body,
    entity_list_body,
    history_body,
    metadata_body,
    run_aggregation,
    saved_body,
    source_rows,
)
from .faults import FAULT_KINDS, FIVE_XX, HTML_PAGE, Fault, Faults, FaultSettings, cut
from .query import QueryError
from .request_log import ENDPOINT_KINDS, SPAN_LIMIT_MS, RequestLog

__all__ = [
    "BATCH_ROWS",
    "ENDPOINT_KINDS",
    "FAULT_KINDS",
    "FIVE_XX",
    "HTML_PAGE",
    "KEY_HEADER",
    "ROUTES",
    "Arrival",
    "RequestHook",
    "SPAN_LIMIT_MS",
    "Fault",
    "FaultSettings",
    "FakePendoServer",
    "Faults",
    "RequestLog",
    "aggregation_body",
    "cut",
    "entity_list_body",
    "history_body",
    "metadata_body",
    "run_aggregation",
    "saved_body",
    "source_rows",
    "truth_settings",
]

KEY_HEADER = "x-pendo-integration-key"


@dataclass(frozen=True)
class Arrival:
    """One `/api/` request as a hook sees it: its endpoint kind (ENDPOINT_KINDS), its
    aggregation source (None for other endpoints), its path, and its number (1, 2, ...
    in the order the server read them since it started)."""

    kind: str
    source: str | None
    path: str
    number: int


class RequestHook(Protocol):
    """Code the server runs for every `/api/` request, in the request's own thread.

    `arrived` runs before anything is answered (after the request is logged); it may
    block, and it may return a Fault that this request gets instead of a drawn one.
    `answered` runs once the request is done with, whatever happened to it.
    """

    def arrived(self, request: Arrival) -> Fault | None: ...

    def answered(self, request: Arrival) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 300  # an idle keep-alive connection is closed after this many seconds

    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log counts what matters."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    @property
    def fake(self) -> FakePendoServer:
        return self.server.fake

    def _dispatch(self, method: str) -> None:
        # The body is always read, so that a keep-alive connection stays in step.
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        url = urlsplit(self.path)
        try:
            if url.path.startswith("/_fake/"):
                self._control(method, url.path, url.query, body)
            elif url.path.startswith("/api/"):
                self._api(method, url.path, url.query, body)
            else:
                self._send(404, b"not found")
        except ConnectionError:
            self.close_connection = True

    # ---- /api/ ----

    def _api(self, method: str, path: str, query: str, body: bytes) -> None:
        fake = self.fake
        route = _route(method, path)
        kind = route[0] if route else "other"
        source = span = None
        if kind == "aggregation":
            source, span = _aggregation_facts(body, fake.dataset.tz, fake.dataset.now_ms)
        fake.log.request(kind, source, span)
        hooks = fake.hooks
        if not hooks:
            self._api_answer(route, query, body, None)
            return
        arrival = Arrival(kind, source, path, fake.count_arrival())
        chosen = None
        try:
            for hook in hooks:
                chosen = hook.arrived(arrival) or chosen
            self._api_answer(route, query, body, chosen)
        finally:
            for hook in hooks:
                hook.answered(arrival)

    def _api_answer(
        self, route: tuple | None, query: str, body: bytes, chosen: Fault | None
    ) -> None:
        fake = self.fake
        settings = fake.faults.settings
        if settings.latency:
            fake.sleep(settings.latency)
        if self.headers.get(KEY_HEADER) != fake.key:
            self._send(403, b"", log=fake.log)
            return
        fault = chosen or fake.faults.draw()
        if fault and fault.kind != "truncate":  # a cut is logged only where a body is cut
            fake.log.fault(fault.kind)
        if fault and fault.kind == "429":
            headers = {"Retry-After": str(settings.retry_after)}
            self._send(429, b"Too Many Requests", headers, log=fake.log)
        elif fault and fault.kind == "5xx":
            self._send(fault.status, self.responses[fault.status][0].encode(), log=fake.log)
        elif fault and fault.kind == "reset":
            self._reset()
        elif fault and fault.kind == "html":
            self._send(200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"}, log=fake.log)
        else:
            if fault and fault.kind == "slow":
                fake.sleep(settings.slow_seconds)
            self._answer(route, query, body, fault)

    def _answer(self, route: tuple | None, query: str, body: bytes, fault: Fault | None) -> None:
        log = self.fake.log
        if route is None:
            self._send(404, b"not found", log=log)
            return
        try:
            pieces = self._body(route, query, body)
            first = next(pieces)  # runs the validation before any header is sent
        except QueryError as exc:
            self._send(400, str(exc).encode(), log=log)
            return
        except Exception:  # a bug in the fake: say so loudly rather than drop the connection
            traceback.print_exc(file=sys.stderr)
            self._send(500, b"fake server error, see its stderr", log=log)
            return
        pieces = _chain(first, pieces)
        if fault and fault.kind == "truncate":
            self._send_cut(cut(pieces, fault.fraction))
        else:
            self._send_chunked(pieces)

    def _body(self, route: tuple, query: str, body: bytes) -> Iterator[bytes]:
        kind, arg = route
        dataset = self.fake.dataset
        if kind == "aggregation":
            return run_aggregation(dataset, body)
        if kind == "metadata":
            return metadata_body(dataset, arg)
        if kind == "history":
            return history_body(dataset, arg, query)
        if kind in ("segment", "report"):
            return saved_body(dataset, kind)
        return entity_list_body(dataset, arg, query)

    # ---- /_fake/ ----

    def _control(self, method: str, path: str, query: str, body: bytes) -> None:
        fake, params = self.fake, parse_qs(query)
        try:
            if (method, path) == ("GET", "/_fake/log"):
                answer: Any = fake.log.snapshot()
            elif (method, path) == ("POST", "/_fake/log/reset"):
                fake.log.reset()
                answer = fake.log.snapshot()
            elif (method, path) == ("POST", "/_fake/advance"):
                fake.dataset.advance(float(params["hours"][0]))
                answer = {"now_ms": fake.dataset.now_ms}
            elif (method, path) == ("GET", "/_fake/faults"):
                answer = asdict(fake.faults.settings)
            elif (method, path) == ("POST", "/_fake/faults"):
                answer = asdict(fake.faults.update(**orjson.loads(body or b"{}")))
            elif (method, path) == ("GET", "/_fake/truth") and fake.truth:
                answer = fake.truth(params["stream"][0], **truth_settings(params))
            else:
                self._send(404, b"not found")
                return
        except (LookupError, ValueError, TypeError) as exc:
            self._send(400, f"bad control request: {exc}".encode())
            return
        self._send(200, orjson.dumps(answer), {"Content-Type": "application/json"})

    # ---- sending ----

    def _send(
        self, status: int, body: bytes, headers: dict | None = None, log: RequestLog | None = None
    ) -> None:
        """A whole answer with a Content-Length; plain text unless headers say otherwise.

        Logged before it is sent, so that a client that has the answer sees it logged.
        """
        if log:
            log.answered(status)
            log.sent(len(body))
        self.send_response(status)
        for name, value in {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_chunked(self, pieces: Iterator[bytes]) -> None:
        """A 200 JSON answer sent piece by piece with chunked transfer encoding."""
        log = self.fake.log
        log.answered(200)
        self._start_json()
        try:
            for piece in pieces:
                if piece:
                    log.sent(len(piece))
                    self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
        except ConnectionError:  # the client went away: nothing left to do
            raise
        except Exception:  # a bug while streaming: too late for a status, so break the body
            traceback.print_exc(file=sys.stderr)
            self._reset()
            return
        self.wfile.write(b"0\r\n\r\n")

    def _send_cut(self, prefix: bytes) -> None:
        """A 200 whose JSON stops early, yet whose HTTP framing ends cleanly; then close."""
        log = self.fake.log
        log.fault("truncate")
        log.answered(200)
        log.sent(len(prefix))
        self._start_json(close=True)
        self.wfile.write(b"%X\r\n%s\r\n0\r\n\r\n" % (len(prefix), prefix))
        self.close_connection = True

    def _start_json(self, close: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        if close:
            self.send_header("Connection", "close")
        self.end_headers()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the socket's file descriptor closes only once its files do
        self.connection.close()
        self.close_connection = True


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def truth_settings(params: dict) -> dict:
    """Keyword arguments of the truth function from `/_fake/truth` query parameters."""
    converters: dict[str, tuple[str, Callable]] = {
        "period": ("period", str),
        "include_anonymous": ("include_anonymous", lambda v: v.lower() in ("1", "true")),
        "app_ids": ("app_ids", lambda v: [int(a) for a in v.split(",") if a]),
        "start": ("start_ms", int),
        "end": ("end_ms", int),
    }
    return {
        name: convert(params[key][0])
        for key, (name, convert) in converters.items()
        if key in params
    }


class _HTTPServer(ThreadingHTTPServer):
    def __init__(self, address: tuple, fake: FakePendoServer):
        self.fake = fake
        self.connections: set = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall without DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self._connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a tap that ended, or was killed) is no error of ours."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """End every open connection, idle keep-alive ones included."""
        with self._connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FakePendoServer:
    """The fake Pendo API over a dataset, on 127.0.0.1 in a daemon thread.

    `truth`, when given, is `truth(stream, **settings)` and backs `/_fake/truth`.
    `sleep(seconds)` makes latency and slow answers; a test may replace it.
    `hooks` (a tuple of RequestHook) run for every `/api/` request; replace the
    tuple to change them (`FakePendo.hooked` does).
    """

    def __init__(
        self,
        dataset: Any,
        key: str,
        *,
        port: int = 0,
        latency: float = 0.0,
        faults: dict | None = None,
        fault_seed: int = 1,
        truth: Callable | None = None,
    ):
        self.dataset = dataset
        self.key = key
        self.truth = truth
        self.faults = Faults(fault_seed, latency=latency, **(faults or {}))
        self.log = RequestLog()
        self.sleep: Callable[[float], Any] = time.sleep
        self.hooks: tuple = ()
        self._arrivals = 0
        self._arrivals_lock = threading.Lock()
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def count_arrival(self) -> int:
        """The number of this `/api/` request among those hooks have seen."""
        with self._arrivals_lock:
            self._arrivals += 1
            return self._arrivals

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakePendoServer:
        self._httpd = _HTTPServer(("127.0.0.1", self._port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        self._thread.join()
        self._httpd = None
