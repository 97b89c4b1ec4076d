"""The Avro files of Data Sync exports: a file's writer schema (from its header alone), the
JSON Schema of its columns, and its rows as final records, streamed block by block.

Rows are the hot path of the largest stream. fastavro turns `timestamp-millis` and `date`
into datetime and date objects (whatever a reader schema says), which cost more to make
and to write as text than the integers they come from. So fastavro is handed the file
with the logical types it would convert struck from the schema in the header (their
values are the same bytes: ints and longs), and the integers become RFC3339 and
`YYYY-MM-DD` through remembered texts (timefmt.TimeTexts). The conversion of one writer
schema is compiled into straight-line code once: one unpacking of fastavro's record (its
values come in the writer's field order) and one dict display per row, as
transform/shapes.py does for the API.

Memory: fastavro holds one block of the file (compressed and decompressed) and the store's
file object one request's bytes (store.ROW_BLOCK_BYTES); nothing grows with the file. A
block larger than MAX_BLOCK_BYTES is taken for damage.
"""

import base64
import json
import struct
import threading
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Callable, NamedTuple, Optional

import fastavro

from ..errors import DataSyncError
from ..timefmt import SECONDS_TEXT, TimeTexts, date_text, ms_to_rfc3339
from ..transform.names import snake
from .store import HEAD_BLOCK_BYTES, ROW_BLOCK_BYTES, Store

try:
    from cramjam import DecompressionError
except ImportError:  # pragma: no cover - cramjam is a dependency; snappy needs it
    DecompressionError = ValueError

MAGIC = b"Obj\x01"
SYNC_BYTES = 16
MAX_BLOCK_BYTES = 256 << 20
MAX_HEADER_BYTES = 64 << 20
MAX_PLANS = 256
# Data Sync writes null, deflate or snappy; bzip2 and xz come with Python.
CODECS = ("null", "deflate", "snappy", "bzip2", "xz")

# What fastavro raises on a damaged or truncated file (a bad length, a bad union branch,
# bad UTF-8, a block that does not decompress, a missing sync marker), and what a value
# out of Python's date range raises when converted.
DAMAGE = (
    EOFError,
    ValueError,
    IndexError,
    OverflowError,
    MemoryError,
    zlib.error,
    struct.error,
    DecompressionError,
)

_PRIMITIVE_TYPES = {
    "null": type(None),
    "boolean": bool,
    "int": int,
    "long": int,
    "float": float,
    "double": float,
    "bytes": bytes,
    "string": str,
}
_JSON_TYPES = {
    "null": "null",
    "boolean": "boolean",
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "bytes": "string",
    "string": "string",
}


@dataclass(frozen=True)
class Header:
    """What an Avro file's header says."""

    schema: dict  # the writer schema, as the file gives it
    codec: str  # "null", "deflate", "snappy", ...
    metadata: Mapping[str, bytes]
    sync: bytes
    size: int  # bytes of the header


def read_header(store: Store, path: str) -> Header:
    """The header of an Avro file, reading nothing after it (one small request)."""
    with _open(store, path, HEAD_BLOCK_BYTES) as stream:
        return _read_header(stream, store, path)


def writer_schema(store: Store, path: str) -> dict:
    """The writer schema of an Avro file, from its header alone."""
    return read_header(store, path).schema


def json_schema(
    schema: dict, added: Optional[Mapping[str, dict]] = None, where: str = "the writer schema"
) -> dict:
    """The JSON Schema of the rows that `rows` makes of a file with this writer schema:
    snake_case names, `timestamp-*` as date-time text, `date` as date text, nullable
    unions with "null" in the type; then the `added` columns (those a reader adds).
    `where` (the file's URL, `Store.url_of`) is named if the schema cannot be used."""
    _, fields = _Planner(where).top(schema)
    properties = {column: plan.json for _, column, plan in fields}
    properties.update(added or {})
    return {"type": "object", "properties": properties}


def rows(
    store: Store,
    path: str,
    extra: Optional[Mapping[str, object]] = None,
    keep: Optional[Collection[str]] = None,
) -> Iterator[dict]:
    """The rows of an Avro file as final records, read as a stream: snake_case names from
    the file's own writer schema, dates as text, everything else verbatim, then the
    `extra` columns (e.g. `{"app_id": -323232, "export_counter": 7}`), which win over a
    field of the same name. With `keep`, the file's columns not in it are left out (the
    extra columns stay): a selection costs a deletion per column left out.

    The file is opened on the first `next`, and closed at the end or when the generator
    is closed. A missing, damaged or truncated file raises a one-line DataSyncError that
    names it, also after rows were given. One generator is read by one thread at a time;
    generators of several files may be read by as many threads.
    """
    extra = dict(extra or {})
    kept = None if keep is None else tuple(sorted(set(keep)))
    with _open(store, path, ROW_BLOCK_BYTES) as stream:
        header = _read_header(stream, store, path)
        plan = _plan(header, tuple(extra), kept, store.url_of(path))
        stream.replay(plan.header_bytes(header))
        try:
            convert = plan.bind()
            yield from convert(fastavro.reader(stream), *extra.values())
        except DAMAGE as error:
            raise _damaged(store, path, stream, error) from None


# --- reading -----------------------------------------------------------------------------


class _Stream:
    """The file object that fastavro reads: `replay` bytes first (the header, rewritten),
    then the file; reads larger than MAX_BLOCK_BYTES are damage; store errors become
    DataSyncErrors."""

    def __init__(self, store: Store, path: str, file):
        self.store, self.path, self.file = store, path, file
        self.position = 0  # of the file
        self._head = b""
        self._head_at = 0

    def replay(self, head: bytes) -> None:
        self._head, self._head_at = head, 0

    def read(self, size: int = -1) -> bytes:
        if self._head:
            at, head = self._head_at, self._head
            if 0 <= size < len(head) - at:
                self._head_at = at + size
                return head[at : at + size]
            self._head = b""
            rest = len(head) - at
            return head[at:] + (self.read(size - rest) if size > rest else b"")
        if size < 0 or size > MAX_BLOCK_BYTES:
            raise DataSyncError(
                f"{self.store.url_of(self.path)}: damaged or truncated Avro file "
                f"(a block of {size} bytes at byte {self.position}); {_FIX}"
            )
        with self.store.errors(self.path, missing="disappeared while it was read"):
            data = self.file.read(size)
        self.position += len(data)
        return data

    def exact(self, size: int) -> bytes:
        data = self.read(size)
        if len(data) != size:
            raise EOFError(f"{size} bytes wanted, {len(data)} left")
        return data

    def long(self) -> int:
        """An Avro long (zig-zag varint)."""
        shift = accumulated = 0
        while True:
            byte = self.exact(1)[0]
            accumulated |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (accumulated >> 1) ^ -(accumulated & 1)
            shift += 7
            if shift > 63:
                raise ValueError("a varint longer than 10 bytes")

    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


_FIX = "copy it again from Pendo's export, or ask Pendo to export it again"


def _open(store: Store, path: str, block_size: int) -> _Stream:
    try:
        return _Stream(store, path, store.open(path, block_size=block_size))
    except FileNotFoundError:
        raise DataSyncError(
            f"{store.url_of(path)}: named by the manifest but not in the store; the export "
            "is incomplete: copy it again from Pendo's export, or ask Pendo support"
        ) from None


def _read_header(stream: _Stream, store: Store, path: str) -> Header:
    where = store.url_of(path)
    try:
        if stream.read(4) != MAGIC:
            raise DataSyncError(f"{where}: not an Avro file (no Avro header); {_FIX}")
        metadata = {}
        while True:
            count = stream.long()
            if count == 0:
                break
            if count < 0:
                count = -count
                stream.long()  # the block's size in bytes
            for _ in range(count):
                key = stream.exact(_length(stream)).decode("utf-8")
                metadata[key] = stream.exact(_length(stream))
        sync = stream.exact(SYNC_BYTES)
        schema = json.loads(metadata["avro.schema"])
        codec = metadata.get("avro.codec", b"null").decode("utf-8")
    except DataSyncError:
        raise
    except (EOFError, ValueError, KeyError, UnicodeDecodeError) as error:
        reason = " ".join(str(error).split())[:200]
        raise DataSyncError(
            f"{where}: damaged or truncated Avro header ({type(error).__name__}: {reason}); {_FIX}"
        ) from None
    if codec not in CODECS:
        raise DataSyncError(
            f"{where}: Avro codec {codec!r}, which Data Sync does not use; this tap reads "
            f"{', '.join(CODECS)}"
        )
    return Header(schema, codec, metadata, sync, stream.position)


def _length(stream: _Stream) -> int:
    length = stream.long()
    if not 0 <= length <= MAX_HEADER_BYTES:
        raise ValueError(f"a header field of {length} bytes")
    return length


def _encode_long(value: int) -> bytes:
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encode_header(metadata: Mapping[str, bytes], sync: bytes) -> bytes:
    parts = [MAGIC, _encode_long(len(metadata))]
    for key, value in metadata.items():
        name = key.encode("utf-8")
        parts += [_encode_long(len(name)), name, _encode_long(len(value)), value]
    parts += [_encode_long(0), sync]
    return b"".join(parts)


def _damaged(store: Store, path: str, stream: _Stream, error: BaseException) -> DataSyncError:
    reason = " ".join(str(error).split())[:200]
    reason = f"{type(error).__name__}: {reason}" if reason else type(error).__name__
    return DataSyncError(
        f"{store.url_of(path)}: damaged or truncated Avro file ({reason}, in the bytes "
        f"before {stream.position}); {_FIX}"
    )


# --- plans: what becomes of each field ---------------------------------------------------


class _Type(NamedTuple):
    """What becomes of a value of one Avro type.

    `stripped`: the type as fastavro is told it (logical types struck where we convert
    the raw value). `convert`: raw value -> record value, None when it stays as it is.
    `inline`: "millis" or "date" when compiled code converts it in line. `raw`: the Python
    types fastavro gives for it. `json`: its JSON Schema.
    """

    stripped: object
    convert: Optional[Callable]
    json: dict
    raw: tuple[type, ...]
    inline: Optional[str] = None
    nullable: bool = False


class _Planner:
    """Walks a writer schema once: names, stripped types, converters, JSON Schemas."""

    def __init__(self, where: str):
        self.where = where  # the file, for messages
        self.named: dict[str, _Type] = {}

    def top(self, schema) -> tuple[_Type, list[tuple[str, str, _Type]]]:
        """The plan of a file's record schema, and (field name, column, plan) of each of
        its fields."""
        if not isinstance(schema, dict) or schema.get("type") != "record":
            raise DataSyncError(f"{self.where}: the Avro file does not hold records; {_FIX}")
        return self.record(schema, "", True)

    def plan(self, schema, namespace: str, strip: bool = True) -> _Type:
        if isinstance(schema, list):
            return self.union(schema, namespace, strip)
        if isinstance(schema, str):
            if schema == "bytes":
                return _Type(schema, _base64, _BYTES_JSON, (bytes,))
            if schema in _PRIMITIVE_TYPES:
                return _Type(
                    schema, None, {"type": [_JSON_TYPES[schema]]}, (_PRIMITIVE_TYPES[schema],)
                )
            return self.reference(schema, namespace)
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if isinstance(kind, (dict, list)):
            return self.plan(kind, namespace, strip)
        if logical is not None:
            plan = self.logical(schema, kind, logical, strip)
            if plan is not None:
                return plan
        if kind in _PRIMITIVE_TYPES:
            primitive = self.plan(kind, namespace)
            return primitive._replace(stripped=schema)
        if kind == "record" or kind == "error":
            return self.record(schema, namespace, strip)[0]
        if kind == "enum":
            return self.define(schema, namespace, _Type(schema, None, {"type": ["string"]}, (str,)))
        if kind == "fixed":
            return self.define(schema, namespace, _Type(schema, _base64, _BYTES_JSON, (bytes,)))
        if kind == "array":
            items = self.plan(schema.get("items"), namespace, strip)
            convert = None if items.convert is None else _each(items.convert)
            stripped = {**schema, "items": items.stripped}
            return _Type(stripped, convert, {"type": ["array"], "items": items.json}, (list,))
        if kind == "map":
            values = self.plan(schema.get("values"), namespace, strip)
            convert = None if values.convert is None else _each_value(values.convert)
            json_schema = {"type": ["object"], "additionalProperties": values.json}
            return _Type({**schema, "values": values.stripped}, convert, json_schema, (dict,))
        raise DataSyncError(f"{self.where}: an Avro type this tap does not know: {kind!r}")

    def logical(self, schema: dict, kind, logical: str, strip: bool) -> Optional[_Type]:
        """A logical type: struck and converted from the raw value, or (not `strip`, in
        an ambiguous union) left to fastavro and converted from its object."""
        bare = {key: value for key, value in schema.items() if key != "logicalType"}
        found = _LOGICAL.get((kind, logical))
        if found is None:
            if (kind, logical) in (("bytes", "decimal"), ("fixed", "decimal")):
                named = kind == "fixed"
                plan = _Type(schema, str, {"type": ["string"]}, (Decimal,))
                return self.define(schema, "", plan) if named else plan
            return None  # a logical type fastavro leaves alone, or an invalid one: raw
        raw_convert, inline, json_schema, object_type = found
        if raw_convert is None:  # kept as the text it is
            return _Type(bare, None, json_schema, (_PRIMITIVE_TYPES[kind],))
        if strip:
            return _Type(bare, raw_convert, json_schema, (int,), inline)
        return _Type(schema, _object_text, json_schema, (object_type,))

    def record(self, schema: dict, namespace: str, strip: bool) -> tuple[_Type, list]:
        name = self.fullname(schema, namespace)
        inner = name.rpartition(".")[0] if "." in name else namespace
        # A record that holds itself: its inner uses see it as an object, verbatim.
        self.named.setdefault(name, _Type(name, None, {"type": ["object"]}, (dict,)))
        fields, stripped_fields = [], []
        for field in schema.get("fields", ()):
            plan = self.plan(field["type"], inner, strip)
            column = snake(field["name"])
            fields.append((field["name"], column, plan))
            # Binary Avro holds no names: fastavro's dicts come with the columns' names.
            stripped_fields.append({**field, "name": column, "type": plan.stripped})
        properties = {column: plan.json for _, column, plan in fields}
        plan = _Type(
            {**schema, "fields": stripped_fields},
            _record_converter(fields),
            {"type": ["object"], "properties": properties},
            (dict,),
        )
        self.named[name] = plan._replace(stripped=name)
        return plan, fields

    def union(self, branches: list, namespace: str, strip: bool) -> _Type:
        plans = [self.plan(branch, namespace, strip) for branch in branches]
        converting = [plan for plan in plans if plan.convert is not None]
        if converting and strip:
            # A converted branch must be told apart by the type fastavro gives it.
            for index, plan in enumerate(plans):
                others = {raw for other in plans if other is not plan for raw in other.raw}
                if plan.convert is not None and set(plan.raw) & others:
                    plans[index] = self.plan(branches[index], namespace, strip=False)
            converting = [plan for plan in plans if plan.convert is not None]
        stripped = [plan.stripped for plan in plans]
        raw = tuple(raw for plan in plans for raw in plan.raw)
        json_schema = _union_json([plan.json for plan in plans])
        nullable = type(None) in raw
        if not converting:
            return _Type(stripped, None, json_schema, raw, None, nullable)
        if len(converting) == 1 and len(plans) == 2 and nullable:
            (plan,) = converting
            return _Type(stripped, _or_none(plan.convert), json_schema, raw, plan.inline, True)
        table = {raw_type: plan.convert for plan in converting for raw_type in plan.raw}
        return _Type(stripped, _by_type(table), json_schema, raw, None, nullable)

    def reference(self, name: str, namespace: str) -> _Type:
        for candidate in (f"{namespace}.{name}" if namespace else name, name):
            if candidate in self.named:
                return self.named[candidate]
        for fullname, plan in self.named.items():
            if fullname.rpartition(".")[2] == name:
                return plan
        raise DataSyncError(f"{self.where}: the Avro schema names an unknown type {name!r}")

    def define(self, schema: dict, namespace: str, plan: _Type) -> _Type:
        self.named[self.fullname(schema, namespace)] = plan._replace(
            stripped=self.fullname(schema, namespace)
        )
        return plan

    @staticmethod
    def fullname(schema: dict, namespace: str) -> str:
        name = schema.get("name", "")
        if "." in name:
            return name
        space = schema.get("namespace", namespace)
        return f"{space}.{name}" if space else name


def _union_json(schemas: list[dict]) -> dict:
    """One JSON Schema for the branches of a union: a nullable type gets "null" in its
    type; branches that differ in type alone have their types together (`["null",
    "string"]` with the format of the string); anything else is anyOf."""
    null = {"type": ["null"]}
    others = [schema for schema in schemas if schema != null]
    if len(others) == 1 and "type" in others[0]:
        (schema,) = others
        kinds = [kind for kind in schema["type"] if kind != "null"]
        return {**schema, "type": (["null"] if len(others) < len(schemas) else []) + kinds}
    types: list[str] = []
    formats = set()
    for schema in schemas:
        if set(schema) - {"type", "format"}:
            break
        for kind in schema["type"]:
            if kind not in types:
                types.append(kind)
        if schema["type"] != ["null"]:
            formats.add(schema.get("format"))
    else:
        if len(formats) <= 1:
            merged = {"type": sorted(types, key=lambda kind: kind != "null")}
            (kind_format,) = formats or {None}
            if kind_format:
                merged["format"] = kind_format
            return merged
    return {"anyOf": schemas}


# --- converters of values outside the compiled fast path ---------------------------------


def _micros_text(us: int) -> str:
    seconds, micros = divmod(us, 1_000_000)
    day, in_day = divmod(seconds, 86_400)
    hours, rest = divmod(in_day, 3600)
    return f"{date_text(day)}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{micros:06d}Z"


def _nanos_text(ns: int) -> str:
    return _micros_text(ns // 1000)


def _day_text(day: int) -> str:
    return date_text(day)


def _time_millis_text(ms: int) -> str:
    return _time_text(ms * 1000)


def _time_text(us: int) -> str:
    seconds, micros = divmod(us, 1_000_000)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{micros:06d}"


def _object_text(value) -> str:
    """The text of a date, time or datetime that fastavro made (ambiguous unions only)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}Z"
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


_BYTES_JSON = {"type": ["string"], "contentEncoding": "base64"}
_DATE_TIME = {"type": ["string"], "format": "date-time"}
# (Avro type, logical type) -> (converter of the raw value, inline kind, JSON Schema,
# the type of the object fastavro makes of it). A local-timestamp is written as UTC.
_LOGICAL = {
    ("long", "timestamp-millis"): (ms_to_rfc3339, "millis", _DATE_TIME, datetime),
    ("long", "local-timestamp-millis"): (ms_to_rfc3339, "millis", _DATE_TIME, datetime),
    ("long", "timestamp-micros"): (_micros_text, None, _DATE_TIME, datetime),
    ("long", "local-timestamp-micros"): (_micros_text, None, _DATE_TIME, datetime),
    ("long", "timestamp-nanos"): (_nanos_text, None, _DATE_TIME, datetime),
    ("int", "date"): (_day_text, "date", {"type": ["string"], "format": "date"}, date),
    ("int", "time-millis"): (_time_millis_text, None, {"type": ["string"], "format": "time"}, time),
    ("long", "time-micros"): (_time_text, None, {"type": ["string"], "format": "time"}, time),
    # The text as written, not a UUID object.
    ("string", "uuid"): (None, None, {"type": ["string"]}, str),
}


def _or_none(convert: Callable) -> Callable:
    def convert_or_none(value):
        return None if value is None else convert(value)

    return convert_or_none


def _by_type(table: dict[type, Callable]) -> Callable:
    def convert_by_type(value):
        convert = table.get(type(value))
        return value if convert is None else convert(value)

    return convert_by_type


def _each(convert: Callable) -> Callable:
    def convert_each(values):
        return None if values is None else [convert(value) for value in values]

    return convert_each


def _each_value(convert: Callable) -> Callable:
    def convert_each_value(values):
        return None if values is None else {key: convert(value) for key, value in values.items()}

    return convert_each_value


def _record_converter(fields: list[tuple[str, str, _Type]]) -> Optional[Callable]:
    """A nested record's converter: its values, in place (fastavro gave the dict its
    columns' names already)."""
    pairs = {column: plan.convert for _, column, plan in fields}  # the last of a name wins
    pairs = [(column, convert) for column, convert in pairs.items() if convert is not None]
    if not pairs:
        return None

    def convert_record(record):
        if record is not None:
            for column, convert in pairs:
                record[column] = convert(record[column])
        return record

    return convert_record


# --- the compiled conversion of one writer schema ----------------------------------------


class _DayTexts(dict):
    """Day number -> `'2026-11-30'`, remembered (bounded); None stays None."""

    MAX_DAYS = 4096

    def __init__(self):
        super().__init__({None: None})

    def __missing__(self, day: int) -> str:
        if len(self) > self.MAX_DAYS:
            self.clear()
            self[None] = None
        text = self[day] = date_text(day)
        return text


class _Plan:
    """The conversion of the files of one writer schema (and one set of extra columns):
    the header that fastavro is given, and the compiled row generator."""

    def __init__(self, schema: dict, extra: tuple[str, ...], keep, where: str):
        record, fields = _Planner(where).top(schema)
        self.stripped_schema = json.dumps(record.stripped).encode("utf-8")
        self.converters = [plan.convert for _, _, plan in fields]
        self._make = _compile(fields, extra, keep)

    def header_bytes(self, header: Header) -> bytes:
        metadata = dict(header.metadata)
        metadata["avro.schema"] = self.stripped_schema
        return _encode_header(metadata, header.sync)

    def bind(self) -> Callable:
        """The row generator, with caches of its own (one per file read)."""
        times = TimeTexts()
        return self._make(times.minutes, SECONDS_TEXT, _DayTexts(), *self.converters)


def _compile(
    fields: list[tuple[str, str, _Type]], extra: tuple[str, ...], keep: Optional[tuple]
) -> Callable:
    """`make(M, S, D, c0, c1, ...) -> convert(records, x0, x1, ...)`, a generator of
    records: fastavro's dicts (named by column already), their dates converted in place,
    the columns not kept deleted and the extra columns set. Names reach the source only
    as repr literals; functions are passed in."""
    plans = {column: (index, plan) for index, (_, column, plan) in enumerate(fields)}
    lines = []
    for column, (index, plan) in plans.items():
        if keep is not None and column not in keep:
            lines.append(f"del row[{column!r}]")
        elif plan.inline == "millis":
            text = f"M[v{index} // 60000] + S[v{index} % 60000]"
            if plan.nullable:
                text = f"None if v{index} is None else {text}"
            lines += [f"v{index} = row[{column!r}]", f"row[{column!r}] = {text}"]
        elif plan.inline == "date":
            lines.append(f"row[{column!r}] = D[row[{column!r}]]")  # D[None] is None
        elif plan.convert is not None:
            lines.append(f"row[{column!r}] = c{index}(row[{column!r}])")
    lines += [f"row[{column!r}] = x{index}" for index, column in enumerate(extra)]
    converters = "".join(f", c{index}" for index in range(len(fields)))
    extras = "".join(f", x{index}" for index in range(len(extra)))
    body = "".join(f"            {line}\n" for line in lines)
    source = (
        f"def make(M, S, D{converters}):\n"
        f"    def convert(records{extras}):\n"
        f"        for row in records:\n"
        f"{body}"
        f"            yield row\n"
        f"    return convert\n"
    )
    env: dict = {}
    exec(source, env)  # noqa: S102 - see the docstring
    return env["make"]


_plans: dict[tuple, _Plan] = {}
_plans_lock = threading.Lock()


def _plan(header: Header, extra: tuple[str, ...], keep: Optional[tuple], where: str) -> _Plan:
    """The plan of a writer schema, made once (files of a stream share their schema)."""
    key = (header.metadata["avro.schema"], extra, keep)
    plan = _plans.get(key)
    if plan is None:
        plan = _Plan(header.schema, extra, keep, where)
        with _plans_lock:
            if len(_plans) >= MAX_PLANS:
                _plans.clear()
            _plans[key] = plan
    return plan
