"""The engine's filter language: field paths, a tokenizer, a recursive-descent
parser and a compiler to Python predicates; and the engine's errors.

`QueryError` (a `400` from Pendo) lives here, at the bottom of the engine, so
that the filter language, the steps and the request parsing all raise it.
The rules are those of `shared/pendo-api.md`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

Row = dict


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
