"""The dataset's activity: units generated hour by hour, their arrival, and the clock.

A mixin of `Dataset` (dataset.py). Units are packed per UTC hour in
`_buckets`; a unit seen by now widens its visitor's and account's first and
last visit (`_observe`), one still in flight waits in `_pending`. `advance`
moves the clock on: new hours, late arrivals, scheduled updates of the
entities and the saved items, and the cached aggregates that may have changed.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from collections import OrderedDict
from datetime import datetime

from .constants import (
    DAY_MS,
    FAVORITE_SHARE,
    GUIDE,
    HOURLY_ACTIVITY,
    HOURLY_MEAN,
    KIND_CUMULATIVE,
    MAX_LAG_S,
    MAX_SPAN_MS,
    MEAN_UNITS_PER_SESSION,
    MINUTE_MS,
    OFFSET_MASK,
    POLL,
    POLL_TYPES,
    SESSION_START_WINDOW_MS,
    UNIT_START_LIMIT_MS,
    UNTAGGED,
    UPDATED_SOURCES,
    WEEKEND_ACTIVITY,
)
from .periods import HOUR_MS
from .values import _pick


class ActivityMixin:
    """Sessions and units, what is visible at `now_ms`, and the clock that moves it on."""

    def _build_activity(self) -> None:
        self._buckets: dict = {}  # hour start -> (packed units, packed references)
        self._visits: list = [None] * len(self._visitors)  # [first, last, context]
        self._account_visits: dict = {}  # (account, app) -> [first, last]
        self._pending: list = []  # (arrival, visitor, context, first, last), not yet visible
        self._history_index: dict | None = None  # visitor -> (times, unit refs), on first use
        self._aggregates: OrderedDict = OrderedDict()  # (source, start, end) -> flat rows
        self._cached_rows = 0
        self._rows_cache: dict = {}  # entity source -> rows at now_ms
        self._updates: dict = {source: {} for source in UPDATED_SOURCES}
        self._updatable = self._updatable_rows()
        self._make_old_sessions()
        window_start = self.start_ms - self.days * DAY_MS
        self._next_hour = window_start + (-window_start) % HOUR_MS
        self._generate_until(self.now_ms)

    def _updatable_rows(self) -> dict:
        """Per source, the rows the update schedule may touch: not the ties, not the ones
        without lastupdated, so that both traps survive the clock moving on."""
        updatable = {}
        for source in UPDATED_SOURCES:
            tie = set(self._tie[source])
            if source == "accounts":
                present = [a["lastupdated"] is not None for a in self._accounts]
            elif source == "visitors":
                present = [v.lastupdated is not None for v in self._visitors]
            else:
                present = [True] * len(self._entities[source])
            updatable[source] = [i for i, ok in enumerate(present) if ok and i not in tie]
        return updatable

    def _make_old_sessions(self) -> None:
        """Sessions `days + 170` to `days + 220` days before the start, for the old visitors."""
        rng = self._rng("old")
        for v, visitor in enumerate(self._visitors):
            if visitor.old:
                moments = (
                    self.start_ms - int((self.days + 170 + rng.random() * 50) * DAY_MS)
                    for _ in range(5)
                )
                for hour in sorted({moment - moment % HOUR_MS for moment in moments}):
                    self._session(rng, v, hour, self._bucket(hour))

    def _bucket(self, hour: int) -> tuple:
        return self._buckets.setdefault(hour, (array("q"), array("q")))

    def _generate_until(self, until_ms: int) -> None:
        while self._next_hour <= until_ms:
            self._generate_hour(self._next_hour)
            self._next_hour += HOUR_MS

    def _generate_hour(self, hour: int) -> None:
        """The sessions of one UTC hour, from that hour's own random stream."""
        rng = random.Random(f"{self.seed}/hour/{hour}")
        expected = self._daily_sessions / 24 * self._activity(hour)
        count = int(expected) + (rng.random() < expected % 1)
        chosen = rng.choices(range(len(self._visitors)), cum_weights=self._cum_rates, k=count)
        bucket = self._bucket(hour)
        for v in dict.fromkeys(chosen):  # one session per visitor and hour
            if self._visitors[v].join_ms <= hour < self._visitors[v].leave_ms:
                self._session(rng, v, hour, bucket)
        if self._history_index is not None:
            self._index_history(hour)

    def _activity(self, hour: int) -> float:
        """How busy an hour is, relative to the average: office hours in the subscription's zone."""
        local = datetime.fromtimestamp(hour / 1000, self._zone)
        factor = HOURLY_ACTIVITY[local.hour] / HOURLY_MEAN
        return factor * WEEKEND_ACTIVITY if local.weekday() >= 5 else factor

    def _session(self, rng: random.Random, v: int, hour: int, bucket: tuple) -> None:
        """Append one session of visitor `v` in `hour` to the bucket, units in time order."""
        meta, refs = bucket
        visitor = self._visitors[v]
        contexts, favorites = visitor.contexts, visitor.favorites
        rand = rng.random
        lag_s = int(rand() * 120) if rand() < 0.85 else int(rand() * MAX_LAG_S)
        offset = int(rand() * SESSION_START_WINDOW_MS)
        units = 1 + int(-math.log(1.0 - rand()) * MEAN_UNITS_PER_SESSION)
        first_unit = len(meta)
        spans: dict = {}  # context -> [first, last] in this session
        for _ in range(units):
            second = offset % MINUTE_MS
            if second > UNIT_START_LIMIT_MS:
                offset += MINUTE_MS - second
            if offset >= HOUR_MS:
                break
            kind = bisect.bisect(KIND_CUMULATIVE, rand())
            ctx = contexts[0] if len(contexts) == 1 or rand() < 0.6 else _pick(contexts, rand())
            target = self._target(kind, ctx, favorites, rand())
            r = rand()
            if kind == GUIDE:
                n = 1 + int(r * 4)
            elif kind == POLL:
                n = 1 + int(r * len(POLL_TYPES))
            else:
                n = 1 + int(r * r * 8)
            span = 0 if n == 1 else n + int(rand() * (MAX_SPAN_MS - n))
            meta.append(offset | n << 22 | kind << 27 | span << 30 | lag_s << 44)
            refs.append(ctx << 24 | target)
            end = hour + offset + span
            if ctx in spans:
                spans[ctx][1] = end
            else:
                spans[ctx] = [hour + offset, end]
            offset += span + 1000 + int(rand() * 80_000)
        if spans and end + lag_s * 1000 <= self.now_ms:
            # Arrival times grow through a session: all of it is visible.
            for ctx, (first, last) in spans.items():
                self._observe(v, ctx, first, last, last + lag_s * 1000)
        else:
            for m, r in zip(meta[first_unit:], refs[first_unit:]):
                first = hour + (m & OFFSET_MASK)
                last = first + (m >> 30 & 0x3FFF)
                self._arrive(last + lag_s * 1000, v, r >> 24, first, last)

    def _target(self, kind: int, ctx: int, favorites: tuple, u: float) -> int:
        """The target of a unit from one uniform draw: mostly one of 3 favourites."""
        if kind == UNTAGGED:
            return int(u * 64)
        pool = self._pools[kind][self._ctx_rows[ctx][2]]
        if u < FAVORITE_SHARE:
            return _pick(pool, favorites[3 * kind + int(u / FAVORITE_SHARE * 3)])
        return _pick(pool, (u - FAVORITE_SHARE) / (1 - FAVORITE_SHARE))

    def _arrive(self, arrival: int, v: int, ctx: int, first: int, last: int) -> None:
        """Observe a unit now if it has arrived by now_ms, else keep it for a later advance."""
        if arrival <= self.now_ms:
            self._observe(v, ctx, first, last, arrival)
        else:
            self._pending.append((arrival, v, ctx, first, last))

    def _observe(self, v: int, ctx: int, first: int, last: int, arrival: int) -> None:
        """Units became visible: widen the visitor's and the account's first and last visit.

        Data arriving after the start touches the lastupdated of both (rows that
        have one), so that every change of a row after a sync moves its
        replication key past that sync. The latest arrival wins, whatever the
        order of observation.
        """
        account = self._ctx_info[ctx][1]
        if arrival > self.start_ms:
            self._touch("visitors", v, self._visitors[v].lastupdated, arrival)
            if account >= 0:
                self._touch("accounts", account, self._accounts[account]["lastupdated"], arrival)
        visit = self._visits[v]
        if visit is None:
            self._visits[v] = [first, last, ctx]
        else:
            if first < visit[0]:
                visit[0] = first
            if last > visit[1]:
                visit[1], visit[2] = last, ctx
        if account >= 0:
            key = (account, self._ctx_rows[ctx][2])
            seen = self._account_visits.get(key)
            if seen is None:
                self._account_visits[key] = [first, last]
            else:
                seen[0], seen[1] = min(seen[0], first), max(seen[1], last)

    # ----------------------------------------------------------------- clock

    def advance(self, hours: float) -> None:
        """Move the clock on: new sessions, late data of earlier periods, updated entities."""
        if hours < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            before = self.now_ms
            self.now_ms = before + round(hours * HOUR_MS)
            self._generate_until(self.now_ms)
            pending, self._pending = self._pending, []
            for unit in pending:
                self._arrive(*unit)
            self._apply_updates(before, self.now_ms)
            self._saved.advance(before, self.now_ms)
            self._forget_changed_aggregates(before)
            self._rows_cache.clear()

    def _scheduled_updates(self, hour: int):
        """(source, row index, time) of the updates scheduled in one UTC hour."""
        for source in UPDATED_SOURCES:
            rng = random.Random(f"{self.seed}/updates/{source}/{hour}")
            candidates = self._updatable[source]
            for _ in range(max(1, len(candidates) // 40) if candidates else 0):
                yield source, _pick(candidates, rng.random()), hour + int(rng.random() * HOUR_MS)

    def _apply_updates(self, before: int, after: int) -> None:
        hour = before - before % HOUR_MS
        while hour <= after:
            for source, index, moment in self._scheduled_updates(hour):
                if before < moment <= after:
                    self._touch(source, index, 0, moment)
            hour += HOUR_MS

    def _touch(self, source: str, index: int, base: int | None, moment: int) -> None:
        """Move a row's lastupdated on to `moment`; rows without one (base None) keep none."""
        if base is not None and moment > self._updates[source].get(index, base):
            self._updates[source][index] = moment

    def _forget_changed_aggregates(self, before: int) -> None:
        """Drop the cached periods that units arriving after `before` can still change."""
        horizon = before - MAX_LAG_S * 1000 - MINUTE_MS
        for key in [key for key in self._aggregates if key[2] > horizon]:
            self._cached_rows -= len(self._aggregates.pop(key)) // 5
