"""The sync: the catalog's selection, SCHEMA messages, then the plan run by the executor:
config -> plan -> executor -> transform -> output."""

from dataclasses import dataclass, replace
from typing import Optional

from singer import metadata

from ..config import Config
from ..errors import CatalogError, ConfigError
from ..readers import ReadContext
from ..run.checkpoints import Checkpoints
from ..run.executor import Executor
from ..run.plan import Plan, build_plan
from ..run.progress import Progress
from ..streams import STREAMS, StreamDef, period_field
from ..transform import RecordPlan
from .output import SingerWriter


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


def written_schema(chosen: Selected) -> dict:
    """The schema a target sees: only the fields the records hold, so that a field left
    out of the selection is not a column that stays empty."""
    properties = chosen.schema.get("properties") or {}
    return {
        **chosen.schema,
        "properties": {name: value for name, value in properties.items() if name in chosen.fields},
    }


def run_order(selected: list, current: Optional[str]) -> list:
    """An interrupted stream goes first, as Singer taps do, so its resume point is used soon."""
    first = [s for s in selected if s.stream.name == current]
    return first + [s for s in selected if s.stream.name != current]


def plan_sync(config: Config, state: dict, selected: list, sync_start_ms: int) -> Plan:
    """The plan of a sync of the selected streams from `state`."""
    ordered = run_order(selected, state.get("currently_syncing"))
    return build_plan(config, state, [s.stream for s in ordered], sync_start_ms)


def sync(
    config: Config,
    sources: ReadContext,
    plan: Plan,
    selected: list,
    state: dict,
    writer: SingerWriter,
    progress: Progress,
) -> dict:
    """SCHEMA of every selected stream, then the plan's units, read from `sources` (Pendo's
    client, the Data Sync store); `state` is updated and written."""
    for chosen in selected:
        replication_key = chosen.stream.bookmark_key(config.period)
        writer.schema(
            chosen.stream.name,
            written_schema(chosen),
            chosen.key_properties,
            [replication_key] if replication_key else None,
        )
    transforms = {
        s.stream.name: RecordPlan(s.stream, s.schema["properties"], set(s.fields)) for s in selected
    }
    # The reader of a Data Sync file makes records of the selected columns itself.
    ctx = replace(sources, columns={s.stream.name: s.fields for s in selected})
    executor = Executor(ctx, plan, Checkpoints(plan), transforms, writer, progress)
    return executor.run(state)


def required_sources(config: Config, selected: list) -> tuple:
    """(API streams, Data Sync streams) of the selection; ConfigError when the config lacks
    what one of them needs."""
    api = [s.stream.name for s in selected if s.stream.export_files is None]
    datasync = [s.stream.name for s in selected if s.stream.export_files is not None]
    if api and not config.integration_key:
        raise ConfigError(
            f"the catalog selects Pendo API streams ({', '.join(api)}) but the config has no "
            "'x_pendo_integration_key': add the key, or deselect those streams"
        )
    if datasync and not config.datasync_url:
        raise ConfigError(
            f"the catalog selects Data Sync streams ({', '.join(datasync)}) but the config has "
            "no 'datasync_url': add it, or deselect those streams"
        )
    return api, datasync
