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

from ..errors import DataSyncError
from .avro import (
    Header,
    json_schema,
    read_header,
    rows,
    writer_schema,
)
from .manifests import (
    ACCOUNT,
    ALL_EVENTS,
    APPLICATION,
    MATCHED_KINDS,
    VISITOR,
    Export,
    Folder,
    Manifest,
    MatchedEvents,
    Partition,
    Period,
    Subscription,
    describe_counters,
    find_subscription,
    read_manifest,
)
from .store import Store, open_store

__all__ = [
    "ACCOUNT",
    "ALL_EVENTS",
    "APPLICATION",
    "MATCHED_KINDS",
    "VISITOR",
    "DataSyncError",
    "Export",
    "Folder",
    "Header",
    "Manifest",
    "MatchedEvents",
    "Partition",
    "Period",
    "Store",
    "Subscription",
    "describe_counters",
    "find_subscription",
    "json_schema",
    "open_store",
    "read_header",
    "read_manifest",
    "rows",
    "writer_schema",
]
