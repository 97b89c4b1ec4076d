"""Pendo row -> Singer record for one stream: its selected columns, by its definition."""

import re
from typing import Callable

from ..errors import PendoError
from ..streams import PERIOD_FIELDS, MetadataColumns, StreamDef
from ..timefmt import TimeTexts
from .names import rename_deep, snake
from .shapes import SKIP, Copy, Entry, ShapeMapper
from .values import DateTime, RepeatingDateTime, Unconvertible, fast_path, value_converter


class RecordPlan:
    """Turns Pendo rows of one stream into records holding the selected columns.

    A compiled ShapeMapper renames and converts the top-level names. The metadata groups
    of accounts and visitors become columns, as their definition's MetadataColumns say. A
    metadata schema document keeps its group and field names.
    """

    def __init__(self, stream: StreamDef, properties: dict, selected: set):
        self.stream = stream.name
        self._times = TimeTexts()
        self._fields = {}
        metadata = stream.metadata_columns
        repeating = set(PERIOD_FIELDS.values()) if stream.has_period_column else set()
        for column in selected:
            if metadata and column.startswith(metadata.column_prefix):
                continue
            schema = properties[column]
            rename = not stream.verbatim_document and column not in stream.verbatim_columns
            fast_type, fast = fast_path(schema, rename)
            if column in repeating and fast is DateTime:
                fast = RepeatingDateTime
            self._fields[column] = (fast_type, fast, value_converter(schema, rename_nested=rename))
        self._mapper = ShapeMapper(self._entry, self._times)
        self._metadata = (
            _MetadataColumns(metadata, properties, selected, self._times) if metadata else None
        )
        # The fastest way from a row to its record, for the hot loop. It may raise
        # Unconvertible; `record()` and `explain()` turn that into a PendoError.
        if stream.export_files is not None:
            # A Data Sync file's reader makes records of the selected columns itself, named
            # and typed by the file's own writer schema.
            self.convert = _as_it_is
        elif self._metadata is not None:
            self.convert = self._with_metadata
        elif stream.verbatim_document:
            self.convert = self._document
        else:
            self.convert = self._mapper.map

    def _entry(self, raw_name: str):
        column = snake(raw_name)
        field = self._fields.get(column)
        return Entry(column, *field) if field is not None else SKIP

    def record(self, row: dict) -> dict:
        """One Singer record from one Pendo row; a PendoError names a field that cannot fit."""
        try:
            return self.convert(row)
        except Unconvertible:
            self.explain(row)

    def plainly(self, row: dict) -> dict:
        """The record by the plain, uncompiled path (the compiled one must agree with it)."""
        if self.convert == self._document:
            return self._mapper.plainly(metadata_schema_record(row))
        record = self._mapper.plainly(row)
        if self._metadata is not None:
            self._metadata.add(row, record, self._error)
        return record

    def explain(self, row: dict) -> None:
        """Raise the PendoError that names the field of `row` that cannot fit its schema."""
        try:
            self.plainly(row)
        except Unconvertible as error:
            raise self._error(getattr(error, "column", "?"), error) from None
        raise AssertionError("explain() called on a row that converts")

    def _with_metadata(self, row: dict) -> dict:
        record = self._mapper(row)
        self._metadata.add(row, record, self._error)
        return record

    def _document(self, document: dict) -> dict:
        return self._mapper(metadata_schema_record(document))

    def _error(self, column: str, error: Exception) -> PendoError:
        return PendoError(
            f"stream '{self.stream}', field '{column}': Pendo sent {error}, which its schema "
            "cannot hold; rerun discovery if Pendo changed the field's type"
        )


def _as_it_is(record: dict) -> dict:
    return record


class _MetadataColumns:
    """The metadata columns of an account or visitor row, typed by the schema of each group
    (times from ms, integers from decimal strings), field names kept."""

    def __init__(self, layout: MetadataColumns, properties: dict, selected: set, times: TimeTexts):
        self._layout = layout
        self._per_app_group = re.compile(layout.per_app_group)
        prefix = layout.column_prefix
        self._groups = {
            column[len(prefix) :]: group_converter(properties[column], times)
            for column in selected
            if column.startswith(prefix) and column != layout.per_app_column
        }
        self._per_app = (
            group_converter(properties.get(layout.column(layout.per_app_like), {}), times)
            if layout.per_app_column in selected
            else None
        )
        lifted = layout.lifted_field
        self._lifted = value_converter(properties[lifted]) if lifted in selected else None
        self._handlers: dict = {}

    def _handler(self, group: str) -> tuple:
        """`(column, app id or None, converter)` of a group name; converter None: not selected."""
        match = self._per_app_group.match(group)
        if match:
            handler = (self._layout.per_app_column, match.group(1), self._per_app)
        else:
            handler = (self._layout.column(group), None, self._groups.get(group))
        self._handlers[group] = handler
        return handler

    def add(self, row: dict, record: dict, error_for: Callable) -> None:
        """Add the selected metadata columns of one row to its record."""
        layout = self._layout
        metadata = row.get(layout.path) or {}
        per_app = {}
        for group, values in metadata.items():
            column, app_id, convert = self._handlers.get(group) or self._handler(group)
            if convert is None:
                continue
            try:
                if app_id is None:
                    record[column] = convert(values)
                else:
                    per_app[app_id] = convert(values)
            except Unconvertible as error:
                raise error_for(column, error) from None
        if per_app:
            record[layout.per_app_column] = per_app
        if self._lifted is not None:
            lifted = (metadata.get(layout.lifted_group) or {}).get(layout.lifted_field)
            if lifted is not None:
                try:
                    record[layout.lifted_field] = self._lifted(lifted)
                except Unconvertible as error:
                    raise error_for(layout.lifted_field, error) from None


def group_converter(schema: dict, times: TimeTexts) -> Callable:
    """Convert one metadata group: field names and values kept as the customer made them,
    but typed by the field's schema; fields the schema does not know are copied."""
    fields = schema.get("properties") or {}

    def entry_for(name: str) -> Entry:
        if name not in fields:
            return Entry(name, Copy, None, None)
        field = fields[name]
        return Entry(name, *fast_path(field, False), value_converter(field, False))

    mapper = ShapeMapper(entry_for, times)

    def convert(group):
        if group is None:
            return None
        if type(group) is not dict:
            raise Unconvertible(f"{group!r} is not an object")
        try:
            return mapper(group)
        except Unconvertible:
            return mapper.plainly(group)  # raises again, naming the field

    return convert


def metadata_schema_record(document: dict) -> dict:
    """A metadata schema document as one record: groups and field names kept, attributes renamed."""
    return {
        group: {field: rename_deep(attributes) for field, attributes in (fields or {}).items()}
        for group, fields in document.items()
    }
