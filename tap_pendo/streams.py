"""One short, declarative definition per stream: the single place for each stream's
key, replication key, Pendo source and paging order.

`PERIOD` in a key or an order stands for the period's field, `day` or `hour`,
which follows the config; `period_field()` is the one function that decides it.
"""

from dataclasses import dataclass
from typing import Optional

PERIOD = "<period>"

ENTITY = "entity"  # aggregation source of entities, incremental on a timestamp
METADATA = "metadata"  # the metadata schema document, full table
EVENT = "event"  # aggregation source with a timeSeries, walked in windows
HISTORY = "history"  # GET /visitor/{id}/history, one visitor-day per request


PERIOD_FIELDS = {"dayRange": "day", "hourRange": "hour"}


def period_field(period: str) -> str:
    """`day` for dayRange, `hour` for hourRange: the row field and the bookmark key."""
    return PERIOD_FIELDS[period]


def other_period_field(period: str) -> str:
    """The period field that `period` does not use (`hour` for dayRange)."""
    (other,) = set(PERIOD_FIELDS.values()) - {period_field(period)}
    return other


@dataclass(frozen=True)
class StreamDef:
    """What a stream is. Behaviour lives in sync.py; this is data only."""

    name: str
    kind: str
    source: str  # aggregation source, or the path for GET streams
    key_properties: tuple
    replication_key: Optional[str] = None  # output column; PERIOD for the period field
    # Pendo's path of the replication value inside a raw row.
    replication_path: Optional[str] = None
    # Pendo's field names that make a row unique, in keyset order (after the
    # replication value): a total order, so pages never skip or repeat rows.
    identity: tuple = ()
    parent: Optional[str] = None
    legacy_bookmark_keys: tuple = ()  # bookmark keys written by singer-io's tap-pendo

    def keys(self, period: str) -> tuple:
        """Primary key columns under `period` (a new tuple: nothing shared is ever mutated)."""
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


_EVENT_IDENTITY = ("visitorId", "accountId", "appId", "server", "remoteIp", "userAgent")
_BROWSER_EVENT_IDENTITY = (
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


def _entity(name, source):
    """A product entity (feature, page, guide, track type): keyed by id, dated by lastUpdatedAt."""
    return StreamDef(
        name=name,
        kind=ENTITY,
        source=source,
        key_properties=("id",),
        replication_key="last_updated_at",
        replication_path="lastUpdatedAt",
        identity=("id",),
        legacy_bookmark_keys=("lastUpdatedAt",),
    )


def _period_events(name, source, key_properties, target=None, parent=None):
    """An aggregated event stream: one row per period and identity (and target)."""
    return StreamDef(
        name=name,
        kind=EVENT,
        source=source,
        key_properties=key_properties,
        replication_key=PERIOD,
        replication_path=PERIOD,
        identity=_EVENT_IDENTITY + ((target,) if target else ()),
        parent=parent,
    )


# The keys start from Stitch's and add what makes rows unique (README:
# "Why some keys differ from Stitch's").
# fmt: off
STREAMS = {
    s.name: s
    for s in (
        StreamDef(
            name="accounts", kind=ENTITY, source="accounts", key_properties=("account_id",),
            replication_key="lastupdated", replication_path="metadata.auto.lastupdated",
            identity=("accountId",),
        ),
        StreamDef(
            name="visitors", kind=ENTITY, source="visitors", key_properties=("visitor_id",),
            replication_key="lastupdated", replication_path="metadata.auto.lastupdated",
            identity=("visitorId",),
        ),
        _entity("features", "features"),
        _entity("pages", "pages"),
        _entity("guides", "guides"),
        _entity("track_types", "trackTypes"),
        StreamDef(
            name="metadata_accounts", kind=METADATA, source="/api/v1/metadata/schema/account",
            key_properties=(),
        ),
        StreamDef(
            name="metadata_visitors", kind=METADATA, source="/api/v1/metadata/schema/visitor",
            key_properties=(),
        ),
        _period_events(
            "events", "events",
            ("account_id", "server", "remote_ip", "visitor_id", "app_id", "user_agent", PERIOD),
        ),
        _period_events(
            "feature_events", "featureEvents",
            ("account_id", "server", "remote_ip", "visitor_id", PERIOD, "feature_id",
             "user_agent", "app_id"),
            target="featureId", parent="features",
        ),
        _period_events(
            "page_events", "pageEvents",
            ("account_id", "server", "remote_ip", "visitor_id", PERIOD, "page_id", "user_agent",
             "app_id"),
            target="pageId", parent="pages",
        ),
        _period_events(
            "track_events", "trackEvents",
            ("account_id", "remote_ip", "server", "visitor_id", PERIOD, "track_type_id",
             "user_agent", "app_id"),
            target="trackTypeId", parent="track_types",
        ),
        StreamDef(
            name="guide_events", kind=EVENT, source="guideEvents",
            # The seed's `server` is dropped: guide events carry `serverName`.
            key_properties=("account_id", "server_name", "remote_ip", "browser_time",
                            "visitor_id", "guide_id", "guide_step_id", "type", "url", "app_id",
                            "user_agent"),
            replication_key="browser_time", replication_path="browserTime",
            identity=("browserTime",) + _BROWSER_EVENT_IDENTITY, parent="guides",
        ),
        StreamDef(
            name="poll_events", kind=EVENT, source="pollEvents",
            key_properties=("account_id", "remote_ip", "visitor_id", "browser_time", "poll_id",
                            "app_id", "server_name", "user_agent"),
            replication_key="browser_time", replication_path="browserTime",
            identity=("browserTime",) + _BROWSER_EVENT_IDENTITY + ("pollId",), parent="guides",
        ),
        StreamDef(
            name="visitor_history", kind=HISTORY, source="/api/v1/visitor/{visitor_id}/history",
            key_properties=("visitor_id", "app_id", "ts", "type"),
            replication_key="modified_ts", parent="visitors",
        ),
    )
}
# fmt: on
