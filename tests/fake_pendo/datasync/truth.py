"""The ground truth of the Data Sync streams, from docs/DATA-CONTRACT.md and the exports
as written, independently of `tap_pendo`:

- `emitted`: the records a correct tap emits when it reads every export newer than a
  bookmark: one record per row of every file of every such export, names in
  snake_case, `timestamp-millis` as RFC3339, `date` as `YYYY-MM-DD`, `app_id` on the
  rows of application folders, `export_counter` on every row; datasync_periods rows
  from the manifests' `timeDependent` entries.
- `view`: Pendo's view, by replaying Pendo's loading rule over the exports in counter
  order (delete a period's or a (period, matchable)'s rows, then insert the files'
  rows; upsert definitions, accounts, visitors and metadata fields by id), and not by
  the join on datasync_periods that a warehouse uses, which it checks.
- `PRIMARY_KEYS` and `columns` (what discovery should find).

Exports come as {folder: [Export]}; a folder is an application id, `account` or `visitor`.
"""

from __future__ import annotations

import json
from functools import cache

from ..conventions import rfc3339, snake
from .days import day_of_ms, instant_ms, iso_date, start_ms
from .layout import DEFINITION_FILES, ENTITY_FILES
from .schemas import json_schema, logical_type

EVENT_STREAMS = {
    "datasync_events": None,  # allEvents
    "datasync_page_events": "Page",
    "datasync_feature_events": "Feature",
    "datasync_track_events": "TrackType",
}
DEFINITION_STREAMS = {
    "datasync_pages": "Page",
    "datasync_features": "Feature",
    "datasync_track_types": "TrackType",
    "datasync_guides": "Guide",
}
ENTITY_STREAMS = {"datasync_accounts": "account", "datasync_visitors": "visitor"}
METADATA_STREAMS = {
    "datasync_account_metadata_schema": "account",
    "datasync_visitor_metadata_schema": "visitor",
}
PERIODS = "datasync_periods"
STREAMS = (*EVENT_STREAMS, *DEFINITION_STREAMS, *ENTITY_STREAMS, *METADATA_STREAMS, PERIODS)
ALL_EVENTS = "allEvents"

PRIMARY_KEYS = {
    "datasync_events": ("app_id", "period_id", "event_id"),
    "datasync_page_events": ("app_id", "period_id", "matchable_id", "event_id"),
    "datasync_feature_events": ("app_id", "period_id", "matchable_id", "event_id"),
    "datasync_track_events": ("app_id", "period_id", "matchable_id", "event_id"),
    "datasync_pages": ("app_id", "page_id"),
    "datasync_features": ("app_id", "feature_id"),
    "datasync_track_types": ("app_id", "track_type_id"),
    "datasync_guides": ("app_id", "guide_id"),
    "datasync_accounts": ("id",),
    "datasync_visitors": ("id",),
    "datasync_account_metadata_schema": ("group", "name"),
    "datasync_visitor_metadata_schema": ("group", "name"),
    "datasync_periods": ("app_id", "kind", "matchable_id", "period_id"),
}
PERIOD_COLUMNS = {
    "app_id": {"type": ["integer"]},
    "kind": {"type": ["string"]},
    "matchable_id": {"type": ["string"]},
    "period_id": {"type": ["string"], "format": "date"},
    "export_counter": {"type": ["integer"]},
}
_CONVERTERS = {
    "timestamp-millis": rfc3339,
    "date": lambda day: None if day is None else iso_date(day),
}


def _is_app(folder: str) -> bool:
    return folder not in ENTITY_FILES


def _folders(exports: dict, stream: str) -> list:
    if stream in ENTITY_STREAMS:
        return [ENTITY_STREAMS[stream]]
    if stream in METADATA_STREAMS:
        return [METADATA_STREAMS[stream]]
    if stream in STREAMS:
        return [folder for folder in exports if _is_app(folder)]
    raise KeyError(f"not a Data Sync stream: {stream}")


@cache
def _plan(schema_text: str) -> tuple:
    """(Avro name, column, converter or None) per field of a writer schema."""
    fields = json.loads(schema_text)["fields"]
    return tuple(
        (field["name"], snake(field["name"]), _CONVERTERS.get(logical_type(field["type"])))
        for field in fields
    )


def iter_records(schema: dict, rows, added: dict):
    """The records of a file's rows: the writer schema's fields, renamed and converted,
    plus the `added` columns (app_id, export_counter)."""
    plan = _plan(json.dumps(schema, sort_keys=True))
    for row in rows:
        record = {}
        for name, column, convert in plan:
            value = row.get(name)
            record[column] = convert(value) if convert else value
        record.update(added)
        yield record


def _file_names(value) -> list:
    """A manifest's file list: a list, one string, or nothing."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _day(period: dict) -> int:
    return day_of_ms(instant_ms(period["periodId"]))


def _in_bounds(day: int, start, end) -> bool:
    """The contract's rule: leave out periods that end at or before `start_date`, and
    those that start at or after `end_date`."""
    return (start is None or start_ms(day + 1) > start) and (end is None or start_ms(day) < end)


def _partitions(export, stream: str, start=None, end=None):
    """(partition key, file names) of each partition of `stream` that `export` names,
    in manifest order; the key is (day, kind, matchable id), or None for files that
    are not time dependent."""
    entry = export.entry
    if stream in DEFINITION_STREAMS:
        yield None, _file_names(entry.get(DEFINITION_FILES[DEFINITION_STREAMS[stream]][0]))
    elif stream in ENTITY_STREAMS:
        yield None, _file_names(entry.get(ENTITY_FILES[export.folder], {}).get("files"))
    elif stream in METADATA_STREAMS:
        yield None, _file_names(entry.get("metadataSchemaFile"))
    else:
        wanted = EVENT_STREAMS.get(stream)
        for period in entry.get("timeDependent", []):
            day = _day(period)
            if not _in_bounds(day, start, end):
                continue
            if "allEvents" in period and stream in (PERIODS, "datasync_events"):
                yield (day, ALL_EVENTS, ""), _file_names(period["allEvents"].get("files"))
            if stream == "datasync_events":
                continue
            for matched in period.get("matchedEvents", []):
                kind, matchable_id = matched["id"].split("/", 1)
                if stream == PERIODS or kind == wanted:
                    yield (day, kind, matchable_id), _file_names(matched.get("files"))


def _added(export) -> dict:
    added = {"export_counter": export.counter}
    if _is_app(export.folder):
        added["app_id"] = int(export.folder)
    return added


def _period_record(export, key: tuple) -> dict:
    day, kind, matchable_id = key
    return {
        "app_id": int(export.folder),
        "kind": kind,
        "matchable_id": matchable_id,
        "period_id": iso_date(day),
        "export_counter": export.counter,
    }


def _export_records(export, stream: str, start, end):
    """(partition key, records) of each partition of `stream` in one export."""
    for key, names in _partitions(export, stream, start, end):
        if stream == PERIODS:
            yield key, [_period_record(export, key)]
            continue
        records = []
        for name in names:
            avro_file = export.files[name]
            records += iter_records(avro_file.schema, avro_file.rows, _added(export))
        yield key, records


def emitted(exports: dict, stream: str, after=None, start_date=None, end_date=None) -> list:
    """The records a correct tap emits for `stream` reading every export of `exports`
    newer than `after` ({folder: last counter read}, keys as folder names or app ids;
    None or a missing folder: every export), folder by folder in counter order.
    `start_date` and `end_date` (epoch ms, date, datetime or ISO text) leave out the
    event and period rows of periods that end before `start_date` or start at or after
    `end_date`."""
    bookmarks = {str(folder): counter for folder, counter in (after or {}).items()}
    start, end = instant_ms(start_date), instant_ms(end_date)
    records = []
    for folder in _folders(exports, stream):
        last_read = bookmarks.get(folder)
        for export in sorted(exports.get(folder, []), key=lambda export: export.counter):
            if last_read is not None and export.counter <= last_read:
                continue
            for _, partition_records in _export_records(export, stream, start, end):
                records += partition_records
    return records


def _key_of(stream: str):
    columns = PRIMARY_KEYS[stream]
    return lambda record: tuple(record[column] for column in columns)


def view(exports: dict, stream: str, start_date=None, end_date=None) -> list:
    """Pendo's view of `stream` after every export of `exports`: for each folder, each
    export in counter order replaces each partition it names (a period's all events, or
    a period's rows of one matchable) with its files' rows, and upserts definitions,
    accounts, visitors and metadata fields by key. datasync_periods: each partition's
    newest row. Sorted by primary key."""
    start, end = instant_ms(start_date), instant_ms(end_date)
    key_of = _key_of(stream)
    current: dict = {}
    for folder in _folders(exports, stream):
        for export in sorted(exports.get(folder, []), key=lambda export: export.counter):
            for partition, records in _export_records(export, stream, start, end):
                if partition is None or stream == PERIODS:
                    for record in records:  # upsert by key
                        current[key_of(record)] = record
                else:  # delete the partition, then insert
                    current[(folder, partition)] = records
    if stream in EVENT_STREAMS:
        rows = [record for records in current.values() for record in records]
    else:
        rows = list(current.values())
    return sorted(rows, key=lambda record: tuple(str(value) for value in key_of(record)))


def columns(exports: dict, stream: str) -> dict:
    """{column: JSON Schema} that discovery should find for `stream`: every field of every
    writer schema of its files (a field Pendo added later included), and `app_id`
    (application folders) and `export_counter`. A column's types are `["null", T]`
    when its Avro field is nullable, `[T]` otherwise."""
    if stream == PERIODS:
        return {name: dict(schema) for name, schema in PERIOD_COLUMNS.items()}
    result: dict = {}
    folders = _folders(exports, stream)
    for folder in folders:
        for export in exports.get(folder, []):
            for _, names in _partitions(export, stream):
                for name in names:
                    for field in export.files[name].schema["fields"]:
                        result.setdefault(snake(field["name"]), json_schema(field["type"]))
    if any(_is_app(folder) for folder in folders):
        result["app_id"] = {"type": ["integer"]}
    result["export_counter"] = {"type": ["integer"]}
    return result
