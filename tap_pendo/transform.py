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
from .timefmt import MINUTE_TEXT, SECONDS_TEXT, minute_text, ms_to_rfc3339

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


def repeated_ms_to_rfc3339(ms: int) -> str:
    """ms_to_rfc3339 for values that repeat row after row (period starts)."""
    text = _recent_times.get(ms)
    if text is None:
        if len(_recent_times) > 4096:
            _recent_times.clear()
        text = _recent_times[ms] = ms_to_rfc3339(ms)
    return text


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


def fast_path(schema: dict, rename_nested=True) -> tuple:
    """`(type, function)`: values of that type fit `schema` once passed through the function
    (None: as they are). Anything else takes the full converter."""
    types = _types(schema) - {"null"}
    if len(types) != 1:
        return _NOTHING, None
    if schema.get("format") == "date-time":
        return int, ms_to_rfc3339
    (kind,) = types
    if kind in ("object", "array") and rename_nested:
        return _NOTHING, None  # names inside must be renamed
    simple = {
        "string": str,
        "integer": int,
        "boolean": bool,
        "number": float,
        "object": dict,
        "array": list,
    }
    return simple[kind], None


def metadata_group_converter(schema: dict) -> Callable:
    """Convert one metadata group: field names and values kept as the customer made them,
    but typed by the field's schema (times from ms, integers from decimal strings)."""
    fields = schema.get("properties") or {}

    def entry_for(name: str) -> tuple:
        if name not in fields:
            return (name, COPY, None, None)
        field = fields[name]
        return (name, *fast_path(field, False), value_converter(field, False))

    mapper = ShapeMapper(entry_for)

    def convert(group):
        if group is None:
            return None
        if type(group) is not dict:
            raise Unconvertible(f"{group!r} is not an object")
        try:
            return mapper(group)
        except Unconvertible:
            return mapper.slowly(group)  # raises with the field's name

    return convert


class _Nothing:
    """A type no value has: fields that always need their converter."""


_NOTHING = _Nothing
_SKIP = (None,)  # the plan entry of a name that is not a selected column
MAX_ROW_SHAPES = 256  # compiled functions per mapper; rarer shapes take the slow path
MAX_SEEN_SHAPES = 4096
COMPILE_AFTER = 16  # rows of one shape before it is compiled


class COPY:
    """The `fast_type` of an entry whose value is copied as it is, whatever it is."""


class ShapeMapper:
    """dict -> dict by per-name entries `(out_name, fast_type, fast, converter)` or _SKIP.

    A value of `fast_type` becomes `fast(value)` (or stays as it is when
    `fast` is None); any other value goes through the full `converter`.
    Pendo sends the rows of one source with the same keys, so the mapper
    compiles straight-line code per key shape. Only output names (quoted with
    repr) reach the generated source; functions are passed in, not spelled.
    """

    def __init__(self, entry_for: Callable):
        self._entry_for = entry_for
        self._entries: dict = {}
        self._compiled: dict = {}
        self._seen: dict = {}  # key shape -> rows of it mapped without compiling

    def entry(self, name: str) -> tuple:
        """The memoized entry of one input name."""
        entry = self._entries.get(name)
        if entry is None:
            entry = self._entries[name] = self._entry_for(name)
        return entry

    def __call__(self, row: dict) -> dict:
        keys = tuple(row)
        compiled = self._compiled.get(keys)
        if compiled is None:
            # Compiling costs as much as mapping a hundred rows: only for shapes that recur.
            seen = self._seen.get(keys, 0) + 1
            if seen < COMPILE_AFTER:
                if len(self._seen) > MAX_SEEN_SHAPES:
                    self._seen.clear()
                self._seen[keys] = seen
                return self.slowly(row)
            compiled = self._compile(keys)
        return compiled(row)

    def _compile(self, keys: tuple) -> Callable:
        if len(self._compiled) >= MAX_ROW_SHAPES or not keys:
            return self.slowly
        env = {
            "M": MINUTE_TEXT,
            "m": minute_text,
            "S": SECONDS_TEXT,
            "R": _recent_times,
            "r": repeated_ms_to_rfc3339,
        }
        items = []
        for i, name in enumerate(keys):
            entry = self.entry(name)
            if entry is _SKIP:
                continue
            out, env[f"t{i}"], env[f"f{i}"], env[f"c{i}"] = entry
            fast_type, fast = entry[1], entry[2]
            if fast is None:
                value = f"v{i}"
            elif fast is ms_to_rfc3339:
                # Inlined: two calls per row less, a tenth of an event row's cost.
                value = f"(M.get(v{i} // 60000) or m(v{i} // 60000)) + S[v{i} % 60000]"
            elif fast is repeated_ms_to_rfc3339:
                value = f"(R.get(v{i}) or r(v{i}))"
            else:
                value = f"f{i}(v{i})"
            if fast_type is COPY:
                items.append(f"{out!r}: v{i}")
            else:
                items.append(f"{out!r}: {value} if type(v{i}) is t{i} else c{i}(v{i})")
        values = ", ".join(f"v{i}" for i in range(len(keys)))
        source = f"def compiled(row):\n    ({values},) = row.values()\n    return {{{', '.join(items)}}}\n"
        exec(source, env)  # noqa: S102 - see the class docstring
        self._compiled[keys] = env["compiled"]
        return env["compiled"]

    def slowly(self, row: dict) -> dict:
        """The same mapping name by name; an Unconvertible names its output field."""
        out = {}
        for name, value in row.items():
            entry = self.entry(name)
            if entry is _SKIP:
                continue
            column, fast_type, fast, convert = entry
            if fast_type is COPY:
                out[column] = value
                continue
            if type(value) is fast_type:
                out[column] = value if fast is None else fast(value)
                continue
            try:
                out[column] = convert(value)
            except Unconvertible as error:
                error.column = column
                raise
        return out


class RecordPlan:
    """Turns Pendo rows of one stream into records holding the selected columns.

    Each raw name maps to a ShapeMapper entry `(column, fast_type, fast, converter)`.
    Metadata groups of accounts and visitors are expanded into
    `metadata_<group>` columns.
    """

    def __init__(
        self,
        stream: str,
        properties: dict,
        selected: set,
        metadata_rows: bool = False,
        verbatim: bool = False,
        repeating_times: tuple = (),
    ):
        self.stream = stream
        self.metadata_rows = metadata_rows
        self.fields = {}
        for column in selected:
            schema = properties[column]
            if metadata_rows and column.startswith("metadata_"):
                continue
            rename = not verbatim and column not in VERBATIM_OBJECTS
            fast_type, fast = fast_path(schema, rename)
            if column in repeating_times and fast is ms_to_rfc3339:
                fast = repeated_ms_to_rfc3339
            self.fields[column] = (fast_type, fast, value_converter(schema, rename_nested=rename))
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
        self._mapper = ShapeMapper(self._entry)
        self._group_handlers: dict = {}
        # The fastest way from a row to its record, for the hot loop. It may
        # raise Unconvertible; `record()` and `explain()` turn that into a
        # PendoError naming the field.
        self.convert = self._record_with_metadata if metadata_rows else self._mapper

    def _entry(self, raw_name: str) -> tuple:
        column = snake(raw_name)
        field = self.fields.get(column)
        return (column, *field) if field is not None else _SKIP

    def record(self, row: dict) -> dict:
        """One Singer record from one Pendo row; a PendoError names a field that cannot fit."""
        try:
            return self.convert(row)
        except Unconvertible:
            self.explain(row)

    def explain(self, row: dict) -> None:
        """Raise the PendoError that names the field of `row` that cannot fit its schema."""
        try:
            self._mapper.slowly(row)
        except Unconvertible as error:
            raise self._error(error.column, error) from None
        raise AssertionError("explain() called on a row that converts")

    def _record_with_metadata(self, row: dict) -> dict:
        record = self._mapper(row)
        self._add_metadata(row.get("metadata") or {}, record)
        return record

    def _group_handler(self, group: str) -> tuple:
        """`(column, app id or None, converter)` for a metadata group name; converter None: skip."""
        match = PER_APP_GROUP.match(group)
        if match:
            handler = ("metadata_auto_per_app", match.group(1), self.per_app)
        else:
            handler = ("metadata_" + group, None, self.groups.get(group))
        self._group_handlers[group] = handler
        return handler

    def _add_metadata(self, metadata: dict, record: dict) -> None:
        per_app = {}
        handlers = self._group_handlers
        for group, values in metadata.items():
            column, app_id, convert = handlers.get(group) or self._group_handler(group)
            if convert is None:
                continue
            try:
                if app_id is None:
                    record[column] = convert(values)
                else:
                    per_app[app_id] = convert(values)
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
