"""The fake's aggregation engine: request validation, the filter language and the steps.

Everything here is a pure function of the request and the rows: the server feeds
rows from the dataset through a `Query` that `parse_request` built. The rules
are those of `shared/pendo-api.md`, the (assumed) ones included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable

import orjson

from .periods import HOUR_MS, add_periods, period_start, period_starts

ANONYMOUS_PREFIX = "_PENDO_T_"
EVERY_APP = 'expandAppIds("*")'
PERIODS = ("dayRange", "hourRange")

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

Row = dict
Rows = Iterable[Row]
Step = Callable[[Rows], Rows]


class QueryError(ValueError):
    """A request that Pendo answers `400`; the message is the plain-text body."""


class FilterSyntaxError(QueryError):
    """A malformed filter expression."""

    def __init__(self, detail: str):
        super().__init__("Cannot parse filter expression")
        self.detail = detail


# --------------------------------------------------------------------------
# Field paths
# --------------------------------------------------------------------------


def dig(row: Any, keys: tuple) -> Any:
    """The value at a dotted path (as a key tuple); None where any part is missing."""
    for key in keys:
        if row.__class__ is not dict:
            return None
        row = row.get(key)
    return row


def getter(path: str) -> Callable[[Row], Any]:
    """A function that reads the value at `path` ("a.b.c") from a row, None if missing."""
    keys = tuple(path.split("."))
    if len(keys) == 1:
        key = keys[0]
        return lambda row: row.get(key)
    return lambda row: dig(row, keys)


# --------------------------------------------------------------------------
# Filter expressions: tokenizer, recursive-descent parser, compiler
# --------------------------------------------------------------------------

# One alternative per token kind. Identifiers may contain `-` after their first
# character (metadata groups such as `auto__-323232`): the language has no
# arithmetic, so a `-` can only start a number where an operand starts.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()])
  | (?P<path>[^\W\d][\w$-]*(?:\.[\w$-]+)*)
    """,
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_KEYWORDS = {"true": True, "false": False, "null": None}


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Path:
    keys: tuple


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Logic:
    op: str  # "&&" or "||"
    left: Any
    right: Any


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


def _unescape(match: re.Match) -> str:
    """The character that an escape in a string literal stands for: only \\" and \\\\."""
    char = match.group(1)
    if char not in '"\\':
        raise FilterSyntaxError(f"unknown escape \\{char}")
    return char


def tokenize(text: str) -> list[tuple[str, Any]]:
    """(kind, value) tokens of a filter expression; kinds: number, string, op, path, literal."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterSyntaxError(f"unexpected character at {pos}: {text[pos]!r}")
        kind, raw = match.lastgroup, match.group()
        pos = match.end()
        if kind == "number":
            is_int = re.fullmatch(r"-?\d+", raw)
            tokens.append(("literal", int(raw) if is_int else float(raw)))
        elif kind == "string":
            tokens.append(("literal", _ESCAPE.sub(_unescape, raw[1:-1])))
        elif kind == "path" and raw in _KEYWORDS:
            tokens.append(("literal", _KEYWORDS[raw]))
        elif kind != "ws":
            tokens.append((kind, raw))
    return tokens


class _Parser:
    """Recursive descent over the tokens. Precedence, tightest first: `!`, comparisons, `&&`, `||`.

    Comparisons do not chain: `a == b == c` is malformed.
    """

    def __init__(self, tokens: list):
        self.tokens = tokens
        self.pos = 0

    def parse(self):
        if not self.tokens:
            raise FilterSyntaxError("empty expression")
        node = self.disjunction()
        if self.pos != len(self.tokens):
            raise FilterSyntaxError(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def peek_op(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op":
            return self.tokens[self.pos][1]
        return None

    def disjunction(self):
        node = self.conjunction()
        while self.peek_op() == "||":
            self.pos += 1
            node = Logic("||", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.comparison()
        while self.peek_op() == "&&":
            self.pos += 1
            node = Logic("&&", node, self.comparison())
        return node

    def comparison(self):
        node = self.unary()
        op = self.peek_op()
        if op in _COMPARISONS:
            self.pos += 1
            node = Compare(op, node, self.unary())
            if self.peek_op() in _COMPARISONS:
                raise FilterSyntaxError("comparisons do not chain")
        return node

    def unary(self):
        op = self.peek_op()
        if op == "!":
            self.pos += 1
            return Not(self.unary())
        if op == "(":
            self.pos += 1
            node = self.disjunction()
            if self.peek_op() != ")":
                raise FilterSyntaxError("missing )")
            self.pos += 1
            return node
        if self.pos == len(self.tokens):
            raise FilterSyntaxError("expression ends too early")
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "literal":
            return Literal(value)
        if kind == "path":
            return Path(tuple(value.split(".")))
        raise FilterSyntaxError(f"unexpected {value!r}")


def parse_filter(text: str):
    """The syntax tree of a filter expression; FilterSyntaxError when malformed."""
    if not isinstance(text, str):
        raise FilterSyntaxError("the filter is not a string")
    return _Parser(tokenize(text)).parse()


def _kind(value: Any) -> str:
    """The contract's type of a JSON value: values of different kinds never compare."""
    cls = value.__class__
    if cls is bool:
        return "bool"
    if cls is int or cls is float:
        return "number"
    if cls is str:
        return "string"
    return "other"


_KIND_CLASSES = {"bool": (bool,), "number": (int, float), "string": (str,)}


def compare(op: str, left: Any, right: Any) -> bool:
    """The contract's comparison of two values, neither of them the `null` literal.

    A missing or null value makes every comparison false; values of different
    kinds are never equal (so `!=` is true) and never ordered; objects and
    lists are only equal or not.
    """
    if left is None or right is None:
        return False
    same = _kind(left) == _kind(right)
    if op == "==":
        return same and left == right
    if op == "!=":
        return not same or left != right
    if not same or _kind(left) == "other":
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


class _Compiler:
    """Turns a syntax tree into the source of one Python expression over the row `r`.

    Literals go into the namespace as constants; comparisons of a field with a
    literal are inlined (the common, hot case), the rest call `compare`.
    """

    def __init__(self):
        self.namespace: dict[str, Any] = {"compare": compare, "dig": dig}
        self.temps = 0

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def value(self, node) -> str:
        """An expression for the node's value: a JSON value, or a bool for logic nodes."""
        if isinstance(node, Literal):
            return self.constant(node.value)
        if isinstance(node, Path):
            if len(node.keys) == 1:
                return f"r.get({self.constant(node.keys[0])})"
            return f"dig(r, {self.constant(node.keys)})"
        return self.truth(node)

    def truth(self, node) -> str:
        """An expression for the node as a condition: a bare value holds only when it is `true`."""
        if isinstance(node, Not):
            return f"(not {self.truth(node.operand)})"
        if isinstance(node, Logic):
            joiner = " and " if node.op == "&&" else " or "
            return f"({self.truth(node.left)}{joiner}{self.truth(node.right)})"
        if isinstance(node, Compare):
            return self.comparison(node)
        return f"({self.value(node)} is True)"

    def comparison(self, node: Compare) -> str:
        op, left, right = node.op, node.left, node.right
        if _is_null(left) or _is_null(right):
            other = self.value(right if _is_null(left) else left)
            return {"==": f"({other} is None)", "!=": f"({other} is not None)"}.get(op, "False")
        if isinstance(left, Literal) and not isinstance(right, Literal):
            op, left, right = _MIRROR[op], right, left
        if not isinstance(right, Literal) or isinstance(left, Literal):
            return f"compare({op!r}, {self.value(left)}, {self.value(right)})"
        classes = self.constant(_KIND_CLASSES[_kind(right.value)])
        const, tmp = self.constant(right.value), self.temp()
        bound = f"({tmp} := {self.value(left)})"
        if op == "!=":
            return (
                f"({bound} is not None and ({tmp}.__class__ not in {classes} or {tmp} != {const}))"
            )
        return f"({bound}.__class__ in {classes} and {tmp} {op} {const})"


def _is_null(node) -> bool:
    return isinstance(node, Literal) and node.value is None


def compile_filter(text: str) -> Callable[[Row], bool]:
    """A fast predicate over rows for a filter expression; FilterSyntaxError when malformed."""
    compiler = _Compiler()
    source = "lambda r: " + compiler.truth(parse_filter(text))
    return eval(compile(source, "<filter>", "eval"), compiler.namespace)


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


# --------------------------------------------------------------------------
# timeSeries
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeSeries:
    """The periods of a timeSeries: every period start in [lo, hi); lo is a period start.

    `lo` is the start of the request's first period (`first` rounded down; with
    a negative count, the earliest of the periods counted back), also when the
    request names no period at all: it is the answer's `startTime`.
    """

    period: str
    lo: int
    hi: int
    tz: str

    def starts(self, since_ms: int | None = None, until_ms: int | None = None) -> list[int]:
        """The period starts, ascending.

        Only those of periods that contain or follow `since_ms`, and that start
        no later than `until_ms`, when given: the periods where data can be.
        """
        lo = (
            self.lo
            if since_ms is None
            else max(self.lo, period_start(since_ms, self.period, self.tz))
        )
        hi = self.hi if until_ms is None else min(self.hi, until_ms + 1)
        if self.period == "hourRange":
            return list(range(lo, max(hi, lo), HOUR_MS))
        return list(period_starts(lo, hi, self.period, self.tz))

    def span_ms(self) -> int:
        """From the start of the first period to the end of the last one; 0 for no period.

        The periods tile the time line, so the last one whose start lies
        before `hi` is the one that contains `hi - 1`.
        """
        if self.hi <= self.lo:
            return 0
        last = period_start(self.hi - 1, self.period, self.tz)
        return add_periods(last, 1, self.period, self.tz) - self.lo


def _instant(value: Any, now_ms: int) -> int:
    """Epoch ms of a timeSeries bound: an integer, a string of digits or "now()"."""
    if value == "now()":
        return now_ms
    if value.__class__ is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(f"bad time {value!r}")


def resolve_time_series(spec: Any, tz: str, now_ms: int) -> TimeSeries:
    """The periods that a timeSeries object names; ValueError when it is malformed.

    `first` is rounded down to its period's start in `tz`. With `last`, the
    periods start in [round(first), last); with `count` N, they are the N
    periods from round(first), or for a negative N the -N periods before it.
    """
    if not isinstance(spec, dict) or spec.get("period") not in PERIODS or "first" not in spec:
        raise ValueError("a timeSeries needs a period and a first")
    ends = {"count", "last"} & spec.keys()
    if len(ends) != 1 or len(spec) != 3:
        raise ValueError("a timeSeries has exactly one of count and last")
    period = spec["period"]
    lo = period_start(_instant(spec["first"], now_ms), period, tz)
    if "last" in spec:
        return TimeSeries(period, lo, _instant(spec["last"], now_ms), tz)
    count = spec["count"]
    if count.__class__ is not int:
        raise ValueError("count is not an integer")
    try:
        other = add_periods(lo, count, period, tz)
    except (OverflowError, ValueError) as exc:
        raise ValueError("count out of range") from exc
    return TimeSeries(period, min(lo, other), max(lo, other), tz)


# --------------------------------------------------------------------------
# The request
# --------------------------------------------------------------------------


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
