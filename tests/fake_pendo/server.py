"""The fake Pendo's HTTP server: the v1 endpoints of `shared/pendo-api.md`, faults and a log.

A stdlib `ThreadingHTTPServer` on the loopback interface, HTTP/1.1 with
keep-alive. JSON answers go out with chunked transfer encoding, serialized a
batch of rows at a time, so that a million-row aggregation needs neither the
whole body in memory nor more than a few seconds.

Control endpoints under `/_fake/` (no key, never logged) let a test in another
process read the log, reset it, move the clock, change the faults and read the
ground truth.
"""

from __future__ import annotations

import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from socketserver import TCPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from .periods import HOUR_MS
from .query import (
    SOURCE_PARAMS,
    QueryError,
    parse_request,
    request_time_series,
    source_predicate,
)

KEY_HEADER = "x-pendo-integration-key"
BATCH_ROWS = 2000
ENDPOINT_KINDS = ("aggregation", "metadata", "history", "entity_list", "segment", "report", "other")
FAULT_KINDS = ("429", "5xx", "reset", "truncate", "slow", "html")
FIVE_XX = (500, 502, 503)
# A request of the tap spans at most this much time of periods (the contract's limit).
SPAN_LIMIT_MS = 25 * HOUR_MS
# What a corporate proxy or a maintenance page answers in place of Pendo: 200, HTML.
HTML_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in to continue</h1>
<form method="post" action="/login">
<label>User name <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form>
</body>
</html>
"""

# (method, path pattern, endpoint kind). The visitor id of a history call is
# one URL-encoded path segment: an unencoded `/` in it does not match.
ROUTES = (
    ("POST", re.compile(r"/api/v1/aggregation"), "aggregation"),
    ("GET", re.compile(r"/api/v1/metadata/schema/(account|visitor)"), "metadata"),
    ("GET", re.compile(r"/api/v1/visitor/([^/]+)/history"), "history"),
    ("GET", re.compile(r"/api/v1/(page|feature|guide|tracktype)"), "entity_list"),
    ("GET", re.compile(r"/api/v1/segment"), "segment"),
    ("GET", re.compile(r"/api/v1/report"), "report"),
)


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultSettings:
    """Probabilities of each fault per `/api/` request, and the fixed costs.

    At most one fault hits a request; the probabilities add up to at most 1.
    """

    p429: float = 0.0
    p5xx: float = 0.0
    preset: float = 0.0
    ptruncate: float = 0.0
    pslow: float = 0.0
    phtml: float = 0.0
    slow_seconds: float = 2.0
    retry_after: int = 1
    latency: float = 0.0

    def probabilities(self) -> tuple:
        """(fault kind, probability) in FAULT_KINDS order."""
        chances = (self.p429, self.p5xx, self.preset, self.ptruncate, self.pslow, self.phtml)
        return tuple(zip(FAULT_KINDS, chances))

    def check(self) -> None:
        """ValueError unless every value is in range."""
        chances = [p for _, p in self.probabilities()]
        numbers = [*chances, self.slow_seconds, self.retry_after, self.latency]
        if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
            raise ValueError("fault settings are numbers")
        if min(numbers) < 0 or max(chances) > 1 or sum(chances) > 1:
            raise ValueError("probabilities lie in [0, 1] and add up to at most 1")
        if not isinstance(self.retry_after, int):
            raise ValueError("retry_after is a whole number of seconds")


@dataclass(frozen=True)
class Fault:
    """One drawn fault: its kind, the status it answers, where a cut body stops (0..1)."""

    kind: str
    status: int = 0
    fraction: float = 0.0


class Faults:
    """Fault settings that change at run time, and their own seeded random stream."""

    def __init__(self, seed: int, **settings: Any):
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self.update(**settings)

    def update(self, **changes: Any) -> FaultSettings:
        """Change some settings; ValueError for an unknown name or a bad value."""
        unknown = set(changes) - {f.name for f in fields(FaultSettings)}
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        with self._lock:
            settings = replace(self.settings, **changes)
            settings.check()
            self.settings = settings
        return settings

    def draw(self) -> Fault | None:
        """The fault for the next request, if any."""
        with self._lock:
            roll = self._rng.random()
            for kind, chance in self.settings.probabilities():
                if roll < chance:
                    return Fault(kind, self._rng.choice(FIVE_XX), self._rng.random())
                roll -= chance
        return None


# --------------------------------------------------------------------------
# Request log
# --------------------------------------------------------------------------


class RequestLog:
    """Thread-safe counts of `/api/` requests, answers, faults and bytes sent.

    For each aggregation request whose source has a valid timeSeries, the span
    of time its periods cover is kept too (see `snapshot`, and `spans`).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = Counter()
            self._sources = Counter()
            self._statuses = Counter()
            self._faults = Counter()
            self._bytes = 0
            self._spans: list = []

    def request(self, kind: str, source: str | None = None, span_ms: int | None = None) -> None:
        """One request; `span_ms` is the span of its timeSeries' periods, None without one."""
        with self._lock:
            self._requests[kind] += 1
            if source:
                self._sources[source] += 1
            if span_ms is not None:
                self._spans.append(span_ms)

    def spans(self) -> list:
        """The span (ms) of every timeSeries request, in the order they came."""
        with self._lock:
            return list(self._spans)

    def answered(self, status: int) -> None:
        with self._lock:
            self._statuses[f"{status // 100}xx"] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def sent(self, nbytes: int) -> None:
        with self._lock:
            self._bytes += nbytes

    def snapshot(self) -> dict:
        """The counts; every endpoint kind, source, status class and fault kind is present.

        `responses` counts answers by status class (injected 429 and 5xx
        included); a reset connection has no answer and counts only as a fault.
        `faults` counts the faults injected (a drawn cut only where a body was
        cut, not where the request got a 400). `bytes_sent` counts response bodies.
        `time_series` describes the aggregation requests whose source has a valid
        timeSeries, whatever their answer: how many, the longest span of periods
        one covered (from the start of its first period to the end of its last,
        0 for a request that names no period), and how many spanned more than
        25 hours.
        """
        with self._lock:
            spans = self._spans
            return {
                "requests": {kind: self._requests[kind] for kind in ENDPOINT_KINDS},
                "total": sum(self._requests.values()),
                "sources": {name: self._sources[name] for name in SOURCE_PARAMS},
                "responses": {c: self._statuses[c] for c in ("2xx", "4xx", "5xx")},
                "faults": {kind: self._faults[kind] for kind in FAULT_KINDS},
                "bytes_sent": self._bytes,
                "time_series": {
                    "requests": len(spans),
                    "longest_span_ms": max(spans, default=0),
                    "over_25_hours": sum(span > SPAN_LIMIT_MS for span in spans),
                },
            }


# --------------------------------------------------------------------------
# Endpoints: each returns the pieces of a JSON body, or raises QueryError (400)
# --------------------------------------------------------------------------


def _batches(rows: Iterable, size: int) -> Iterator[list]:
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def aggregation_body(start_time: int, rows: Iterable) -> Iterator[bytes]:
    """`{"startTime": ..., "results": [...]}` in pieces: a head, batches of rows, a tail.

    Every piece between the head and the tail lies inside the results array.
    """
    yield b'{"startTime":%d,"results":[' % start_time
    separator = b""
    for batch in _batches(rows, BATCH_ROWS):
        yield separator + orjson.dumps(batch)[1:-1]
        separator = b","
    yield b"]}"


def source_rows(dataset: Any, query: Any, now_ms: int) -> Iterable:
    """The rows of the query's source as Pendo sees them: its parameters applied.

    Only the periods between the first activity and now reach the dataset: a
    timeSeries from the epoch names half a million empty hours.
    """
    source = query.source
    if source.time_series is None:
        rows = dataset.entities(source.name)
    else:
        starts = source.time_series.starts(since_ms=dataset.first_activity_ms(), until_ms=now_ms)
        rows = dataset.event_rows(source.name, source.time_series.period, starts)
    predicate = source_predicate(source, dataset.account_apps)
    return rows if predicate is None else filter(predicate, rows)


def run_aggregation(dataset: Any, raw_body: bytes) -> Iterator[bytes]:
    """Validate and run an aggregation request; its answer in pieces.

    `startTime` is the start of the request's first period for a source with
    a timeSeries (rows or none), the clock for the others.
    """
    try:
        body = orjson.loads(raw_body)
    except orjson.JSONDecodeError as exc:
        raise QueryError("the request body is not JSON") from exc
    now_ms = dataset.now_ms
    query = parse_request(body, tz=dataset.tz, now_ms=now_ms, default_app=dataset.default_app)
    series = query.source.time_series
    start_time = now_ms if series is None else series.lo
    return aggregation_body(start_time, query.run(source_rows(dataset, query, now_ms)))


def _aggregation_facts(raw_body: bytes, tz: str, now_ms: int) -> tuple:
    """(source name, span of its timeSeries in ms) of an aggregation body, for the log.

    Either is None where the body has no valid one.
    """
    try:
        body = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        return None, None
    try:
        names = [name for name in body["request"]["pipeline"][0]["source"] if name in SOURCE_PARAMS]
    except (LookupError, TypeError):
        names = []
    series = request_time_series(body, tz=tz, now_ms=now_ms)
    span = None if series is None else series.span_ms()
    return (names[0] if len(names) == 1 else None), span


def history_body(dataset: Any, visitor_id: str, query: str) -> Iterator[bytes]:
    starttime = parse_qs(query).get("starttime", [""])[0]
    if not re.fullmatch(r"-?\d+", starttime):
        raise QueryError("starttime is required, in epoch ms")
    yield orjson.dumps(dataset.history(unquote(visitor_id), int(starttime)))


def entity_list_body(dataset: Any, kind: str, query: str) -> Iterator[bytes]:
    expand = parse_qs(query).get("expand") == ["*"]
    yield orjson.dumps(dataset.entity_list(kind, expand))


def metadata_body(dataset: Any, kind: str) -> Iterator[bytes]:
    yield orjson.dumps(dataset.metadata_schema(kind))


def saved_body(dataset: Any, kind: str) -> Iterator[bytes]:
    """`GET /api/v1/segment` or `/api/v1/report`: every item, one array; the query is ignored."""
    yield orjson.dumps(dataset.segments() if kind == "segment" else dataset.reports())


def cut(pieces: Iterator[bytes], fraction: float) -> bytes:
    """A prefix of a JSON body that stops inside it.

    A body in several pieces (an aggregation) stops inside its first batch of
    rows, so inside the results array; a one-piece body stops anywhere after
    its first byte.
    """
    head = next(pieces)
    following = next(pieces, None)
    if following is None:
        return head[: 1 + int(fraction * (len(head) - 2))]
    return head + following[: int(fraction * (len(following) - 1))]


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


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
        settings = fake.faults.settings
        if settings.latency:
            fake.sleep(settings.latency)
        if self.headers.get(KEY_HEADER) != fake.key:
            self._send(403, b"", log=fake.log)
            return
        fault = fake.faults.draw()
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


def _route(method: str, path: str) -> tuple | None:
    """(endpoint kind, path argument) of an `/api/` path, None if it has no endpoint."""
    for route_method, pattern, kind in ROUTES:
        match = pattern.fullmatch(path)
        if match and method == route_method:
            return kind, (match.group(1) if pattern.groups else None)
    return None


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
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

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
