"""The fake's aggregation engine: request validation, the filter language and the steps.

Everything here is a pure function of the request and the rows: the server feeds
rows from the dataset through a `Query` that `parse_request` built. The rules
are those of `shared/pendo-api.md`, the (assumed) ones included.

This module parses a request and its source step; the filter language is in
`filters.py`, the other steps in `steps.py`, timeSeries in `time_series.py`.
Their public names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

from .filters import (
    Compare,
    FilterSyntaxError,
    Literal,
    Logic,
    Not,
    Path,
    QueryError,
    Row,
    compare,
    compile_filter,
    dig,
    getter,
    parse_filter,
    tokenize,
)
from .steps import (
    ANONYMOUS_PREFIX,
    STEPS,
    Rows,
    Step,
    _is_identified,
    build_step,
    select_row,
    sort_rows,
)
from .time_series import PERIODS, TimeSeries, resolve_time_series

__all__ = [
    "ANONYMOUS_PREFIX",
    "ENTITY_SOURCES",
    "EVENT_SOURCE_IDS",
    "EVERY_APP",
    "PERIODS",
    "SOURCE_PARAMS",
    "STEPS",
    "Compare",
    "FilterSyntaxError",
    "Literal",
    "Logic",
    "Not",
    "Path",
    "Query",
    "QueryError",
    "Row",
    "Rows",
    "Source",
    "Step",
    "TimeSeries",
    "build_step",
    "compare",
    "compile_filter",
    "dig",
    "getter",
    "parse_filter",
    "parse_request",
    "parse_source",
    "request_time_series",
    "resolve_time_series",
    "select_row",
    "sort_rows",
    "source_predicate",
    "tokenize",
]

EVERY_APP = 'expandAppIds("*")'

# Event sources take a timeSeries; their entity-id parameters filter the row
# field of the same name.
EVENT_SOURCE_IDS = {
    "events": (),
    "featureEvents": ("featureId",),
    "pageEvents": ("pageId",),
    "trackEvents": ("trackTypeId",),
    "guideEvents": ("guideId",),
    "pollEvents": ("guideId", "pollId"),
}
ENTITY_SOURCES = ("accounts", "visitors", "features", "pages", "guides", "trackTypes")
SOURCE_PARAMS = {
    "visitors": {"identified"},
    **{name: {"appId"} for name in ENTITY_SOURCES if name != "visitors"},
    **{name: {"appId", *ids} for name, ids in EVENT_SOURCE_IDS.items()},
}


@dataclass(frozen=True)
class Source:
    """A validated source step.

    `app_ids` is None for every app, else the wanted app ids (the default app
    when the request names none). `ids` maps entity-id fields to wanted values.
    """

    name: str
    app_ids: frozenset | None
    ids: dict = field(default_factory=dict)
    identified_only: bool = False
    time_series: TimeSeries | None = None


def _app_ids(value: Any) -> frozenset | None:
    """The app ids an `appId` parameter names, None for every app; ValueError if bad."""
    if value == EVERY_APP:
        return None
    if value.__class__ is int:
        return frozenset([value])
    if isinstance(value, list) and all(v.__class__ is int for v in value):
        return frozenset(value)
    raise ValueError(f"bad appId {value!r}")


def _params(name: str, params: Any, default_app: int) -> dict:
    """Keyword arguments of `Source` from a source's parameters; ValueError if bad.

    The parameters may be null or `{}`, and a parameter that is null is the
    same as one left out (`{"appId": null}` is the default app). A parameter
    the source does not take is bad, null or not.
    """
    params = {} if params is None else params
    if not isinstance(params, dict) or not params.keys() <= SOURCE_PARAMS[name]:
        raise ValueError("unknown parameter")
    params = {key: value for key, value in params.items() if value is not None}
    out: dict = {"app_ids": None if name == "visitors" else frozenset([default_app])}
    if "appId" in params:
        out["app_ids"] = _app_ids(params["appId"])
    if "identified" in params:
        if params["identified"].__class__ is not bool:
            raise ValueError("identified is not a boolean")
        out["identified_only"] = params["identified"]
    ids = {k: v for k, v in params.items() if k not in ("appId", "identified")}
    if not all(isinstance(v, str) for v in ids.values()):
        raise ValueError("entity ids are strings")
    out["ids"] = ids
    return out


def parse_source(step: Any, tz: str, now_ms: int, default_app: int) -> Source:
    """Validate a `{"source": {...}}` step; QueryError `bad parameters for source type X`."""
    spec = step.get("source") if isinstance(step, dict) and len(step) == 1 else None
    if not isinstance(spec, dict):
        raise QueryError("the first step must be a source")
    names = [key for key in spec if key != "timeSeries"]
    if len(names) != 1:
        raise QueryError(f"bad parameters for source type {'/'.join(names) or 'none'}")
    name = names[0]
    try:
        if name not in SOURCE_PARAMS:
            raise ValueError("unknown source")
        kwargs = _params(name, spec[name], default_app)
        if (name in EVENT_SOURCE_IDS) != ("timeSeries" in spec):
            raise ValueError("timeSeries is required for event sources, and only for them")
        if "timeSeries" in spec:
            kwargs["time_series"] = resolve_time_series(spec["timeSeries"], tz, now_ms)
    except ValueError as exc:
        raise QueryError(f"bad parameters for source type {name}") from exc
    return Source(name, **kwargs)


@dataclass(frozen=True)
class Query:
    """A validated aggregation: its source and the steps to run over the source's rows."""

    source: Source
    steps: tuple

    def run(self, rows: Rows) -> Iterator[Row]:
        """The result rows, lazily where the steps allow."""
        for step in self.steps:
            rows = step(rows)
        return iter(rows)


def parse_request(body: Any, *, tz: str, now_ms: int, default_app: int) -> Query:
    """Validate an aggregation request body; QueryError carries the 400 message."""
    request = body.get("request") if isinstance(body, dict) else None
    pipeline = request.get("pipeline") if isinstance(request, dict) else None
    if not isinstance(pipeline, list) or not pipeline:
        raise QueryError("the request has no pipeline")
    source = parse_source(pipeline[0], tz, now_ms, default_app)
    return Query(source, tuple(build_step(step) for step in pipeline[1:]))


def request_time_series(body: Any, *, tz: str, now_ms: int) -> TimeSeries | None:
    """The periods that an aggregation body's source names; None without a valid timeSeries.

    For the request log: it looks at the source's timeSeries alone, whatever
    the rest of the request.
    """
    try:
        spec = body["request"]["pipeline"][0]["source"]["timeSeries"]
        return resolve_time_series(spec, tz, now_ms)
    except (LookupError, TypeError, ValueError):
        return None


def source_predicate(
    source: Source, account_apps: Callable[[str], set]
) -> Callable[[Row], bool] | None:
    """A predicate for the source's own parameters (apps, entity ids, identified); None if none.

    Accounts belong to the apps they have activity in (`account_apps`); the
    other sources carry `appId` on each row.
    """
    checks: list = []
    apps = source.app_ids
    if source.name == "accounts" and apps is not None:
        checks.append(lambda row: not apps.isdisjoint(account_apps(row["accountId"])))
    elif source.name == "accounts":
        checks.append(lambda row: bool(account_apps(row["accountId"])))
    elif apps is not None:
        checks.append(lambda row: row.get("appId") in apps)
    for name, wanted in source.ids.items():
        checks.append(lambda row, name=name, wanted=wanted: row.get(name) == wanted)
    if source.identified_only:
        checks.append(lambda row: _is_identified(row.get("visitorId")))
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda row: all(check(row) for check in checks)
