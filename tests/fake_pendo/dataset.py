"""The generated, deterministic data behind the fake Pendo service.

Model
-----
Everything derives from atomic *units* of activity. A unit is one or more
events (`n`) of one kind (page, feature, track, untagged, guide or poll) by one
visitor, in one *context* (account, app, server, remote IP, user agent), on one
target (page, feature, track type or guide), inside one minute. Units come in
*sessions*: a visitor has at most one session per UTC hour and a session stays
inside its hour, so no two units of a visitor share a timestamp.

- The units of a UTC hour come from `random.Random(f"{seed}/hour/{hour}")`,
  and scheduled updates from a stream per hour too: the data at a given clock
  is the same however the clock got there (one `advance()` or many). No draw
  depends on the number of features, pages, guides or track types (a target
  is a uniform draw scaled to the size of its pool), so changing those counts
  only spreads the same activity differently.
- A session has an arrival lag (85 % under 2 minutes, the rest up to 8 hours).
  A unit is visible once `lastTime + lag <= now_ms`: late data of finished
  periods appears as the clock moves on, and the current period is partial.
- Aggregated sources (events, featureEvents, pageEvents, trackEvents) group the
  visible units of a period by context (and target): `numEvents` is the sum of
  `n`, `numMinutes` the number of distinct minutes, `firstTime`/`lastTime` the
  first and the last event. `events` counts units of every kind. guideEvents
  and pollEvents have one row per event of a guide or poll unit.
- Visitor history items are the visible page, feature, guide and untagged
  units. `firstvisit`/`lastvisit` of visitors and accounts are the first and
  last visible event of any kind, so they bound the history and the event rows.
- Accounts, visitors, features, pages, guides and track types get a new
  `lastupdated`/`lastUpdatedAt` from an hourly schedule, applied to the times
  in `(start_ms, now_ms]`. Besides, every unit arriving after the start moves
  the `lastupdated` of its visitor and account to its arrival time, so a row
  never changes (a new `lastvisit`, say) without its replication key moving
  past the last sync, which is what an incremental sync relies on. Rows without
  `lastupdated` keep none.

- Saved segments and reports (`saved.py`) are built from the seed and edited
  on a fixed 20-minute schedule as the clock moves, always with their
  `lastUpdatedAt`.

The server reads through `entities`, `account_apps`, `event_rows`,
`metadata_schema`, `history`, `entity_list`, `segments` and `reports`; the
ground truth also through `history_items` and `first_activity_ms`. Reads may come from several threads;
a lock guards the clock and the caches.

Units are stored compactly: per UTC hour, two `array('q')` of packed integers,
16 bytes a unit. Aggregates are computed per period on demand and kept in a
bounded LRU cache of flat integer arrays; `advance()` drops the periods that
late data can still change.

Sizes
-----
At scale 1 over 30 days: 300 visitors (35 anonymous, 12 do-not-process), 60
accounts, 60 features, 45 pages, 40 guides (80 steps, 36 polls in 12 guides),
40 track types, 25 segments, 30 reports, 3 apps, about 80,000 units. Rows per source (dayRange / hourRange): events 7,800 / 17,000,
featureEvents 16,800 / 21,600, pageEvents 15,000 / 19,700, trackEvents 7,000 /
8,300, guideEvents 16,100, pollEvents 6,100; 65,000 history items. Counts grow
linearly with `scale` (the fixed trap lists aside); rows per feature, page or
track type a little faster, as the same visits spread over more targets.
Segments and reports grow with the square root of `scale` (at least 8 and 10).
featureEvents (dayRange) over the 30 days passes 1,000,000 rows at scale 55
(1.05 million; 1.14 million at scale 60). Generating scale 55 takes about 14
seconds and about 200 MB; serving those rows takes about 5 seconds the first
time and 1 second once cached.

Traps (all present at scale 1 with default settings)
------------------------------------------------------
- Ties: in every entity source at least 30 rows, all in the default app, share
  one replication-key value (a bulk import): accounts and visitors on
  `metadata.auto.lastupdated`, the others on `lastUpdatedAt`. The tied accounts
  and visitors are dormant from 9 hours before the start, and the update
  schedule leaves ties alone, so the ties last when the clock moves on.
- Awkward ids containing `"`, `\\`, `/`, spaces, `@` and non-ASCII letters: the
  first visitors and accounts, and some features and pages.
- Anonymous visitors (`_PENDO_T_...`, no account) with activity; visitors with
  `metadata.pendo.donotprocess: true` with activity (and no history).
- Accounts and visitors without `metadata.auto.lastupdated`.
- Three apps, `-323232` the default: some accounts, entities and events exist
  only in the other two. Accounts carry `auto__<appId>` groups.
- Custom fields of every `Type` (string, time, boolean, integer, float, list,
  ""), integers and floats sometimes sent as decimal strings, null times, and
  fields the metadata schema does not declare.
- Event rows that differ only by `server`, `appId`, `userAgent`, `remoteIp` or
  `accountId` (visitors with several contexts). Rows differing only by `appId`
  exist in `events` only: a feature, page or track type belongs to one app.
- Partial rows in the current period.
- Guide events that share a `browserTime` (they differ by `type`) and poll
  events that share one (they differ by `pollId`).
- Step ids and poll ids unique only within their guide: guide 1 and guides
  8k + 4 (k > 0) reuse a step id and a poll id of another guide. A poll event
  names a poll of its guide and answers it by its type (a number for
  `NPSRating` and `NumberScale`, text for `FreeForm`); some steps have
  `thumbnailUrls: null`.
- Segments and reports: a bulk edit (3 or more share one `lastUpdatedAt`),
  names with `"`, `\\` and non-ASCII letters, queries (`pipeline`,
  `definition`) with camelCase keys, reports that never ran.
- History older than 180 days: some visitors were active `days + 170` to
  `days + 220` days before the start; nothing lies in between.
- Visitors without an account: their event rows carry `accountId: ""`.

Modules
-------
`Dataset` is put together from mixins, one module each: `population.py`
(accounts, visitors, contexts), `catalog.py` (pages, features, guides, track
types), `activity.py` (units, arrival, the clock), `entity_rows.py`,
`event_rows.py` (aggregation of periods) and `history.py`; `constants.py` holds
the sizes, the trap lists and the word pools, `values.py` the makers of ids.
"""

from __future__ import annotations

import random
import threading
import time
from zoneinfo import ZoneInfo

from .activity import ActivityMixin
from .catalog import CatalogMixin
from .constants import DEFAULT_APP, DEFAULT_COUNTS, ENTITY_SOURCES, OTHER_APPS
from .entity_rows import EntityRowsMixin
from .event_rows import EventRowsMixin
from .history import HistoryMixin
from .population import PopulationMixin, Visitor
from .saved import DEFAULT_SAVED_COUNTS, SavedItems, saved_counts
from .values import _pendo_id, _user

__all__ = ["DEFAULT_APP", "DEFAULT_COUNTS", "OTHER_APPS", "Dataset", "Visitor"]


class Dataset(
    PopulationMixin, CatalogMixin, ActivityMixin, EntityRowsMixin, EventRowsMixin, HistoryMixin
):
    """A deterministic Pendo subscription: entities, activity, history, and a frozen clock.

    `counts` overrides entity counts (the keys of DEFAULT_COUNTS); every count
    is raised to at least the number of apps so that each app has one of each
    kind. Rows are shared with caches: read them, do not change them.
    """

    def __init__(
        self, seed=1, scale=1.0, days=30, tz="America/New_York", start_ms=None, counts=None
    ):
        self.seed = seed
        self.scale = scale
        self.days = days
        self.tz = tz
        self._zone = ZoneInfo(tz)
        self.start_ms = int(time.time()) * 1000 if start_ms is None else int(start_ms)
        self.now_ms = self.start_ms
        self.apps = [DEFAULT_APP, *OTHER_APPS]
        self.default_app = DEFAULT_APP
        self._counts = self._resolve_counts(scale, counts or {})
        # Guards the clock and the caches: the server reads from several threads.
        self._lock = threading.RLock()
        self._build_population()
        self._saved = SavedItems(
            seed,
            self.start_ms,
            saved_counts(scale, counts or {}),
            new_id=_pendo_id,
            user=_user,
            feature_ids=[row["id"] for row in self._entities["features"]],
            page_ids=[row["id"] for row in self._entities["pages"]],
        )
        self._build_activity()

    def _resolve_counts(self, scale: float, overrides: dict) -> dict:
        unknown = set(overrides) - set(DEFAULT_COUNTS) - set(DEFAULT_SAVED_COUNTS)
        if unknown:
            raise ValueError(f"unknown counts: {sorted(unknown)}")
        counts = {name: max(1, round(n * scale)) for name, n in DEFAULT_COUNTS.items()}
        counts.update({name: n for name, n in overrides.items() if name in DEFAULT_COUNTS})
        if min(counts.values()) < 1:
            raise ValueError(f"counts must be at least 1: {counts}")
        for name in ("accounts", *ENTITY_SOURCES):
            counts[name] = max(counts[name], len(self.apps))
        return counts

    def _rng(self, part: str) -> random.Random:
        """A random stream per part, so that the size of one part never shifts another."""
        return random.Random(f"{self.seed}/{part}")
