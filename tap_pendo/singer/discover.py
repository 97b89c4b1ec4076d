"""The catalog: bundled schemas, the period's field, custom fields from Pendo, and the Data
Sync streams' columns from the writer schemas of the newest exports."""

import copy
import json
import os
from functools import cache
from typing import Optional

from singer import metadata
from singer.catalog import Catalog

from ..readers.document import fetch_document
from ..streams import STREAMS, StreamDef, other_period_field

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas")
# Pendo's metadata `Type` -> JSON schema of a field value.
FIELD_TYPES = {
    "time": {"type": ["null", "string"], "format": "date-time"},
    "integer": {"type": ["null", "integer"]},
    "float": {"type": ["null", "number"]},
    "boolean": {"type": ["null", "boolean"]},
    "string": {"type": ["null", "string"]},
    "list": {"type": ["null", "array"]},
}
ANY_VALUE: dict = {}


@cache
def _bundled(name: str) -> str:
    with open(os.path.join(SCHEMA_DIR, f"{name}.json"), encoding="utf-8") as handle:
        return handle.read()


def bundled_schema(name: str) -> dict:
    """A fresh copy of the schema shipped for `name`."""
    return json.loads(_bundled(name))


def stream_schema(stream: StreamDef, period: str, metadata_docs: dict) -> dict:
    """The schema of `stream` under `period`, with Pendo's metadata fields merged in."""
    schema = bundled_schema(stream.name)
    properties = schema["properties"]
    properties.pop(other_period_field(period), None)
    for document in STREAMS.values():
        if document.custom_fields_of == stream.name:
            for group, fields in metadata_docs.get(document.name, {}).items():
                column = stream.metadata_columns.column(group)
                _merge_group(properties, column, fields or {})
    if stream.verbatim_document:
        for group in metadata_docs.get(stream.name, {}):
            properties.setdefault(group, {"type": ["null", "object"]})
    return schema


def _merge_group(properties: dict, column: str, fields: dict) -> None:
    """A metadata group's fields, typed by Pendo's metadata schema, into its column."""
    group_properties = properties.setdefault(column, {"type": ["null", "object"]}).setdefault(
        "properties", {}
    )
    for field, attributes in fields.items():
        if field in group_properties:
            continue  # the bundled schema knows Pendo's own fields better
        declared = (attributes or {}).get("Type") if isinstance(attributes, dict) else None
        group_properties[field] = copy.deepcopy(FIELD_TYPES.get(declared, ANY_VALUE))


def stream_metadata(stream: StreamDef, schema: dict, period: str) -> list:
    """Standard Singer metadata for one stream."""
    keys = list(stream.keys(period))
    replication_key = stream.bookmark_key(period)
    mdata = metadata.get_standard_metadata(
        schema=schema,
        key_properties=keys,
        valid_replication_keys=[replication_key] if replication_key else None,
        replication_method="INCREMENTAL" if replication_key else "FULL_TABLE",
    )
    mdata = metadata.to_map(mdata)
    for field in schema["properties"]:
        automatic = field in keys or field == replication_key
        mdata = metadata.write(
            mdata, ("properties", field), "inclusion", "automatic" if automatic else "available"
        )
    if stream.parent:
        mdata = metadata.write(mdata, (), "parent-tap-stream-id", stream.parent)
    if stream.aggregated_by_period:
        mdata = metadata.write(mdata, (), "period", period)
    return metadata.to_list(mdata)


def fetch_metadata_docs(client) -> dict:
    """Pendo's account and visitor metadata schemas (for custom fields), by stream name."""
    return {s.name: fetch_document(client, s) for s in STREAMS.values() if s.custom_fields_of}


def datasync_schema(stream: StreamDef, columns: Optional[dict]) -> dict:
    """A Data Sync stream's schema: the columns of its newest files, or the bundled schema
    (the contract's fields) while there is no export yet."""
    if not columns:
        return bundled_schema(stream.name)
    return {"type": "object", "properties": columns}


def discover(period: str, metadata_docs: dict, datasync_columns: Optional[dict] = None) -> Catalog:
    """The catalog of every API stream and, with Data Sync (`datasync_columns`: stream ->
    its columns, possibly none), of every Data Sync stream."""
    entries = []
    for stream in STREAMS.values():
        if stream.export_files is None:
            schema = stream_schema(stream, period, metadata_docs)
        elif datasync_columns is not None:
            schema = datasync_schema(stream, datasync_columns.get(stream.name))
        else:
            continue
        entries.append(
            {
                "tap_stream_id": stream.name,
                "stream": stream.name,
                "key_properties": list(stream.keys(period)),
                "schema": schema,
                "metadata": stream_metadata(stream, schema, period),
                **(
                    {"replication_key": stream.bookmark_key(period)}
                    if stream.replication_key
                    else {}
                ),
                "replication_method": "INCREMENTAL" if stream.replication_key else "FULL_TABLE",
            }
        )
    return Catalog.from_dict({"streams": entries})
