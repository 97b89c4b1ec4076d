"""The dataset's event rows: aggregation of units per period, and guide and poll events.

A mixin of `Dataset` (dataset.py). Aggregated sources (events, featureEvents,
pageEvents, trackEvents) group the visible units of a period by context (and
target), computed on demand and kept in a bounded LRU cache of flat integer
arrays (`_aggregates`); guideEvents and pollEvents have one row per event.
"""

from __future__ import annotations

from array import array

from .constants import (
    AGGREGATE_CACHE_ROWS,
    AGGREGATED,
    FEATURE_WORDS,
    FREE_FORM_ANSWERS,
    GUIDE,
    GUIDE_EVENT_TYPES,
    MINUTE_MS,
    OFFSET_MASK,
    PER_EVENT,
    PLANS,
    TABS,
    TARGET_MASK,
)
from .periods import HOUR_MS, add_periods, period_field


class EventRowsMixin:
    """The rows of the event sources for given periods, visible at `now_ms`."""

    def first_activity_ms(self) -> int:
        """The start of the earliest hour with activity: no period before it has rows."""
        with self._lock:
            return min(self._buckets)

    def event_rows(self, source: str, period: str, starts) -> object:
        """The rows of an event source for the periods starting at `starts`, visible at now_ms."""
        if period not in ("dayRange", "hourRange"):
            raise ValueError(f"not a period: {period!r}")
        if source in AGGREGATED:
            return self._aggregated_rows(source, period, list(starts))
        if source in PER_EVENT:
            return self._per_event_rows(PER_EVENT[source], period, list(starts))
        raise ValueError(f"not an event source: {source!r}")

    def _aggregated_rows(self, source: str, period: str, starts: list):
        mask, target_source, id_field = AGGREGATED[source]
        field = period_field(period)
        ids = [row["id"] for row in self._entities[target_source]] if target_source else None
        contexts = self._ctx_rows
        for start in starts:
            end = add_periods(start, 1, period, self.tz)
            if not self._may_have_units(start, end):
                continue
            flat = self._aggregate(source, start, end)
            for i in range(0, len(flat), 5):
                key, first = flat[i], flat[i + 3]
                visitor_id, account_id, app, server, ip, agent = contexts[key >> 24 if ids else key]
                row = {
                    "visitorId": visitor_id,
                    "accountId": account_id,
                    "appId": app,
                    "server": server,
                    "remoteIp": ip,
                    "userAgent": agent,
                    field: start,
                    "numEvents": flat[i + 1],
                    "numMinutes": flat[i + 2],
                    "firstTime": first,
                    "lastTime": flat[i + 4],
                }
                if ids:
                    target = key & TARGET_MASK
                    row[id_field] = ids[target]
                    extra = _row_extra(source, target, first)
                    if extra:
                        row[extra[0]] = extra[1]
                yield row

    def _may_have_units(self, start: int, end: int) -> bool:
        """False for a period before the first activity or after now: it has no rows.

        This keeps a request from 1970 on quick, and out of the cache.
        """
        return end > self.first_activity_ms() and start <= self.now_ms

    def _aggregate(self, source: str, start: int, end: int) -> array:
        """The rows of one period, flat: key, numEvents, numMinutes, firstTime, lastTime."""
        key = (source, start, end)
        with self._lock:
            flat = self._aggregates.get(key)
            if flat is not None:
                self._aggregates.move_to_end(key)
                return flat
            mask, target_source, _ = AGGREGATED[source]
            flat = self._compute_aggregate(mask, target_source is not None, start, end)
            self._aggregates[key] = flat
            self._cached_rows += len(flat) // 5
            while self._cached_rows > AGGREGATE_CACHE_ROWS and len(self._aggregates) > 1:
                self._cached_rows -= len(self._aggregates.popitem(last=False)[1]) // 5
            return flat

    def _compute_aggregate(self, mask: int, by_target: bool, start: int, end: int) -> array:
        """Aggregate the visible units of [start, end) by context (and target).

        The units of one key belong to one visitor, whose units come in time
        order (one session per hour, buckets read in order): the first unit
        seen gives firstTime, the last lastTime, and minutes count on change.
        """
        now = self.now_ms
        rows: dict = {}
        hour = start - start % HOUR_MS
        while hour < end:
            meta, refs = self._buckets.get(hour, ((), ()))
            low, high = start - hour, end - hour
            partial = low > 0 or high < HOUR_MS
            for m, r in zip(meta, refs):
                if not mask >> (m >> 27 & 7) & 1:
                    continue
                offset = m & OFFSET_MASK
                if partial and not low <= offset < high:
                    continue
                first = hour + offset
                last = first + (m >> 30 & 0x3FFF)
                if last + (m >> 44) * 1000 > now:
                    continue
                minute = first // MINUTE_MS
                row = rows.get(r if by_target else r >> 24)
                if row is None:
                    rows[r if by_target else r >> 24] = [m >> 22 & 31, 1, minute, first, last]
                else:
                    row[0] += m >> 22 & 31
                    if row[2] != minute:
                        row[1] += 1
                        row[2] = minute
                    row[4] = last
            hour += HOUR_MS
        flat = array("q")
        for key, (events, minutes, _, first, last) in rows.items():
            flat.extend((key, events, minutes, first, last))
        return flat

    def _visible_units(self, kind: int, start: int, end: int):
        """(first, packed unit, reference) of the visible units of one kind in [start, end)."""
        with self._lock:
            now = self.now_ms
            units = []
            hour = start - start % HOUR_MS
            while hour < end:
                meta, refs = self._buckets.get(hour, ((), ()))
                for m, r in zip(meta, refs):
                    first = hour + (m & OFFSET_MASK)
                    if (
                        m >> 27 & 7 == kind
                        and start <= first < end
                        and first + (m >> 30 & 0x3FFF) + (m >> 44) * 1000 <= now
                    ):
                        units.append((first, m, r))
                hour += HOUR_MS
            return units

    def _per_event_rows(self, kind: int, period: str, starts: list):
        field = period_field(period)
        rows_of = self._guide_event_rows if kind == GUIDE else self._poll_event_rows
        for start in starts:
            end = add_periods(start, 1, period, self.tz)
            if not self._may_have_units(start, end):
                continue
            for first, m, r in self._visible_units(kind, start, end):
                common = self._guide_row_common(first, r, field, start)
                yield from rows_of(first, m, r & TARGET_MASK, common)

    def _guide_row_common(self, first: int, r: int, field: str, start: int) -> dict:
        """The fields the rows of one guide or poll unit share."""
        ctx = r >> 24
        visitor_id, account_id, app, server, ip, agent = self._ctx_rows[ctx]
        country, region, latitude, longitude = self._ctx_geo[ctx]
        visitor = self._visitors[self._ctx_info[ctx][0]]
        return {
            "guideId": self._entities["guides"][r & TARGET_MASK]["id"],
            "visitorId": visitor_id,
            "accountId": account_id,
            "accountIds": [self._accounts[a]["id"] for a in visitor.accounts],
            "appId": app,
            "remoteIp": ip,
            "serverName": server,
            "url": self._page_url(server, app, first),
            "userAgent": agent,
            "country": country,
            "region": region,
            "latitude": latitude,
            "longitude": longitude,
            "loadTime": 25 + first % 900,
            field: start,
        }

    def _guide_event_rows(self, first: int, m: int, guide: int, common: dict):
        """One row per event; steps are seen, worked with and advanced, in turn."""
        n, span = m >> 22 & 31, m >> 30 & 0x3FFF
        steps = self._guide_steps[guide]
        shared = n >= 2 and first // 1000 % 3 == 0  # trap: two events share a browserTime
        for i in range(n):
            moment = first if i == 0 or (shared and i == 1) else first + i * span // (n - 1)
            yield {
                "browserTime": moment,
                "guideTimestamp": moment + 40 + moment % 700,
                "type": GUIDE_EVENT_TYPES[i % 3],
                "guideStepId": steps[i // 3 % len(steps)],
                **common,
            }

    def _poll_event_rows(self, first: int, m: int, guide: int, common: dict):
        """One row per answered poll: the answers of one submit share their browserTime."""
        step = self._guide_steps[guide][-1]
        for poll_id, poll_type in self._guide_polls[guide][: m >> 22 & 31]:
            yield {
                "browserTime": first,
                "guideTimestamp": first + 40 + first % 700,
                "type": "pollResponse",
                "guideStepId": step,
                "pollId": poll_id,
                "pollResponse": _poll_response(poll_type, first),
                **common,
            }


def _row_extra(source: str, target: int, first: int) -> tuple | None:
    """The optional `parameters` or `properties` of a row; its keys are the customer's own."""
    if source == "featureEvents" and target % 4 == 1:
        return "parameters", {
            "elementText": FEATURE_WORDS[target % len(FEATURE_WORDS)],
            "dataAction": f"click-{first % 7}",
        }
    if source == "pageEvents" and target % 3 == 1:
        return "parameters", {"tab": TABS[first % 4], "reportId": str(first % 97)}
    if source == "trackEvents" and target % 3:
        return "properties", {
            "planName": PLANS[first % 4],
            "seatCount": 1 + first // 1000 % 40,
            "addOns": ["sso", "audit"][: first % 3],
            "billingInfo": {"cycleType": ("monthly", "annual")[first % 2], "couponCode": None},
        }
    return None


def _poll_response(poll_type: str, moment: int):
    """A poll answer: a number for ratings, text for free-form polls."""
    if poll_type == "NPSRating":
        return moment // 7 % 11
    if poll_type == "FreeForm":
        return FREE_FORM_ANSWERS[moment % len(FREE_FORM_ANSWERS)]
    return 1 + moment % 5
