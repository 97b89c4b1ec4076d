"""Pendo row -> Singer record: snake_case names, ms -> RFC3339, types, field selection.

A plan is compiled once per stream from its selected schema: one converter per
raw field and memoized names. singer.Transformer rediscovers all of this for
every row (about 64k rows/s here, against several hundred thousand for a
compiled plan), so it is not used on the hot path.
"""

import re
from functools import cache
from typing import Callable, Optional

from .errors import PendoError
from .timefmt import ms_to_rfc3339

# Pendo's own names are renamed; names a customer chose are kept as sent.
VERBATIM_OBJECTS = {"parameters", "properties"}
PER_APP_GROUP = re.compile(r"^auto__(-?\d+)$")


@cache
def snake(name: str) -> str:
    """`lastUpdatedAt` -> `last_updated_at`, `DisplayName` -> `display_name`."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def rename_deep(value):
    """Rename every key of nested dicts (and dicts inside lists) to snake_case."""
    if isinstance(value, dict):
        return {snake(k): rename_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_deep(v) for v in value]
    return value


class Unconvertible(Exception):
    """A value that the schema cannot hold, even after coercion."""


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
        "object": _object_converter(schema, rename_nested),
        "array": _to_array if rename_nested else _expect(list),
    }[kind]
    return _nullable(nullable, convert)


def _nullable(nullable: bool, convert: Callable) -> Callable:
    def converter(value):
        if value is None:
            if nullable:
                return None
            raise Unconvertible("null where a value is required")
        return convert(value)

    return converter


_recent_times: dict = {}


def _to_datetime(value):
    if type(value) is int:
        # Period starts repeat on every row of a period: remember recent ones.
        text = _recent_times.get(value)
        if text is None:
            if len(_recent_times) > 4096:
                _recent_times.clear()
            text = _recent_times[value] = ms_to_rfc3339(value)
        return text
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


def _object_converter(schema: dict, rename_nested: bool) -> Callable:
    if not rename_nested:
        return _expect(dict)

    def convert(value):
        if type(value) is dict:
            return rename_deep(value)
        raise Unconvertible(f"{value!r} is not an object")

    return convert


def unchanged_type(schema: dict, rename_nested=True):
    """The Python type whose values already fit `schema` as they are (the fast path), or None."""
    types = _types(schema) - {"null"}
    if len(types) != 1 or schema.get("format") == "date-time":
        return None
    (kind,) = types
    if kind in ("object", "array") and rename_nested:
        return None  # names inside must be renamed
    return {
        "string": str,
        "integer": int,
        "boolean": bool,
        "number": float,
        "object": dict,
        "array": list,
    }[kind]


def metadata_group_converter(schema: dict) -> Callable:
    """Convert one metadata group: field names kept, values typed by the field's schema."""
    fields = {name: value_converter(s) for name, s in (schema.get("properties") or {}).items()}

    def convert(group):
        if group is None:
            return None
        if type(group) is not dict:
            raise Unconvertible(f"{group!r} is not an object")
        return {
            name: (fields[name](value) if name in fields else value)
            for name, value in group.items()
        }

    return convert


class _Nothing:
    """A type no value has: fields that always need their converter."""


_NOTHING = _Nothing
_SKIP = (None,)  # the plan entry of a name that is not a selected column
MAX_ROW_SHAPES = 256  # compiled functions per stream; rarer shapes take the slow path


class RecordPlan:
    """Turns Pendo rows of one stream into records holding the selected columns.

    `plan[raw_name] = (column, unchanged_type, converter)` for plain fields:
    a value of `unchanged_type` is copied, anything else goes through the
    converter. Metadata groups of accounts and visitors are expanded into
    `metadata_<group>` columns.
    """

    def __init__(
        self,
        stream: str,
        properties: dict,
        selected: set,
        metadata_rows: bool = False,
        verbatim: bool = False,
    ):
        self.stream = stream
        self.metadata_rows = metadata_rows
        self.fields = {}
        for column in selected:
            schema = properties[column]
            if metadata_rows and column.startswith("metadata_"):
                continue
            rename = not verbatim and column not in VERBATIM_OBJECTS
            self.fields[column] = (
                unchanged_type(schema, rename) or _NOTHING,
                value_converter(schema, rename_nested=rename),
            )
        self.groups = {}
        if metadata_rows:
            self.groups = {
                column[len("metadata_") :]: metadata_group_converter(properties[column])
                for column in selected
                if column.startswith("metadata_") and column != "metadata_auto_per_app"
            }
            self.per_app = (
                metadata_group_converter(properties.get("metadata_auto", {}))
                if "metadata_auto_per_app" in selected
                else None
            )
            self.lift_lastupdated = (
                value_converter(properties["lastupdated"]) if "lastupdated" in selected else None
            )
        # raw camelCase name -> (column, unchanged type, converter), or _SKIP.
        self._plan: dict = {}
        # row keys -> compiled record function.
        self._compiled: dict = {}

    def _entry(self, raw_name: str):
        column = snake(raw_name)
        field = self.fields.get(column)
        entry = (column, *field) if field is not None else _SKIP
        self._plan[raw_name] = entry
        return entry

    def record(self, row: dict) -> dict:
        """One Singer record from one Pendo row."""
        keys = tuple(row)
        compiled = self._compiled.get(keys)
        if compiled is None:
            compiled = self._compile(keys)
        try:
            record = compiled(row)
        except Unconvertible:
            record = self._record_slowly(row)  # raises, naming the field
        if self.metadata_rows:
            self._add_metadata(row.get("metadata") or {}, record)
        return record

    def _compile(self, keys: tuple) -> Callable:
        """Straight-line code for rows with exactly these keys, in this order.

        Pendo sends the rows of one source with the same keys, so one function
        serves nearly every row: unpack the values, copy those of the expected
        type, convert the others. Only column names (quoted with repr) and
        converters (passed in, not spelled) reach the generated source.
        """
        if len(self._compiled) >= MAX_ROW_SHAPES or not keys:
            return self._record_slowly
        env, items = {}, []
        for i, raw_name in enumerate(keys):
            entry = self._plan.get(raw_name) or self._entry(raw_name)
            if entry is _SKIP:
                continue
            column, env[f"t{i}"], env[f"c{i}"] = entry
            items.append(f"{column!r}: v{i} if type(v{i}) is t{i} else c{i}(v{i})")
        values = ", ".join(f"v{i}" for i in range(len(keys)))
        source = f"def compiled(row):\n    ({values},) = row.values()\n    return {{{', '.join(items)}}}\n"
        exec(source, env)  # noqa: S102 - see the docstring
        self._compiled[keys] = env["compiled"]
        return env["compiled"]

    def _record_slowly(self, row: dict) -> dict:
        """The same record, field by field: for rare row shapes and to name a bad field."""
        plan = self._plan
        record = {}
        for raw_name, value in row.items():
            entry = plan.get(raw_name) or self._entry(raw_name)
            if entry is _SKIP:
                continue
            column, unchanged, convert = entry
            try:
                record[column] = value if type(value) is unchanged else convert(value)
            except Unconvertible as error:
                raise self._error(column, error) from None
        return record

    def _add_metadata(self, metadata: dict, record: dict) -> None:
        per_app = {}
        for group, values in metadata.items():
            column = "metadata_" + group
            try:
                match = PER_APP_GROUP.match(group)
                if match and self.per_app is not None:
                    column = "metadata_auto_per_app"
                    per_app[match.group(1)] = self.per_app(values)
                elif group in self.groups:
                    record[column] = self.groups[group](values)
            except Unconvertible as error:
                raise self._error(column, error) from None
        if per_app:
            record["metadata_auto_per_app"] = per_app
        if self.lift_lastupdated is not None:
            lastupdated = (metadata.get("auto") or {}).get("lastupdated")
            if lastupdated is not None:
                try:
                    record["lastupdated"] = self.lift_lastupdated(lastupdated)
                except Unconvertible as error:
                    raise self._error("lastupdated", error) from None

    def _error(self, column: str, error: Exception) -> PendoError:
        return PendoError(
            f"stream '{self.stream}', field '{column}': Pendo sent {error}, which its schema "
            "cannot hold; rerun discovery if Pendo changed the field's type"
        )


def metadata_schema_record(document: dict) -> dict:
    """A metadata schema document as one record: groups and field names kept, attributes renamed."""
    return {
        group: {field: rename_deep(attributes) for field, attributes in (fields or {}).items()}
        for group, fields in document.items()
    }


def optional_ms(value) -> Optional[int]:
    """An epoch-ms replication value from a raw row, or None."""
    if type(value) is int:
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
