"""Aggregation request bodies and keyset paging filters, as pure functions.

Every literal that goes into a filter expression passes through `literal()`,
the one place where strings are escaped.
"""

from collections.abc import Sequence
from typing import Optional

ALL_APPS = 'expandAppIds("*")'
# Which parameters a source takes (see source_params).
APPS = "apps"  # appId: every app, or the configured ones
IDENTIFIED = "identified"  # visitors: anonymous ones only when the config includes them


def literal(value) -> str:
    """A filter-expression literal: `"a\\"b"`, `12`, `true`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def app_id_param(app_ids: Sequence[int]):
    """`appId` for a source: every app when none are configured."""
    if not app_ids:
        return ALL_APPS
    return app_ids[0] if len(app_ids) == 1 else list(app_ids)


def source_step(source: str, params: Optional[dict], time_series: Optional[dict] = None) -> dict:
    """The pipeline's first step."""
    step = {"source": {source: params}}
    if time_series is not None:
        step["source"]["timeSeries"] = time_series
    return step


def time_series(period: str, first_ms: int, last_ms: int) -> dict:
    """Periods whose start lies in [round(first_ms), last_ms)."""
    return {"period": period, "first": first_ms, "last": last_ms}


def one_period(period: str, at_ms: int) -> dict:
    """The one period that contains `at_ms` (Pendo rounds `first` down to its start)."""
    return {"period": period, "first": at_ms, "count": 1}


def source_params(kind: str, app_ids: Sequence[int], include_anonymous: bool) -> Optional[dict]:
    """A source's parameters: `appId` (every app, or the configured ones), or, for
    visitors, `identified` unless anonymous visitors are included."""
    if kind == IDENTIFIED:
        return None if include_anonymous else {"identified": True}
    return {"appId": app_id_param(app_ids)}


def request_body(request_id: str, pipeline: list) -> dict:
    """The envelope of POST /api/v1/aggregation."""
    return {
        "response": {"mimeType": "application/json"},
        "request": {"requestId": request_id, "pipeline": pipeline},
    }


def all_of(*expressions: Optional[str]) -> Optional[str]:
    """`(a) && (b)`, leaving out the Nones."""
    parts = [e for e in expressions if e]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " && ".join(f"({p})" for p in parts)


def any_of(*expressions: Optional[str]) -> Optional[str]:
    """`(a) || (b)`, leaving out the Nones."""
    parts = [e for e in expressions if e]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " || ".join(f"({p})" for p in parts)


def after(fields: Sequence[str], values: Sequence) -> str:
    """Rows strictly after `values` in the order `sort: fields` (all ascending).

    Pendo sorts missing and null values first and compares nothing with null,
    so a null position is passed by `!= null` and matched by `== null`.
    """
    clauses = []
    for i, field in enumerate(fields):
        equal_before = [_equals(f, v) for f, v in zip(fields[:i], values[:i])]
        clauses.append(all_of(*equal_before, _greater(field, values[i])))
    return any_of(*clauses)


def _equals(field: str, value) -> str:
    return f"{field} == {literal(value)}"


def _greater(field: str, value) -> str:
    if value is None:
        return f"{field} != null"
    return f"{field} > {literal(value)}"


def at_or_after(field: str, ms: int) -> str:
    """`field >= ms`."""
    return f"{field} >= {ms}"


def before(field: str, ms: int) -> str:
    """`field < ms`."""
    return f"{field} < {ms}"


def unset(field: str) -> str:
    """Rows with no value in `field` (missing or null)."""
    return f"{field} == null"


def unset_or_since(field: str, ms: int) -> str:
    """Rows with no value in `field`, or one at or after `ms`: nothing without a value is
    lost, and rows that share the bookmark's value are read again, never skipped."""
    return any_of(unset(field), at_or_after(field, ms))


def keyset_page(
    source: dict, where: Optional[str], order: Sequence[str], position, limit: int
) -> list:
    """One page of keyset pagination: filter, sort on a total order, limit."""
    filters = all_of(where, after(order, position) if position is not None else None)
    pipeline = [source]
    if filters:
        pipeline.append({"filter": filters})
    pipeline += [{"sort": list(order)}, {"limit": limit}]
    return pipeline
