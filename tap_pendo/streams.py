"""One short, declarative definition per stream: everything particular to a stream lives here.

Nothing outside this module asks for a stream by name: the planner, the
readers, the transform and discovery read these definitions.

`PERIOD` in a key or an identity stands for the period's field, `day` or
`hour`, which follows the config; `period_field()` is the one function that
decides it.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Optional

from .datasync.layout import ACCOUNT, ALL_EVENTS, APPLICATION, VISITOR
from .errors import PendoError
from .pendo.aggregation import APPS, IDENTIFIED

PERIOD = "<period>"
PERIOD_FIELDS = {"dayRange": "day", "hourRange": "hour"}

# How a stream is read.
LISTING = "listing"  # a keyset pagination over an entity source of the aggregation API
WINDOWS = "windows"  # an aggregation with a timeSeries, one window of periods per unit
DOCUMENT = "document"  # one GET answer: a JSON object or a list
HISTORY = "history"  # GET /visitor/{id}/history, one visitor-day per unit
DATASYNC = "datasync"  # Avro files of Data Sync exports, one file per unit


def period_field(period: str) -> str:
    """`day` for dayRange, `hour` for hourRange: the row field and the bookmark key."""
    return PERIOD_FIELDS[period]


def other_period_field(period: str) -> str:
    """The period field that `period` does not use (`hour` for dayRange)."""
    (other,) = set(PERIOD_FIELDS.values()) - {period_field(period)}
    return other


@dataclass(frozen=True)
class Listing:
    """An entity source of the aggregation API, read as one keyset pagination.

    Several streams can ride on one listing (guides, guide_steps and polls;
    visitors and visitor_history): the source is then read once for all.
    """

    source: str
    order: tuple  # the replication value first, then the id: a total order
    params: str = APPS


@dataclass(frozen=True)
class MetadataColumns:
    """How accounts and visitors lay out Pendo's `metadata` object: one column per group
    (`metadata_<group>`), the per-app groups (`auto__<appId>`) gathered into one column,
    and the replication value lifted to a column of its own."""

    path: str = "metadata"
    column_prefix: str = "metadata_"
    per_app_group: str = r"^auto__(-?\d+)$"  # a per-app group's name; the app id is group 1
    per_app_column: str = "metadata_auto_per_app"
    per_app_like: str = "auto"  # the group whose schema types the per-app groups
    lifted_group: str = "auto"
    lifted_field: str = "lastupdated"  # becomes the column of the same name

    def column(self, group: str) -> str:
        return self.column_prefix + group


@dataclass(frozen=True)
class VisitorHistory:
    """visitor_history's facts: which listed visitors can have history, and the fields of
    a history item (GET /api/v1/visitor/{id}/history)."""

    kept_days: int = 180  # Pendo answers [] for a `starttime` older than this
    anonymous_prefix: str = "_PENDO_T_"
    visitor_id: str = "visitorId"
    first_visit: str = "metadata.auto.firstvisit"
    last_visit: str = "metadata.auto.lastvisit"
    do_not_process: str = "metadata.pendo.donotprocess"
    item_app: str = "appId"
    item_time: str = "ts"
    item_last_time: str = "lastTs"
    modified: str = "modifiedTs"  # added by the tap: the later of ts and lastTs


@dataclass(frozen=True)
class ExportFiles:
    """Which files of a Data Sync export hold a stream's rows (../shared/pendo-datasync.md):
    the kind of folder, and the part of the export's manifest entry that names them."""

    folder: str  # datasync.APPLICATION, ACCOUNT or VISITOR
    # An `Export` field: page_definitions, feature_definitions, track_type_definitions,
    # guide_definitions, records or metadata_schema; PARTITIONS: the files of the export's
    # partitions of `partition_kind`; PERIODS: the partitions themselves (datasync_periods).
    part: str
    partition_kind: Optional[str] = None  # datasync.ALL_EVENTS, "Page", "Feature", "TrackType"
    app_column: Optional[str] = None  # the column that carries the folder's app id
    counter_column: str = "export_counter"  # the column that carries the export's counter


PARTITIONS = "partitions"
PERIODS = "periods"


@dataclass(frozen=True)
class StreamDef:
    """What a stream is and how it is read, transformed and discovered."""

    name: str
    reader: str
    key_properties: tuple  # output columns, in Stitch's order where Stitch has the stream
    # Pendo's fields that make a row of this stream unique; the keys are their
    # snake_case names (a unit test checks that the two agree).
    identity: tuple
    replication_key: Optional[str] = None  # output column; PERIOD for the period field
    replication_path: Optional[str] = None  # where the replication value is in Pendo's row
    listing: Optional[Listing] = None  # LISTING and HISTORY streams
    source: Optional[str] = None  # WINDOWS: the aggregation source; DOCUMENT: the GET path
    # LISTING streams whose rows sit inside the listing's rows (a guide's steps);
    # datasync_periods: the row of an export's partition.
    rows_of: Optional[Callable[[object], Iterable[dict]]] = None
    parent: Optional[str] = None  # catalog metadata `parent-tap-stream-id`
    legacy_bookmark_keys: tuple = ()  # bookmark keys written by singer-io's tap-pendo
    history: Optional[VisitorHistory] = None  # HISTORY streams
    export_files: Optional[ExportFiles] = None  # DATASYNC streams
    # Transform
    metadata_columns: Optional[MetadataColumns] = None  # accounts and visitors
    verbatim_columns: frozenset = frozenset()  # objects whose inner names are kept as sent
    verbatim_document: bool = False  # a schema document: group and field names kept
    # Discovery
    custom_fields_of: Optional[str] = None  # the stream whose custom fields this document types

    def keys(self, period: str) -> tuple:
        """Primary key columns under `period`."""
        return tuple(period_field(period) if k == PERIOD else k for k in self.key_properties)

    def bookmark_key(self, period: str) -> Optional[str]:
        """The replication key column, which is also the key of the stream's bookmark."""
        if self.replication_key == PERIOD:
            return period_field(period)
        return self.replication_key

    def raw_replication_path(self, period: str) -> Optional[str]:
        """Where the replication value sits in Pendo's row."""
        if self.replication_path == PERIOD:
            return period_field(period)
        return self.replication_path

    def raw_identity(self, period: str) -> tuple:
        """`identity` with the period's field in place of PERIOD."""
        return tuple(period_field(period) if f == PERIOD else f for f in self.identity)

    def window_order(self, period: str) -> tuple:
        """Keyset order of a window: the period first (a page's last row holds the newest
        period), then the rest of the identity."""
        field = period_field(period)
        return (field,) + tuple(f for f in self.raw_identity(period) if f != field)

    @property
    def has_period_column(self) -> bool:
        """Rows carry `day` or `hour` (the aggregated and the per-event sources)."""
        return self.reader == WINDOWS

    @property
    def aggregated_by_period(self) -> bool:
        """One row per period and identity, replicated on the period itself."""
        return self.reader == WINDOWS and self.replication_key == PERIOD


def _parts_of_guide(field: str) -> Callable[[dict], Iterator[dict]]:
    """A guide's steps or polls as rows, each with its guide's id and lastUpdatedAt."""

    def rows_of(guide: dict) -> Iterator[dict]:
        parts = guide.get(field)
        if parts is None:
            return
        if not isinstance(parts, list):
            raise PendoError(f"guide {guide.get('id')!r}: Pendo sent {field} that is not a list")
        updated = {"lastUpdatedAt": guide["lastUpdatedAt"]} if "lastUpdatedAt" in guide else {}
        for part in parts:
            if not isinstance(part, dict):
                raise PendoError(
                    f"guide {guide.get('id')!r}: Pendo sent {part!r} among its {field}"
                )
            yield {**part, "guideId": guide.get("id"), **updated}

    return rows_of


ACCOUNTS = Listing("accounts", ("metadata.auto.lastupdated", "accountId"))
VISITORS = Listing("visitors", ("metadata.auto.lastupdated", "visitorId"), IDENTIFIED)
FEATURES = Listing("features", ("lastUpdatedAt", "id"))
PAGES = Listing("pages", ("lastUpdatedAt", "id"))
GUIDES = Listing("guides", ("lastUpdatedAt", "id"))
TRACK_TYPES = Listing("trackTypes", ("lastUpdatedAt", "id"))

_AGGREGATED_IDENTITY = ("visitorId", "accountId", "appId", "server", "remoteIp", "userAgent")
_PER_EVENT_IDENTITY = (
    "browserTime",
    "visitorId",
    "accountId",
    "appId",
    "serverName",
    "remoteIp",
    "userAgent",
    "guideId",
    "guideStepId",
    "type",
    "url",
)


def _people(name, listing, key):
    """accounts and visitors: keyed by their id, dated by metadata.auto.lastupdated."""
    return StreamDef(
        name=name,
        reader=LISTING,
        key_properties=(key,),
        identity=listing.order[1:],
        replication_key="lastupdated",
        replication_path="metadata.auto.lastupdated",
        listing=listing,
        metadata_columns=MetadataColumns(),
    )


def _entity(name, listing, **more):
    """A product entity (feature, page, guide, track type): keyed by id, dated by lastUpdatedAt."""
    return StreamDef(
        name=name,
        reader=LISTING,
        key_properties=("id",),
        identity=("id",),
        replication_key="last_updated_at",
        replication_path="lastUpdatedAt",
        listing=listing,
        legacy_bookmark_keys=("lastUpdatedAt",),
        **more,
    )


def _guide_part(name, field):
    """guide_steps and polls: rows inside the guides' rows, read with them."""
    return StreamDef(
        name=name,
        reader=LISTING,
        key_properties=("guide_id", "id"),
        identity=("guideId", "id"),
        replication_key="last_updated_at",
        replication_path="lastUpdatedAt",
        listing=GUIDES,
        rows_of=_parts_of_guide(field),
        parent="guides",
    )


def _document(name, path, **more):
    return StreamDef(name=name, reader=DOCUMENT, source=path, **more)


def _saved(name, path, verbatim):
    """segments and reports: small lists, filtered on lastUpdatedAt in the tap."""
    return _document(
        name,
        path,
        key_properties=("id",),
        identity=("id",),
        replication_key="last_updated_at",
        replication_path="lastUpdatedAt",
        verbatim_columns=frozenset({verbatim}),
    )


def _aggregated_events(name, source, key_properties, target=None, parent=None, verbatim=()):
    """An aggregated event stream: one row per period and identity (and target)."""
    return StreamDef(
        name=name,
        reader=WINDOWS,
        source=source,
        key_properties=key_properties,
        identity=(PERIOD,) + _AGGREGATED_IDENTITY + ((target,) if target else ()),
        replication_key=PERIOD,
        replication_path=PERIOD,
        parent=parent,
        verbatim_columns=frozenset(verbatim),
    )


def _per_event(name, source, key_properties, identity):
    """guide_events and poll_events: one row per event, replicated on browserTime."""
    return StreamDef(
        name=name,
        reader=WINDOWS,
        source=source,
        key_properties=key_properties,
        identity=identity,
        replication_key="browser_time",
        replication_path="browserTime",
        parent="guides",
    )


def _datasync(name, key_properties, folder, part, partition_kind=None, rows_of=None):
    """A Data Sync stream: the rows of some files of every export, named and typed by each
    file's own writer schema, each with the counter of its export (and its app id)."""
    app_column = "app_id" if folder == APPLICATION else None
    return StreamDef(
        name=name,
        reader=DATASYNC,
        key_properties=key_properties,
        identity=key_properties,
        replication_key="export_counter",
        export_files=ExportFiles(folder, part, partition_kind, app_column),
        rows_of=rows_of,
    )


def _partition_row(of_export: tuple) -> Iterator[dict]:
    """datasync_periods: the row of one partition that an export replaces, from `(app id,
    export counter, datasync.Partition)`; written also when its files are none (the
    partition is empty now)."""
    app_id, counter, partition = of_export
    yield {
        "app_id": app_id,
        "kind": partition.kind,
        "matchable_id": partition.matchable_id,
        "period_id": partition.period_id,
        "export_counter": counter,
    }


_MATCHED_KEY = ("app_id", "period_id", "matchable_id", "event_id")

# The keys start from Stitch's and add what makes rows unique (docs/DATA-CONTRACT.md:
# "Why some keys differ from Stitch's"). Stitch's 15 streams come first, in
# Stitch's order; the streams beyond Stitch's follow.
# fmt: off
STREAMS = {
    s.name: s
    for s in (
        _people("accounts", ACCOUNTS, "account_id"),
        _people("visitors", VISITORS, "visitor_id"),
        _entity("features", FEATURES),
        _entity("pages", PAGES),
        _entity("guides", GUIDES),
        _entity("track_types", TRACK_TYPES),
        _document("metadata_accounts", "/api/v1/metadata/schema/account", key_properties=(),
                  identity=(), verbatim_document=True, custom_fields_of="accounts"),
        _document("metadata_visitors", "/api/v1/metadata/schema/visitor", key_properties=(),
                  identity=(), verbatim_document=True, custom_fields_of="visitors"),
        _aggregated_events(
            "events", "events",
            ("account_id", "server", "remote_ip", "visitor_id", "app_id", "user_agent", PERIOD),
            verbatim=("parameters",),
        ),
        _aggregated_events(
            "feature_events", "featureEvents",
            ("account_id", "server", "remote_ip", "visitor_id", PERIOD, "feature_id",
             "user_agent", "app_id"),
            target="featureId", parent="features", verbatim=("parameters",),
        ),
        _aggregated_events(
            "page_events", "pageEvents",
            ("account_id", "server", "remote_ip", "visitor_id", PERIOD, "page_id", "user_agent",
             "app_id"),
            target="pageId", parent="pages", verbatim=("parameters",),
        ),
        _aggregated_events(
            "track_events", "trackEvents",
            ("account_id", "remote_ip", "server", "visitor_id", PERIOD, "track_type_id",
             "user_agent", "app_id"),
            target="trackTypeId", parent="track_types", verbatim=("properties",),
        ),
        # The seed's `server` is dropped from the key: guide events carry `serverName`.
        _per_event(
            "guide_events", "guideEvents",
            ("account_id", "server_name", "remote_ip", "browser_time", "visitor_id", "guide_id",
             "guide_step_id", "type", "url", "app_id", "user_agent"),
            _PER_EVENT_IDENTITY,
        ),
        _per_event(
            "poll_events", "pollEvents",
            # guide_id is added: a poll id is unique only within its guide.
            ("account_id", "remote_ip", "visitor_id", "browser_time", "poll_id", "app_id",
             "server_name", "user_agent", "guide_id"),
            _PER_EVENT_IDENTITY[:7] + ("guideId", "pollId"),
        ),
        StreamDef(
            name="visitor_history", reader=HISTORY, listing=VISITORS,
            key_properties=("visitor_id", "app_id", "ts", "type"),
            identity=("visitorId", "appId", "ts", "type"),
            replication_key="modified_ts", parent="visitors", history=VisitorHistory(),
        ),
        # Beyond Stitch's streams.
        _guide_part("guide_steps", "steps"),
        _guide_part("polls", "polls"),
        _saved("segments", "/api/v1/segment", "pipeline"),
        _saved("reports", "/api/v1/report", "definition"),
        # Pendo Data Sync exports, when datasync_url is set.
        _datasync("datasync_events", ("app_id", "period_id", "event_id"), APPLICATION,
                  PARTITIONS, ALL_EVENTS),
        _datasync("datasync_page_events", _MATCHED_KEY, APPLICATION, PARTITIONS, "Page"),
        _datasync("datasync_feature_events", _MATCHED_KEY, APPLICATION, PARTITIONS, "Feature"),
        _datasync("datasync_track_events", _MATCHED_KEY, APPLICATION, PARTITIONS, "TrackType"),
        _datasync("datasync_pages", ("app_id", "page_id"), APPLICATION, "page_definitions"),
        _datasync("datasync_features", ("app_id", "feature_id"), APPLICATION,
                  "feature_definitions"),
        _datasync("datasync_track_types", ("app_id", "track_type_id"), APPLICATION,
                  "track_type_definitions"),
        _datasync("datasync_guides", ("app_id", "guide_id"), APPLICATION, "guide_definitions"),
        _datasync("datasync_accounts", ("id",), ACCOUNT, "records"),
        _datasync("datasync_visitors", ("id",), VISITOR, "records"),
        _datasync("datasync_account_metadata_schema", ("group", "name"), ACCOUNT,
                  "metadata_schema"),
        _datasync("datasync_visitor_metadata_schema", ("group", "name"), VISITOR,
                  "metadata_schema"),
        _datasync("datasync_periods", ("app_id", "kind", "matchable_id", "period_id"),
                  APPLICATION, PERIODS, rows_of=_partition_row),
    )
}
# fmt: on
