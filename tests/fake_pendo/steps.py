"""The engine's pipeline steps after the source: filter, sort, limit, count, select
and identified, each a function from rows to rows; and the sort order of mixed
values.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any, Callable

import orjson

from .constants import ANONYMOUS_PREFIX
from .filters import QueryError, Row, _kind, compile_filter, getter

Rows = Iterable[Row]
Step = Callable[[Rows], Rows]


# --------------------------------------------------------------------------
# Sorting
# --------------------------------------------------------------------------

# Rank of each kind of value, so that mixed kinds sort deterministically.
# Null ranks lowest ascending and highest descending: first in both directions.
_RANKS = {"bool": 1, "number": 2, "string": 3, "other": 4}
_NULL_ASCENDING, _NULL_DESCENDING = 0, 5


def _sort_key(path: str, descending: bool) -> Callable[[Row], tuple]:
    get = getter(path)
    null_key = (_NULL_DESCENDING if descending else _NULL_ASCENDING, 0)

    def key(row: Row) -> tuple:
        value = get(row)
        if value is None:
            return null_key
        kind = _kind(value)
        if kind == "other":
            return (_RANKS[kind], orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
        return (_RANKS[kind], value)

    return key


def sort_rows(rows: Rows, fields: list[str]) -> list[Row]:
    """A new list of the rows, sorted stably on the fields; `-field` sorts descending.

    One stable pass per field, from the last field to the first, gives the
    multi-key order.
    """
    ordered = list(rows)
    for name in reversed(fields):
        descending = name.startswith("-")
        path = name[1:] if descending else name
        ordered.sort(key=_sort_key(path, descending), reverse=descending)
    return ordered


# --------------------------------------------------------------------------
# Pipeline steps
# --------------------------------------------------------------------------


def _is_anonymous(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(ANONYMOUS_PREFIX)


def _is_identified(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(ANONYMOUS_PREFIX)


def select_row(row: Row, getters: dict) -> Row:
    """The named values of a row; a missing or null value is left out."""
    out = {}
    for name, get in getters.items():
        value = get(row)
        if value is not None:
            out[name] = value
    return out


def _filter_step(arg: Any) -> Step:
    predicate = compile_filter(arg)
    return lambda rows: filter(predicate, rows)


def _sort_step(arg: Any) -> Step:
    if not isinstance(arg, list) or not arg or not all(_is_field_name(f) for f in arg):
        raise QueryError("bad parameters for step sort")
    return lambda rows: sort_rows(rows, arg)


def _is_field_name(name: Any) -> bool:
    return isinstance(name, str) and name.lstrip("-") != ""


def _limit_step(arg: Any) -> Step:
    if arg.__class__ is not int or arg < 0:
        raise QueryError("bad parameters for step limit")
    return lambda rows: islice(rows, arg)


def _count_step(arg: Any) -> Step:
    if arg is not None:
        raise QueryError("bad parameters for step count")
    return lambda rows: [{"count": sum(1 for _ in rows)}]


def _select_step(arg: Any) -> Step:
    if not isinstance(arg, dict) or not all(isinstance(p, str) and p for p in arg.values()):
        raise QueryError("bad parameters for step select")
    getters = {name: getter(path) for name, path in arg.items()}
    return lambda rows: (select_row(row, getters) for row in rows)


def _identified_step(arg: Any) -> Step:
    """`"visitorId"` keeps identified visitors, `"!visitorId"` anonymous ones.

    A row without the field is neither, so it is dropped either way.
    """
    if not isinstance(arg, str) or arg.lstrip("!") == "":
        raise QueryError("bad parameters for step identified")
    get = getter(arg[1:] if arg.startswith("!") else arg)
    wanted = _is_anonymous if arg.startswith("!") else _is_identified
    return lambda rows: (row for row in rows if wanted(get(row)))


STEPS = {
    "filter": _filter_step,
    "sort": _sort_step,
    "limit": _limit_step,
    "count": _count_step,
    "select": _select_step,
    "identified": _identified_step,
}


def build_step(step: Any) -> Step:
    """The function for one pipeline step after the source; QueryError for a bad one."""
    if not isinstance(step, dict) or len(step) != 1:
        raise QueryError("a pipeline step is an object with one key")
    ((name, arg),) = step.items()
    if name not in STEPS:
        raise QueryError(f"unknown step type '{name}'")
    return STEPS[name](arg)
