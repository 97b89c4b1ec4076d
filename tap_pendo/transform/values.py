"""One value to fit its column's JSON schema: the full converters, which coerce where it is
safe (`"42"` for an integer), and the fast path that most values take."""

import re
from typing import Callable, Optional

from ..timefmt import ms_to_rfc3339
from .names import rename_deep


class Unconvertible(Exception):
    """A value that the schema cannot hold, even after coercion."""


class Nothing:
    """A type no value has: fields that always need their full converter."""


class DateTime:
    """The fast function of a date-time column: epoch ms to RFC3339 (resolved by the mapper,
    which inlines it)."""


class RepeatingDateTime(DateTime):
    """A date-time that repeats row after row (a period start): remembered whole."""


def _types(schema: dict) -> set:
    kind = schema.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def value_converter(schema: dict, rename_nested=True) -> Callable:
    """A function that makes one value fit `schema`, coercing where it safely can."""
    types = _types(schema)
    nullable = "null" in types or not types
    if not types or len(types - {"null"}) > 1:
        return lambda value: value
    if schema.get("format") == "date-time":
        return _nullable(nullable, _to_datetime)
    (kind,) = types - {"null"}
    convert = {
        "integer": _to_integer,
        "number": _to_number,
        "boolean": _to_boolean,
        "string": _to_string,
        "object": _object_converter(rename_nested),
        "array": _to_array if rename_nested else _expect(list),
    }[kind]
    return _nullable(nullable, convert)


def fast_path(schema: dict, rename_nested=True) -> tuple:
    """`(type, function)`: values of that type fit `schema` once passed through the function
    (None: as they are; DateTime: epoch ms to text). Anything else takes the full converter."""
    types = _types(schema) - {"null"}
    if len(types) != 1:
        return Nothing, None
    if schema.get("format") == "date-time":
        return int, DateTime
    (kind,) = types
    if kind in ("object", "array") and rename_nested:
        return Nothing, None  # names inside must be renamed
    simple = {
        "string": str,
        "integer": int,
        "boolean": bool,
        "number": float,
        "object": dict,
        "array": list,
    }
    return simple[kind], None


def _nullable(nullable: bool, convert: Callable) -> Callable:
    def converter(value):
        if value is None:
            if nullable:
                return None
            raise Unconvertible("null where a value is required")
        return convert(value)

    return converter


def _to_datetime(value):
    if type(value) is int:
        return ms_to_rfc3339(value)
    if isinstance(value, float) and value.is_integer():
        return ms_to_rfc3339(int(value))
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return ms_to_rfc3339(int(value))
    raise Unconvertible(f"{value!r} is not a time in epoch ms")


def _to_integer(value):
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise Unconvertible(f"{value!r} is not an integer")


def _to_number(value):
    if type(value) in (int, float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise Unconvertible(f"{value!r} is not a number")


def _to_boolean(value):
    if type(value) is bool:
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Unconvertible(f"{value!r} is not a boolean")


def _to_string(value):
    if type(value) is str:
        return value
    if type(value) in (int, float):
        return str(value)
    raise Unconvertible(f"{value!r} is not a string")


def _to_array(value):
    if type(value) is list:
        return rename_deep(value)
    raise Unconvertible(f"{value!r} is not a list")


def _expect(kind):
    def check(value):
        if type(value) is kind:
            return value
        raise Unconvertible(f"{value!r} is not a {kind.__name__}")

    return check


def _object_converter(rename_nested: bool) -> Callable:
    if not rename_nested:
        return _expect(dict)

    def convert(value):
        if type(value) is dict:
            return rename_deep(value)
        raise Unconvertible(f"{value!r} is not an object")

    return convert


def optional_ms(value) -> Optional[int]:
    """An epoch-ms replication value from a raw row, or None."""
    if type(value) is int:
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
