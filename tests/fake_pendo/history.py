"""The dataset's visitor history: page, feature, guide and untagged items per visitor.

A mixin of `Dataset` (dataset.py). A per-visitor index of unit positions
(times ascending) is built on the first read and then kept up to date as
hours are generated (`_index_history`).
"""

from __future__ import annotations

import bisect
from array import array

from .constants import (
    DAY_MS,
    FEATURE,
    GUIDE,
    HISTORY_LIMIT_MS,
    HISTORY_TYPES,
    OFFSET_MASK,
    PAGE,
    PAGE_WORDS,
    TARGET_MASK,
    UNTAGGED,
    USER_AGENTS,
)
from .periods import HOUR_MS


class HistoryMixin:
    """`GET /api/v1/visitor/{id}/history`, and every item of a visitor for the truth."""

    def history(self, visitor_id: str, starttime_ms: int) -> list:
        """`GET /api/v1/visitor/{id}/history`: the visitor's items in [starttime, +24 h).

        [] for an unknown or do-not-process visitor, and for a starttime more
        than 180 days before now, even where part of its 24 hours is newer.
        """
        with self._lock:
            if starttime_ms < self.now_ms - HISTORY_LIMIT_MS:
                return []
            return self._history(visitor_id, starttime_ms, starttime_ms + DAY_MS)

    def history_items(self, visitor_id: str) -> list:
        """Every visible history item of a visitor, the 180-day limit aside (for the truth)."""
        with self._lock:
            return self._history(visitor_id, -(1 << 62), 1 << 62)

    def _history(self, visitor_id: str, low: int, high: int) -> list:
        v = self._visitor_index.get(visitor_id)
        if v is None or self._visitors[v].donotprocess:
            return []
        if self._history_index is None:
            self._history_index = {}
            for hour in sorted(self._buckets):
                self._index_history(hour)
        times, unit_refs = self._history_index.get(v, ((), ()))
        items = []
        for k in range(bisect.bisect_left(times, low), bisect.bisect_left(times, high)):
            ref = unit_refs[k]
            hour = (ref >> 24) * HOUR_MS
            meta, refs = self._buckets[hour]
            m, r = meta[ref & TARGET_MASK], refs[ref & TARGET_MASK]
            first = hour + (m & OFFSET_MASK)
            if first + (m >> 30 & 0x3FFF) + (m >> 44) * 1000 <= self.now_ms:
                items.append(self._history_item(first, m, r))
        return items

    def _index_history(self, hour: int) -> None:
        """Add one hour's history units to the per-visitor index (times ascending)."""
        meta, refs = self._buckets[hour]
        base = hour // HOUR_MS << 24
        for pos, (m, r) in enumerate(zip(meta, refs)):
            if (m >> 27 & 7) in HISTORY_TYPES:
                v = self._ctx_info[r >> 24][0]
                entry = self._history_index.get(v)
                if entry is None:
                    entry = self._history_index[v] = (array("q"), array("q"))
                entry[0].append(hour + (m & OFFSET_MASK))
                entry[1].append(base | pos)

    def _history_item(self, first: int, m: int, r: int) -> dict:
        kind, span = m >> 27 & 7, m >> 30 & 0x3FFF
        ctx, target = r >> 24, r & TARGET_MASK
        app, server = self._ctx_rows[ctx][2:4]
        item = {
            "type": HISTORY_TYPES[kind],
            "ts": first,
            "lastTs": first + span,
            "duration": span,
            "appId": app,
        }
        if kind == PAGE:
            item["pageId"] = self._entities["pages"][target]["id"]
            page = target
        elif kind == FEATURE:
            item["featureId"] = self._entities["features"][target]["id"]
            page = self._feature_pages[target]
        elif kind == GUIDE:
            item["guideId"] = self._entities["guides"][target]["id"]
            item["guideStepId"] = self._guide_steps[target][0]
        if kind == UNTAGGED:
            item["untaggedUrl"] = f"https://{server}/untagged/{PAGE_WORDS[target % 14]}/{target}"
            item["uri"] = item["untaggedUrl"]
        elif kind == GUIDE:
            item["uri"] = self._page_url(server, app, first)
        else:
            item["uri"] = f"https://{server}{self._page_paths[page]}"
        item["parsedUserAgent"] = dict(USER_AGENTS[self._ctx_info[ctx][2]][1])
        return item
