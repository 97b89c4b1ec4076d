"""What an entity stream's bookmark lets the next run skip (docs/DATA-CONTRACT.md, State).

A finished entity stream's bookmark holds its replication key, the newest value
written. A stream listed by the aggregation API (accounts, visitors, features, pages,
guides, track types) also keeps `newest`, the keyset position of its newest row:
[value in epoch ms, id]; the guides' steps and polls, which ride on the guides'
listing, keep the position of its newest guide. A run after it emits again the rows
past that position, and the rows without a date, which no bookmark can track. Segments and reports, filtered by the
tap from one list, keep no position: the rows at the bookmark's value (ties) come
again with the newer ones.
"""

from __future__ import annotations

from .moments import ms

# stream -> (the record field of the replication key, the record field of the position's
# id); steps and polls stand at their guide's position.
ENTITY_FIELDS = {
    "accounts": ("lastupdated", "account_id"),
    "visitors": ("lastupdated", "visitor_id"),
    "features": ("last_updated_at", "id"),
    "pages": ("last_updated_at", "id"),
    "guides": ("last_updated_at", "id"),
    "track_types": ("last_updated_at", "id"),
    "guide_steps": ("last_updated_at", "guide_id"),
    "polls": ("last_updated_at", "guide_id"),
    "segments": ("last_updated_at", None),
    "reports": ("last_updated_at", None),
}
KEYSET_STREAMS = [stream for stream, (_, id_field) in ENTITY_FIELDS.items() if id_field]


def position(stream: str, record: dict):
    """(replication value in epoch ms, id) of an entity record; None without a date."""
    field, id_field = ENTITY_FIELDS[stream]
    value = record.get(field)
    if value is None:
        return None
    return (ms(value), record[id_field] if id_field else None)


def newest_position(stream: str, records) -> tuple:
    """The position of the newest dated record: what a bookmark written after them holds."""
    return max(p for p in (position(stream, r) for r in records) if p is not None)


def bookmark_value_ms(stream: str, bookmark: dict) -> int:
    """The instant of an entity bookmark's replication key (or older taps' lastUpdatedAt)."""
    field, _ = ENTITY_FIELDS[stream]
    value = bookmark.get(field, bookmark.get("lastUpdatedAt"))
    assert value is not None, f"{stream}: no replication key in the bookmark {bookmark}"
    return ms(value)


def entity_rows_after(stream: str, records, bookmark: dict) -> list:
    """The records of entity `stream` that a run after `bookmark` emits: undated ones, and
    those past the bookmark's keyset position (keyset streams) or at or after its value
    (segments, reports)."""
    if stream in KEYSET_STREAMS:
        assert "newest" in bookmark, f"{stream}: no keyset position in its bookmark {bookmark}"
        value, id_ = bookmark["newest"]
        assert value == bookmark_value_ms(stream, bookmark), f"{stream}: {bookmark}"
        last = (value, id_)
        return [r for r in records if position(stream, r) is None or position(stream, r) > last]
    low = bookmark_value_ms(stream, bookmark)
    return [r for r in records if position(stream, r) is None or position(stream, r)[0] >= low]
