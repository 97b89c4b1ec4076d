"""What one export holds, before and after it is written: its manifest entry (which is
also its bill of materials) and, for each file the entry names, the writer schema and
the rows. The ground truth reads these, as a reader reads the tree.

`ExportBuilder` puts an entry together a period or a file at a time, splitting large
allEvents and account or visitor files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .days import period_id
from .layout import (
    DEFINITION_FILES,
    ENTITY_FILES,
    METADATA_SCHEMA_FILE,
    matched_name,
    period_prefix,
    split_names,
)
from .schemas import definition_schema, entity_schema, event_schema, metadata_schema_schema
from .words import ROOT_URL_BASE

HISTORICAL, RECURRING, RETROACTIVE, FULL, CHANGES = (
    "historical",
    "recurring",
    "retroactive",
    "full",
    "changes",
)


@dataclass
class AvroFile:
    """One Avro file of an export: its writer schema, its rows, and the codec it was written with."""

    schema: dict
    rows: list
    codec: str = ""


@dataclass
class Export:
    """One export of one folder."""

    folder: str  # an application id, `account` or `visitor`
    counter: int
    export_id: str
    kind: str  # historical, recurring, retroactive, full or changes
    written_day: int
    entry: dict = field(default_factory=dict)  # the manifest entry = the bill of materials
    files: dict = field(default_factory=dict)  # path relative to the export folder -> AvroFile

    @property
    def rows(self) -> int:
        """The rows of all its files."""
        return sum(len(avro_file.rows) for avro_file in self.files.values())


def _chunks(rows: list, names: list) -> list:
    size = -(-len(rows) // len(names)) if rows else 0
    return [rows[index * size : (index + 1) * size] for index in range(len(names))]


class ExportBuilder:
    """Puts together the entry and the files of a new export."""

    def __init__(self, export: Export, subscription: str, max_file_rows: int):
        self.export = export
        self.max_file_rows = max_file_rows
        export.entry["counter"] = export.counter
        export.entry["rootUrl"] = (
            f"{ROOT_URL_BASE}/{subscription}/{export.folder}/{export.export_id}"
        )

    def _add_files(self, stem: str, rows: list, schema: dict) -> list:
        names = split_names(stem, len(rows), self.max_file_rows)
        for name, chunk in zip(names, _chunks(rows, names)):
            self.export.files[name] = AvroFile(schema, chunk)
        return names

    def add_definitions(self, kind: str, rows: list) -> None:
        """allpages.avro (or the feature, track type or guide file) and its manifest key."""
        key, name = DEFINITION_FILES[kind]
        self.export.files[name] = AvroFile(definition_schema(kind), rows)
        self.export.entry[key] = [name]

    def add_period(
        self, day: int, all_events, matched: dict, schema_version: int, several_periods: bool
    ) -> None:
        """One `timeDependent` entry: allEvents files (none when `all_events` is None;
        `files: []` when it is empty) and one matchedEvents entry per (kind, id) of
        `matched`, `files: []` where its rows are empty."""
        prefix = period_prefix(day, several_periods)
        period: dict = {"periodId": period_id(day)}
        if all_events is not None:
            files = []
            if all_events:
                files = self._add_files(
                    f"{prefix}allevents", all_events, event_schema(schema_version)
                )
            period["allEvents"] = {"files": files}
        if matched:
            entries = []
            for (kind, matchable_id), rows in matched.items():
                files = []
                if rows:
                    name = prefix + matched_name(kind, matchable_id)
                    self.export.files[name] = AvroFile(
                        event_schema(schema_version, matched=True), rows
                    )
                    files = [name]
                entries.append({"id": f"{kind}/{matchable_id}", "files": files})
            period["matchedEvents"] = entries
        self.export.entry.setdefault("timeDependent", []).append(period)

    def add_entities(self, kind: str, rows: list, metadata_fields: list, schema_as_list: bool):
        """The accounts or visitors files and the metadata schema file of an entity export;
        `metadataSchemaFile` is a list or a plain string."""
        key = ENTITY_FILES[kind]
        names = self._add_files(key, rows, entity_schema(kind, metadata_fields))
        self.export.entry[key] = {"files": names}
        self.export.files[METADATA_SCHEMA_FILE] = AvroFile(
            metadata_schema_schema(), list(metadata_fields)
        )
        self.export.entry["metadataSchemaFile"] = (
            [METADATA_SCHEMA_FILE] if schema_as_list else METADATA_SCHEMA_FILE
        )
