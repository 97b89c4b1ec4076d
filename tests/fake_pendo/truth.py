"""The ground truth: the Singer records a correct tap emits.

Written from the last section of `shared/pendo-api.md` ("What a correct tap
emits") and from docs/DATA-CONTRACT.md's naming and time conventions
(conventions.py, whose names are importable from here too), from the
dataset's Pendo-shaped rows and independently of `tap_pendo`, so that the
tap's output is compared with something other than itself. It assumes nothing
about how a tap slices its requests. `truth()` gives the records of a full
sync from `start_ms` (up to `end_ms`, when given) at the dataset's current
clock, with every field selected. Values are Pendo's: `accountId: ""` stays "".
"""

from __future__ import annotations

import copy

from .constants import ANONYMOUS_PREFIX, DAY_MS, HISTORY_LIMIT_MS
from .conventions import PERIOD, PRIMARY_KEYS, primary_key, rename, rfc3339, snake
from .periods import period_start, period_starts

__all__ = [
    "EVENT_STREAMS",
    "PERIOD",
    "PRIMARY_KEYS",
    "active_visitor_days",
    "primary_key",
    "rename",
    "rfc3339",
    "snake",
    "truth",
]


ENTITY_STREAMS = {
    "features": "features",
    "pages": "pages",
    "guides": "guides",
    "track_types": "trackTypes",
}
ENTITY_TIMES = ("created_at", "last_updated_at", "published_at", "reset_at")
EVENT_STREAMS = {
    "events": "events",
    "feature_events": "featureEvents",
    "page_events": "pageEvents",
    "track_events": "trackEvents",
    "guide_events": "guideEvents",
    "poll_events": "pollEvents",
}
EVENT_TIMES = {"day", "hour", "first_time", "last_time", "browser_time", "guide_timestamp"}
AGGREGATED_SOURCES = ("events", "featureEvents", "pageEvents", "trackEvents")
# Segments and reports: the field that holds a Pendo query (kept verbatim), and the times.
SAVED_STREAMS = {
    "segments": ("pipeline", ("created_at", "last_updated_at")),
    "reports": ("definition", ("created_at", "last_updated_at", "last_run_at")),
}


def truth(
    dataset,
    stream: str,
    period: str = "dayRange",
    include_anonymous: bool = False,
    app_ids=None,
    start_ms: int = 0,
    end_ms: int | None = None,
) -> list:
    """The records a correct tap emits for `stream` at the dataset's clock.

    `period` (`dayRange` or `hourRange`) is the event streams' period;
    `include_anonymous` lets anonymous visitors into `visitors` and
    `visitor_history`; `app_ids` empty or None means every app (segments and
    reports have no app). `start_ms` is the sync's start date; `end_ms`, when
    given, bounds the event streams and `visitor_history` only.

    - aggregated event streams: the rows of the periods that end after
      start_ms (the period that contains it is included whole), start before
      end_ms and not after now;
    - guide_events, poll_events: rows with browserTime in [start_ms, end_ms);
    - visitor_history: items with ts in [start_ms, end_ms) and not older than
      180 days before now, of eligible visitors, of the apps;
    - entities, segments, reports: replication value at or after start_ms, or
      missing; guide_steps and polls: those of the guides the `guides` truth gives.
    """
    apps = set(app_ids) if app_ids else None
    if stream in ("accounts", "visitors"):
        return _people(dataset, stream, include_anonymous, apps, start_ms)
    if stream in ENTITY_STREAMS:
        return _entities(dataset, ENTITY_STREAMS[stream], apps, start_ms)
    if stream in ("guide_steps", "polls"):
        return _guide_parts(dataset, stream, apps, start_ms)
    if stream in SAVED_STREAMS:
        return _saved(dataset, stream, start_ms)
    if stream in ("metadata_accounts", "metadata_visitors"):
        return [_metadata_record(dataset.metadata_schema(stream[len("metadata_") : -1]))]
    if stream in EVENT_STREAMS:
        return _events(dataset, EVENT_STREAMS[stream], period, apps, start_ms, end_ms)
    if stream == "visitor_history":
        return _visitor_history(dataset, include_anonymous, apps, start_ms, end_ms)
    raise ValueError(f"unknown stream: {stream!r}")


# ------------------------------------------------------------------ accounts, visitors


def _people(dataset, stream: str, include_anonymous: bool, apps, start_ms: int) -> list:
    kind = stream[:-1]  # account | visitor
    id_field = f"{kind}Id"
    schema = dataset.metadata_schema(kind)
    records = []
    for row in dataset.entities(stream):
        if stream == "visitors" and _anonymous(row) and not include_anonymous:
            continue
        if stream == "accounts" and not _account_in_apps(dataset, row[id_field], apps):
            continue
        lastupdated = row["metadata"].get("auto", {}).get("lastupdated")
        if lastupdated is not None and lastupdated < start_ms:
            continue
        record = {f"{kind}_id": row[id_field]}
        if lastupdated is not None:
            record["lastupdated"] = rfc3339(lastupdated)
        record.update(_metadata_columns(row["metadata"], schema))
        records.append(record)
    return records


def _anonymous(visitor_row: dict) -> bool:
    return visitor_row["visitorId"].startswith(ANONYMOUS_PREFIX)


def _account_in_apps(dataset, account_id: str, apps) -> bool:
    """An account is read when it has activity in one of the apps (any app when None)."""
    account_apps = dataset.account_apps(account_id)
    return bool(account_apps) if apps is None else not account_apps.isdisjoint(apps)


def _metadata_columns(metadata: dict, schema: dict) -> dict:
    """`metadata_G` per group G; the `auto__<appId>` groups gathered in `metadata_auto_per_app`."""
    columns = {}
    per_app = {}
    for group, fields in metadata.items():
        if group.startswith("auto__"):
            per_app[group[len("auto__") :]] = _convert_group(fields, schema.get("auto", {}))
        else:
            columns[f"metadata_{group}"] = _convert_group(fields, schema.get(group, {}))
    if per_app:
        columns["metadata_auto_per_app"] = per_app
    return columns


def _convert_group(fields: dict, types: dict) -> dict:
    """Field names kept; values converted by their `Type` in the metadata schema."""
    return {
        name: _convert(value, types.get(name, {}).get("Type")) for name, value in fields.items()
    }


def _convert(value, type_):
    if value is None:
        return None
    if type_ == "time":
        return rfc3339(value)
    if type_ == "integer":
        return int(value)
    if type_ == "float":
        return float(value)
    return value


def _metadata_record(schema: dict) -> dict:
    """The schema document: group and field names kept, attribute names renamed."""
    return {
        group: {name: rename(attributes) for name, attributes in fields.items()}
        for group, fields in schema.items()
    }


# ------------------------------------------------------------ features, pages, ...


def _read_entities(dataset, source: str, apps, start_ms: int) -> list:
    """The Pendo rows a sync reads: of the apps, lastUpdatedAt at or after start_ms or missing."""
    rows = []
    for row in dataset.entities(source):
        if apps is not None and row.get("appId") not in apps:
            continue
        updated = row.get("lastUpdatedAt")
        if updated is not None and updated < start_ms:
            continue
        rows.append(row)
    return rows


def _entities(dataset, source: str, apps, start_ms: int) -> list:
    records = []
    for row in _read_entities(dataset, source, apps, start_ms):
        record = rename(row)
        for name in ENTITY_TIMES:
            if name in record:
                record[name] = rfc3339(record[name])
        records.append(record)
    return records


def _guide_parts(dataset, stream: str, apps, start_ms: int) -> list:
    """One record per step (or poll) of each guide read: renamed, plus the guide's id and time.

    Steps and polls have no time of their own: `last_updated_at` is their
    guide's, absent where the guide has none.
    """
    field = "steps" if stream == "guide_steps" else "polls"
    records = []
    for guide in _read_entities(dataset, "guides", apps, start_ms):
        for part in guide.get(field) or ():
            record = rename(part)
            record["guide_id"] = guide["id"]
            if guide.get("lastUpdatedAt") is not None:
                record["last_updated_at"] = rfc3339(guide["lastUpdatedAt"])
            records.append(record)
    return records


# -------------------------------------------------------------- segments, reports


def _saved(dataset, stream: str, start_ms: int) -> list:
    """Every item with lastUpdatedAt at or after start_ms (or missing); no app filter.

    Keys renamed recursively, except inside the item's Pendo query (a segment's
    `pipeline`, a report's `definition`), which is kept verbatim; the top-level
    times as RFC3339.
    """
    query_field, times = SAVED_STREAMS[stream]
    rows = dataset.segments() if stream == "segments" else dataset.reports()
    records = []
    for row in rows:
        updated = row.get("lastUpdatedAt")
        if updated is not None and updated < start_ms:
            continue
        record = {}
        for name, value in row.items():
            if name == query_field:
                record[name] = copy.deepcopy(value)
            elif isinstance(value, (dict, list)):
                record[snake(name)] = rename(value)
            else:
                record[snake(name)] = value
        for name in times:
            if name in record:
                record[name] = rfc3339(record[name])
        records.append(record)
    return records


# ---------------------------------------------------------------------------- events


def _events(dataset, source: str, period: str, apps, start_ms: int, end_ms) -> list:
    """Aggregated sources: whole periods; guide and poll events: by browserTime."""
    per_event = source not in AGGREGATED_SOURCES
    records = []
    for row in dataset.event_rows(source, period, _periods(dataset, period, start_ms, end_ms)):
        if apps is not None and row["appId"] not in apps:
            continue
        if per_event and not (
            row["browserTime"] >= start_ms and (end_ms is None or row["browserTime"] < end_ms)
        ):
            continue
        records.append(_event_record(row))
    return records


def _periods(dataset, period: str, start_ms: int, end_ms) -> list:
    """Starts of the periods that end after start_ms, start before end_ms, and not after now.

    The period that contains start_ms is included whole. Periods that end
    before the dataset's first activity are empty, and skipped.
    """
    first = period_start(max(start_ms, dataset.first_activity_ms()), period, dataset.tz)
    last = dataset.now_ms + 1 if end_ms is None else min(end_ms, dataset.now_ms + 1)
    return list(period_starts(first, last, period, dataset.tz))


def _event_record(row: dict) -> dict:
    """Top-level keys renamed, times converted; `parameters` and `properties` kept verbatim;
    a poll response as text. An empty key value stays "" (Pendo's value)."""
    record = {}
    for name, value in row.items():
        name = snake(name)
        if name in EVENT_TIMES:
            value = rfc3339(value)
        elif name == "poll_response" and type(value) in (int, float):
            value = str(value)
        record[name] = value
    return record


# --------------------------------------------------------------------------- history


def _history_eligible(row: dict, include_anonymous: bool) -> bool:
    """Not do-not-process; anonymous only when included."""
    if row["metadata"].get("pendo", {}).get("donotprocess"):
        return False
    return include_anonymous or not _anonymous(row)


def _visitor_history(dataset, include_anonymous: bool, apps, start_ms: int, end_ms) -> list:
    """Items with ts at or after start_ms, before end_ms when given, and not older than 180
    days before now (Pendo keeps no older history), of eligible visitors and of the apps."""
    low = max(start_ms, dataset.now_ms - HISTORY_LIMIT_MS)
    records = []
    for row in dataset.entities("visitors"):
        if not _history_eligible(row, include_anonymous):
            continue
        visitor_id = row["visitorId"]
        for item in dataset.history_items(visitor_id):
            ts = item["ts"]
            if ts < low or (end_ms is not None and ts >= end_ms):
                continue
            if apps is not None and item["appId"] not in apps:
                continue
            record = rename(item)
            record["ts"] = rfc3339(ts)
            record["visitor_id"] = visitor_id
            if "lastTs" in item:
                record["last_ts"] = rfc3339(item["lastTs"])
            record["modified_ts"] = rfc3339(max(ts, item.get("lastTs") or ts))
            records.append(record)
    return records


def active_visitor_days(dataset, start_ms: int, include_anonymous: bool = False) -> int:
    """A bound on the history requests of a tap that asks only the days a visitor can be active.

    Not part of the truth: a yardstick for request counts. It assumes a tap
    that reads each history-eligible visitor whose `lastvisit` is at or after
    the origin, in the 24-hour windows of `GET .../history` laid end to end
    from the origin on, and asks only the windows that overlap
    [max(firstvisit, origin), min(lastvisit, now)]. The origin is start_ms, or
    180 days before now when start_ms is older (Pendo answers [] to an older
    `starttime`). A tap that lays its windows out otherwise may need up to one
    more request per visitor.
    """
    now = dataset.now_ms
    origin = max(start_ms, now - HISTORY_LIMIT_MS)
    total = 0
    for row in dataset.entities("visitors"):
        auto = row["metadata"].get("auto", {})
        lastvisit = auto.get("lastvisit")
        if not _history_eligible(row, include_anonymous) or lastvisit is None:
            continue
        if lastvisit < origin:
            continue
        low = (max(auto.get("firstvisit", origin), origin) - origin) // DAY_MS
        high = (min(lastvisit, now) - origin) // DAY_MS
        total += max(0, high - low + 1)
    return total
