"""Where each file of a Data Sync tree goes, as the contract lays it out:

    {root}/datasync/{subscriptionId}/{folder}/exportmanifest.json
    {root}/datasync/{subscriptionId}/{folder}/{exportId}/billofmaterials.json
    {root}/datasync/{subscriptionId}/{folder}/{exportId}/{file named in the manifest}

`folder` is an application id (`-323232`), `account` or `visitor`. Inside an export,
an export that covers several periods keeps each period's files in a folder of its
own (`20261130/allevents.avro`); a one-period export keeps them at its top.
"""

from __future__ import annotations

from pathlib import Path

from .days import folder_name

MANIFEST = "exportmanifest.json"
BILL_OF_MATERIALS = "billofmaterials.json"
DEFINITION_FILES = {
    "Page": ("pageDefinitionsFile", "allpages.avro"),
    "Feature": ("featureDefinitionsFile", "allfeatures.avro"),
    "TrackType": ("trackTypeDefinitionsFile", "alltracktypes.avro"),
    "Guide": ("guideDefinitionsFile", "allguides.avro"),
}
ENTITY_FOLDERS = ("account", "visitor")
ENTITY_FILES = {"account": "accounts", "visitor": "visitors"}  # the manifest key, the file stem
METADATA_SCHEMA_FILE = "metadataschema.avro"


def subscription_dir(root, subscription: str) -> Path:
    """`{root}/datasync/{subscriptionId}`."""
    return Path(root) / "datasync" / subscription


def folder_dir(root, subscription: str, folder: str) -> Path:
    """The folder of an application, or of accounts or visitors."""
    return subscription_dir(root, subscription) / folder


def period_prefix(day: int, several_periods: bool) -> str:
    """The folder of a period's files inside an export: `20261130/`, or none."""
    return f"{folder_name(day)}/" if several_periods else ""


def split_names(stem: str, rows: int, max_rows: int) -> list:
    """`stem.avro` when the rows fit in one file, else `stem-000.avro`, `stem-001.avro`, ..."""
    if rows <= max_rows:
        return [f"{stem}.avro"]
    return [f"{stem}-{index:03d}.avro" for index in range(-(-rows // max_rows))]


def matched_name(kind: str, matchable_id: str) -> str:
    """`matchedEvents/Page/{pageId}.avro` (also Feature, TrackType)."""
    return f"matchedEvents/{kind}/{matchable_id}.avro"
