"""The fake server's `/api/` endpoints: which endpoint a path names, and the body of
each. Each body function returns the pieces of a JSON body, or raises
QueryError (a `400`); the server (server.py) sends the pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from .query import SOURCE_PARAMS, QueryError, parse_request, request_time_series, source_predicate

BATCH_ROWS = 2000

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


def _route(method: str, path: str) -> tuple | None:
    """(endpoint kind, path argument) of an `/api/` path, None if it has no endpoint."""
    for route_method, pattern, kind in ROUTES:
        match = pattern.fullmatch(path)
        if match and method == route_method:
            return kind, (match.group(1) if pattern.groups else None)
    return None


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
