"""The sync: selection, then for each stream SCHEMA, RECORDs, and STATE once the
records before it are out."""

from dataclasses import dataclass
from typing import Optional

import singer
from singer import metadata

from .errors import CatalogError
from .history import read_history
from .output import SingerWriter
from .readers import (
    Checkpoint,
    RunContext,
    read_entities,
    read_events,
    read_metadata_schema,
)
from .streams import (
    ENTITY,
    EVENT,
    HISTORY,
    METADATA,
    PERIOD_FIELDS,
    STREAMS,
    StreamDef,
    period_field,
)
from .transform import RecordPlan, Unconvertible

PROGRESS_EVERY_ROWS = 4096


@dataclass(frozen=True)
class Selected:
    """A stream the catalog selects, with its schema and chosen fields."""

    stream: StreamDef
    schema: dict
    fields: frozenset
    key_properties: tuple


def selection(catalog, period: str) -> list:
    """The selected streams, in the tap's order, checked against what the tap can do."""
    chosen = {}
    for entry in catalog.streams:
        if entry.tap_stream_id not in STREAMS:
            raise CatalogError(
                f"the catalog names stream '{entry.tap_stream_id}', which tap-pendo does not have: "
                "run tap-pendo --discover for a fresh catalog"
            )
        mdata = metadata.to_map(entry.metadata or [])
        if not metadata.get(mdata, (), "selected") and not entry.is_selected():
            continue
        stream = STREAMS[entry.tap_stream_id]
        schema = entry.schema.to_dict() if entry.schema else {}
        chosen[stream.name] = Selected(
            stream, schema, _selected_fields(stream, schema, mdata, period), stream.keys(period)
        )
    return [chosen[name] for name in STREAMS if name in chosen]


def _selected_fields(stream: StreamDef, schema: dict, mdata: dict, period: str) -> frozenset:
    properties = schema.get("properties") or {}
    required = set(stream.keys(period)) | {stream.bookmark_key(period)} - {None}
    missing = sorted(required - set(properties))
    if missing:
        hint = (
            f"it was discovered with the other period; config 'period' is {period}"
            if period_field(period) in missing
            else "the catalog is not tap-pendo's"
        )
        raise CatalogError(
            f"stream '{stream.name}' in the catalog has no field {', '.join(missing)}: {hint}; "
            "run tap-pendo --discover again"
        )
    fields = set(required)
    for breadcrumb, values in mdata.items():
        if len(breadcrumb) != 2 or breadcrumb[0] != "properties":
            continue
        field = breadcrumb[1]
        if field not in properties:
            if values.get("selected"):
                raise CatalogError(
                    f"the catalog selects field '{field}' of stream '{stream.name}', which the "
                    "stream does not have: run tap-pendo --discover again"
                )
            continue
        if values.get("selected") is False or values.get("inclusion") == "unsupported":
            continue
        fields.add(field)
    # A stream selected with no field metadata at all means every field.
    if not any(len(b) == 2 for b in mdata):
        fields.update(properties)
    return frozenset(fields)


def record_plan(selected: Selected) -> RecordPlan:
    """The compiled transform of one selected stream."""
    kind = selected.stream.kind
    return RecordPlan(
        selected.stream.name,
        selected.schema["properties"],
        set(selected.fields),
        metadata_rows=selected.stream.name in ("accounts", "visitors"),
        verbatim=kind == METADATA,
        repeating_times=tuple(PERIOD_FIELDS.values()) if kind == EVENT else (),
    )


# Which reader serves each kind of stream.
READERS = {
    ENTITY: read_entities,
    EVENT: read_events,
    METADATA: read_metadata_schema,
    HISTORY: read_history,
}


def served_by_other(selected: list) -> dict:
    """Streams whose rows another stream's reader yields: visitors comes with
    visitor_history's listing, so the visitors source is read once."""
    names = {s.stream.name for s in selected}
    return {"visitors": "visitor_history"} if {"visitors", "visitor_history"} <= names else {}


def sync(ctx: RunContext, selected: list, state: dict, writer: SingerWriter) -> dict:
    """Sync every selected stream, writing into `state`; returns it."""
    progress = ctx.progress
    plans = {}
    progress.planned([s.stream.name for s in selected])
    for chosen in selected:
        writer.schema(
            chosen.stream.name,
            chosen.schema,
            chosen.key_properties,
            [chosen.stream.bookmark_key(ctx.config.period)]
            if chosen.stream.replication_key
            else None,
        )
        plans[chosen.stream.name] = record_plan(chosen)
    bookmarks = state.setdefault("bookmarks", {})
    skipped = served_by_other(selected)
    for chosen in _resume_first(selected, state.get("currently_syncing")):
        name = chosen.stream.name
        if name in skipped:
            continue
        plan = plans[name]
        singer.set_currently_syncing(state, name)
        writer.state(state)
        progress.stream_started(name)
        rows = 0
        other_rows: dict = {}
        convert, write_record = plan.convert, writer.record_writer(name)
        item = None
        try:
            for item in READERS[chosen.stream.kind](ctx, chosen.stream):
                if type(item) is dict:
                    write_record(convert(item))
                    rows += 1
                    if not rows % PROGRESS_EVERY_ROWS:
                        progress.rows_written(name, rows)
                elif type(item) is Checkpoint:
                    bookmarks.update(item.bookmarks)
                    writer.state(state)
                else:
                    writer.record(item.stream, plans[item.stream].record(item.row))
                    other_rows[item.stream] = other_rows.get(item.stream, 0) + 1
        except Unconvertible:
            plan.explain(item)
        finally:
            # Also when the stream fails: the summary counts what was written.
            progress.rows_written(name, rows)
            for other, count in other_rows.items():
                progress.rows_written(other, count)
        singer.set_currently_syncing(state, None)
        writer.state(state)
    return state


def _resume_first(selected: list, current: Optional[str]) -> list:
    """An interrupted stream goes first, as Singer taps do, so its resume point is used soon."""
    first = [s for s in selected if s.stream.name == current]
    return first + [s for s in selected if s.stream.name != current]
