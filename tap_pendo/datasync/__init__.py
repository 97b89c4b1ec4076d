"""The Data Sync exports, knowing no Singer: stores (a folder, S3, GCS or Azure through
fsspec), manifests (the folders of a subscription and their exports), and Avro files
(writer schemas, the JSON Schema of their columns, rows as final records, streamed).

The layout and what a correct reader does: ../shared/pendo-datasync.md; the names and
values: docs/DATA-CONTRACT.md, "Data Sync streams".

Typical use:

    store = open_store(config.datasync_url, config.datasync_storage_options)
    subscription = find_subscription(store)     # .ignored: folders to mention
    for folder in subscription.folders:         # applications, account/, visitor/
        manifest = read_manifest(store, folder)
        lost = manifest.lost(bookmark)          # warn: describe_counters(lost)
        for export in manifest.after(bookmark): # counter order
            extra = {...the columns the reader adds: the app id, the counter...}
            for name in export.page_definitions:
                for record in rows(store, export.path(name), extra): ...
            for partition in export.partitions():  # a datasync_periods row each
                for name in partition.files:
                    for record in rows(store, export.path(name), extra): ...

Discovery: `json_schema(writer_schema(store, path), added)` reads a file's header
alone; `added` is the JSON Schema of the columns the reader adds. A Store may be shared by threads; each `rows` generator opens a
file object of its own and is read by one thread.

Imports: fsspec, fastavro, ijson, and of tap_pendo only errors, timefmt and
transform.names.
"""

import importlib

from ..errors import DataSyncError
from .layout import ACCOUNT, ALL_EVENTS, APPLICATION, MATCHED_KINDS, VISITOR

# What each submodule gives. They are imported when first asked for (PEP 562): fsspec and
# fastavro cost a run of the API streams a tenth of a second of start-up for nothing.
_FROM = {
    "avro": ("Header", "json_schema", "read_header", "rows", "writer_schema"),
    "manifests": (
        "Export",
        "Folder",
        "Manifest",
        "MatchedEvents",
        "Partition",
        "Period",
        "Subscription",
        "describe_counters",
        "find_subscription",
        "read_manifest",
    ),
    "store": ("Store", "open_store"),
}
_MODULE_OF = {name: module for module, names in _FROM.items() for name in names}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "ACCOUNT",
    "ALL_EVENTS",
    "APPLICATION",
    "MATCHED_KINDS",
    "VISITOR",
    "DataSyncError",
    *_MODULE_OF,
]
