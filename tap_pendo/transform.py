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


def _object_converter(schema: dict, rename_nested: bool) -> Callable:
    if not rename_nested:
        return _expect(dict)

    def convert(value):
        if type(value) is dict:
            return rename_deep(value)
        raise Unconvertible(f"{value!r} is not an object")

    return convert


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


class RecordPlan:
    """Turns Pendo rows of one stream into records holding the selected columns.

    `plan[raw_name] = (column, converter)` for plain fields; metadata groups of
    accounts and visitors are expanded into `metadata_<group>` columns.
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
            self.fields[column] = value_converter(schema, rename_nested=rename)
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
        # raw camelCase name -> (column, converter), for every name seen so far.
        self._plan: dict = {}

    def _entry(self, raw_name: str):
        column = snake(raw_name)
        converter = self.fields.get(column)
        entry = (column, converter) if converter is not None else None
        self._plan[raw_name] = entry
        return entry

    def record(self, row: dict) -> dict:
        """One Singer record from one Pendo row."""
        plan = self._plan
        record = {}
        for raw_name, value in row.items():
            entry = plan[raw_name] if raw_name in plan else self._entry(raw_name)
            if entry is None:
                continue
            column, convert = entry
            try:
                record[column] = convert(value)
            except Unconvertible as error:
                raise self._error(column, error) from None
        if self.metadata_rows:
            self._add_metadata(row.get("metadata") or {}, record)
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
