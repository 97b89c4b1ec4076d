"""The Data Sync exports, knowing no Singer: stores (a folder, S3, GCS or Azure through
fsspec), manifests (the folders of a subscription and their exports), and Avro files
(writer schemas, the JSON Schema of their columns, rows as final records, streamed).

The layout and what a correct reader does: ../shared/pendo-datasync.md; the names and
values: docs/DATA-CONTRACT.md, "Data Sync streams".

Typical use:

    store = open_store(config.datasync_url, config.datasync_storage_options)
    subscription = find_subscription(store)
    for folder in subscription.folders:
        manifest = read_manifest(store, folder)
        lost = manifest.lost(bookmark)          # warn: describe_counters(lost)
        for export in manifest.after(bookmark):
            for name in export.page_definitions:
                extra = {"app_id": folder.app_id, "export_counter": export.counter}
                for record in rows(store, export.path(name), extra): ...

Imports: fsspec, fastavro, ijson, and of tap_pendo only errors, timefmt and
transform.names.
"""

from ..errors import DataSyncError
from .avro import (
    APP_ID,
    EXPORT_COUNTER,
    Header,
    added_columns,
    json_schema,
    read_header,
    rows,
    writer_schema,
)
from .manifests import (
    ACCOUNT,
    APPLICATION,
    MATCHED_KINDS,
    VISITOR,
    Export,
    Folder,
    Manifest,
    MatchedEvents,
    Period,
    Subscription,
    describe_counters,
    find_subscription,
    read_manifest,
)
from .store import Store, open_store

__all__ = [
    "ACCOUNT",
    "APPLICATION",
    "APP_ID",
    "EXPORT_COUNTER",
    "MATCHED_KINDS",
    "VISITOR",
    "DataSyncError",
    "Export",
    "Folder",
    "Header",
    "Manifest",
    "MatchedEvents",
    "Period",
    "Store",
    "Subscription",
    "added_columns",
    "describe_counters",
    "find_subscription",
    "json_schema",
    "open_store",
    "read_header",
    "read_manifest",
    "rows",
    "writer_schema",
]
