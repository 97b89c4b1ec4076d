"""The Avro writer schemas of the exports, as the contract's tables give them, and the
JSON Schema type that each Avro type stands for in a stream's catalog.

Nullable fields are unions `["null", T]` with a `null` default. Events come in two
versions: version 2 adds the nullable `frustrationType`, as Pendo adds fields over
time; the historical export writes version 1, later exports version 2.
"""

from __future__ import annotations

import json
from functools import cache

import fastavro

NAMESPACE = "io.pendo.datasync"
TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}
DATE = {"type": "int", "logicalType": "date"}

# (name, Avro type, nullable), in the order of the contract's Events table.
EVENT_FIELDS = (
    ("periodId", DATE, False),
    ("eventId", "string", False),
    ("browserTimestamp", TIMESTAMP, False),
    ("visitorId", "string", False),
    ("accountId", "string", False),
    ("eventType", "string", False),
    ("eventClass", "string", False),
    ("eventSource", "string", False),
    *((name, "string", True) for name in (
        "server", "url", "remoteIp", "userAgent", "country", "region", "language", "elementPath",
    )),
    ("latitude", "double", True),
    ("longitude", "double", True),
    *((name, "string", True) for name in (
        "uiElementId", "uiElementType", "uiElementText", "uiElementActions", "guideId",
        "guideStepId", "guideSessionId", "guideSeenReason", "destinationStepId",
    )),
    ("guideSeenTimeoutMs", "long", True),
    ("guideSnoozeDurationMs", "long", True),
    ("loadDurationMs", "long", True),
    *((name, "string", True) for name in (
        "pollId", "pollType", "pollResponse", "oldVisitorId", "trackTypeName", "propertiesJson",
    )),
)  # fmt: skip
ADDED_EVENT_FIELD = ("frustrationType", "string", True)  # new in version 2
LATEST_EVENT_VERSION = 2

_COMMON_DEFINITION_FIELDS = (
    ("name", "string", False),
    ("kind", "string", False),
    ("createdAt", TIMESTAMP, False),
    ("lastUpdatedAt", TIMESTAMP, False),
    ("isCoreEvent", "boolean", False),
)
DEFINITION_FIELDS = {
    "Page": (("pageId", "string", False), *_COMMON_DEFINITION_FIELDS, ("rulesJson", "string", False)),
    "Feature": (
        ("featureId", "string", False),
        *_COMMON_DEFINITION_FIELDS,
        ("pageId", "string", True),
        ("elementPathRulesJson", "string", False),
    ),
    "TrackType": (("trackTypeId", "string", False), *_COMMON_DEFINITION_FIELDS),
    "Guide": (
        ("guideId", "string", False),
        *_COMMON_DEFINITION_FIELDS,
        ("state", "string", False),
        ("launchMethod", "string", False),
        ("isMultiStep", "boolean", False),
        ("isTraining", "boolean", False),
        ("publishedAt", TIMESTAMP, True),
        ("stepsJson", "string", False),
    ),
}  # fmt: skip

METADATA_SCHEMA_FIELDS = (
    *((name, "string", False) for name in (
        "group", "name", "displayName", "type", "elementType", "elementFormat", "avroFieldName",
    )),
    ("isDeleted", "boolean", False),
    ("isPerApp", "boolean", False),
)  # fmt: skip

# The Avro type of an account or visitor field, by the metadata schema's `type`.
METADATA_AVRO_TYPES = {
    "string": "string",
    "time": TIMESTAMP,
    "integer": "long",
    "float": "double",
    "boolean": "boolean",
}


def record_schema(name: str, fields) -> dict:
    """An Avro record schema from (name, type, nullable) triples."""
    return {
        "type": "record",
        "name": name,
        "namespace": NAMESPACE,
        "fields": [
            {"name": field, "type": ["null", avro_type], "default": None}
            if nullable
            else {"name": field, "type": avro_type}
            for field, avro_type, nullable in fields
        ],
    }


def event_schema(version: int = LATEST_EVENT_VERSION, matched: bool = False) -> dict:
    """The schema of an allEvents file, or of a matched file (`matchableId` added)."""
    fields = list(EVENT_FIELDS)
    if version >= 2:
        fields.append(ADDED_EVENT_FIELD)
    if matched:
        fields.append(("matchableId", "string", False))
    return record_schema("MatchedEvent" if matched else "Event", fields)


def definition_schema(kind: str) -> dict:
    """The schema of allpages, allfeatures, alltracktypes or allguides (`kind`: Page, ...)."""
    return record_schema(kind, DEFINITION_FIELDS[kind])


def metadata_schema_schema() -> dict:
    """The schema of metadataschema.avro."""
    return record_schema("MetadataField", METADATA_SCHEMA_FIELDS)


def entity_schema(kind: str, metadata_fields) -> dict:
    """The schema of accounts or visitors files: `id`, then one nullable field per
    metadata field that is not deleted, named by its `avroFieldName`."""
    fields = [("id", "string", False)]
    fields += [
        (field["avroFieldName"], METADATA_AVRO_TYPES[field["type"]], True)
        for field in metadata_fields
        if not field["isDeleted"]
    ]
    return record_schema("Account" if kind == "account" else "Visitor", fields)


@cache
def _parsed(schema_text: str):
    return fastavro.parse_schema(json.loads(schema_text))


def parsed(schema: dict):
    """fastavro's parsed form of `schema`, parsed once per distinct schema."""
    return _parsed(json.dumps(schema, sort_keys=True))


def split_nullable(avro_type) -> tuple:
    """(the type without its `null` branch, whether it was nullable)."""
    if isinstance(avro_type, list):
        branches = [branch for branch in avro_type if branch != "null"]
        return branches[0], len(branches) < len(avro_type)
    return avro_type, False


def logical_type(avro_type) -> str | None:
    """The logicalType of a (possibly nullable) field type, or None."""
    base, _ = split_nullable(avro_type)
    return base.get("logicalType") if isinstance(base, dict) else None


_JSON_TYPES = {
    "string": "string",
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
}
_JSON_FORMATS = {"timestamp-millis": "date-time", "date": "date"}


def json_schema(avro_type) -> dict:
    """The JSON Schema of a column of this Avro type: `{"type": [...], "format": ...}`;
    `"null"` is in the types exactly when the Avro type is a union with `"null"`."""
    base, nullable = split_nullable(avro_type)
    logical = logical_type(base)
    primitive = base["type"] if isinstance(base, dict) else base
    schema: dict = {"type": (["null"] if nullable else []) + [_JSON_TYPES[primitive]]}
    if logical:
        schema = {"type": (["null"] if nullable else []) + ["string"]}
        schema["format"] = _JSON_FORMATS[logical]
    return schema
