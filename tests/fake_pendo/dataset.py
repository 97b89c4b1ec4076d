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
"""

from __future__ import annotations

import bisect
import math
import random
import threading
import time
import zlib
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from zoneinfo import ZoneInfo

from .periods import HOUR_MS, add_periods, period_field
from .saved import DEFAULT_SAVED_COUNTS, SavedItems, saved_counts

MINUTE_MS = 60_000
DAY_MS = 24 * HOUR_MS
HISTORY_LIMIT_MS = 180 * DAY_MS
DEFAULT_APP = -323232
OTHER_APPS = (5_629_499_534_213_120, 6_192_449_487_634_432)

# Unit kinds; a kind's value is its bit in a kind mask.
PAGE, FEATURE, TRACK, UNTAGGED, GUIDE, POLL = range(6)
# Cumulative probabilities of the kinds, in the order above.
KIND_CUMULATIVE = (0.33, 0.68, 0.80, 0.88, 0.96, 1.0)
HISTORY_TYPES = {PAGE: "page", FEATURE: "feature", GUIDE: "guide", UNTAGGED: "untagged"}
FAVORITE_SHARE = 0.7  # share of units on one of the visitor's 3 favourite targets

# A packed unit: bits 0-21 its time within the hour (ms), 22-26 n, 27-29 kind,
# 30-43 span (ms from its first to its last event), 44-58 arrival lag (s).
# Its reference packs the context (bits 24 and up) and the target index.
OFFSET_MASK = (1 << 22) - 1
TARGET_MASK = (1 << 24) - 1
MAX_SPAN_MS = 9_999
# A unit starts in the first 50 s of a minute, so it never leaves its minute.
UNIT_START_LIMIT_MS = MINUTE_MS - MAX_SPAN_MS - 1
SESSION_START_WINDOW_MS = 45 * MINUTE_MS
MEAN_UNITS_PER_SESSION = 6
MAX_LAG_S = 8 * 3600

# Aggregated sources: the kinds they count, their target's entity source and id field.
AGGREGATED = {
    "events": ((1 << 6) - 1, None, None),
    "featureEvents": (1 << FEATURE, "features", "featureId"),
    "pageEvents": (1 << PAGE, "pages", "pageId"),
    "trackEvents": (1 << TRACK, "trackTypes", "trackTypeId"),
}
PER_EVENT = {"guideEvents": GUIDE, "pollEvents": POLL}
# Pages come first: features point at them.
ENTITY_SOURCES = ("pages", "features", "guides", "trackTypes")
KIND_SOURCES = {PAGE: "pages", FEATURE: "features", TRACK: "trackTypes", GUIDE: "guides"}
UPDATED_SOURCES = ("accounts", "visitors", *ENTITY_SOURCES)
ENTITY_LIST_KINDS = {
    "page": "pages",
    "feature": "features",
    "guide": "guides",
    "tracktype": "trackTypes",
}
DEFAULT_COUNTS = {
    "visitors": 300,
    "accounts": 60,
    "features": 60,
    "pages": 45,
    "guides": 40,
    "trackTypes": 40,
}
AGGREGATE_CACHE_ROWS = 2_000_000

# Activity by local hour of day on weekdays; weekends are quieter.
HOURLY_ACTIVITY = (
    0.2, 0.15, 0.15, 0.15, 0.2, 0.3, 0.5, 0.9, 1.5, 1.9, 2.0, 1.9,
    1.6, 1.8, 1.9, 1.8, 1.5, 1.1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25,
)  # fmt: skip
HOURLY_MEAN = sum(HOURLY_ACTIVITY) / 24
WEEKEND_ACTIVITY = 0.35

SERVERS = {
    DEFAULT_APP: ("app.example.com", "app2.example.com"),
    OTHER_APPS[0]: ("portal.example.org", "beta.portal.example.org"),
    OTHER_APPS[1]: ("mobile.example.net", "m.example.net"),
}
USER_AGENTS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/120.0.0.0 Safari/537.36",
        {"name": "Chrome", "version": "120.0.0.0", "os": "Windows"},
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like"
        " Gecko) Version/17.1 Safari/605.1.15",
        {"name": "Safari", "version": "17.1", "os": "Mac OS X"},
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        {"name": "Firefox", "version": "121.0", "os": "Linux"},
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.97",
        {"name": "Edge", "version": "119.0.2151.97", "os": "Windows"},
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
        " like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        {"name": "Mobile Safari", "version": "17.1", "os": "iOS"},
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/120.0.6099.43 Mobile Safari/537.36",
        {"name": "Chrome Mobile", "version": "120.0.6099.43", "os": "Android"},
    ),
)
# IP prefix and its (country, region, latitude, longitude).
GEO = (
    ("203.0.113.", ("US", "NY", 40.7128, -74.006)),
    ("198.51.100.", ("DE", "BE", 52.52, 13.405)),
    ("192.0.2.", ("JP", "13", 35.6762, 139.6503)),
    ("2001:db8::", ("AU", "NSW", -33.8688, 151.2093)),
)

TRAP_VISITOR_IDS = (
    'o"connor@example.com',
    "back\\slash",
    "team/alpha/lead",
    "first last",
    "zoë.müller@exämple.com",
    "José Ñúñez",
    "山田 太郎",
    'mixed "q" \\ / @ é',
)
TRAP_ACCOUNT_IDS = (
    'Acme "Rockets" Inc',
    "back\\slash LLC",
    "R&D/Labs",
    "Blue Sky Partners",
    "ops@northwind",
    "Müller & Söhne GmbH",
    "Société Générale",
    "株式会社サンプル",
)
TRAP_ENTITY_IDS = {
    "features": ('feat "save" button', "feat\\path", "nav/menu/open", "Export CSV", "share@mail",
                 "Größe ändern"),
    "pages": ('page "home"', "page\\admin", "settings/billing", "Report Builder", "invite@team",
              "Übersicht"),
}  # fmt: skip
FIRST_NAMES = ("ada", "grace", "alan", "edsger", "barbara", "ken", "margaret", "linus", "anita",
               "donald", "frances", "john", "radia", "tim", "sophie", "dennis")  # fmt: skip
LAST_NAMES = ("lovelace", "hopper", "turing", "dijkstra", "liskov", "thompson", "hamilton",
              "torvalds", "borg", "knuth", "allen", "backus", "perlman", "berners", "wilson")  # fmt: skip
WORDS = ("acme", "globex", "initech", "umbrella", "stark", "wayne", "tyrell", "cyberdyne",
         "soylent", "hooli", "vandelay", "wonka", "oscorp", "aperture", "gringotts", "monarch")  # fmt: skip
PAGE_WORDS = ("dashboard", "settings", "reports", "billing", "users", "projects", "inbox",
              "calendar", "search", "profile", "integrations", "analytics", "help", "export")  # fmt: skip
FEATURE_WORDS = ("Save", "Export", "Share", "Filter", "Invite", "Delete", "Upload", "Sort",
                 "Print", "Archive", "Search", "Undo", "Publish", "Download")  # fmt: skip
TRACK_NAMES = ("Plan Upgraded", "Report Exported", "Invite Sent", "File Uploaded",
               "Search Performed", "Trial Started", "Seat Added", "Payment Failed")  # fmt: skip
GUIDE_EVENT_TYPES = ("guideSeen", "guideActivity", "guideAdvanced")
POLL_TYPES = ("NPSRating", "FreeForm", "NumberScale")
POLL_QUESTIONS = (
    "How likely are you to recommend us?",
    "What can we improve?",
    "How easy was this?",
)
FREE_FORM_ANSWERS = ("Love it", "Too slow", "Missing export to PDF", "ok", "Très bien 👍")
ROLES = ("admin", "editor", "viewer", "billing", "owner")
REGIONS = ("EMEA", "NA", "APAC", "LATAM")
PLANS = ("free", "starter", "pro", "enterprise")
TABS = ("overview", "billing", "members", "security")
LANGUAGES = ("en-US", "de-DE", "fr-FR", "ja-JP")

# Per kind, per group: field -> (Type, display name, element type, per app).
METADATA_SCHEMAS = {
    "visitor": {
        "auto": {
            "id": ("string", "Visitor ID", "", False),
            "idhash": ("integer", "ID hash", "", False),
            "accountid": ("string", "Account ID", "", False),
            "accountids": ("list", "Account IDs", "string", False),
            "firstvisit": ("time", "First visit", "", False),
            "lastvisit": ("time", "Last visit", "", False),
            "lastupdated": ("time", "Last updated", "", False),
            "lastbrowsername": ("string", "Last browser name", "", False),
            "lastbrowserversion": ("string", "Last browser version", "", False),
            "lastoperatingsystem": ("string", "Last operating system", "", False),
            "lastservername": ("string", "Last server name", "", False),
            "lastuseragent": ("string", "Last user agent", "", False),
        },
        "agent": {
            "email": ("string", "Email", "", False),
            "name": ("string", "Name", "", False),
            "language": ("string", "Language", "", False),
        },
        "custom": {
            "role": ("string", "Role", "", False),
            "lastLoginAt": ("time", "Last login at", "", False),
            "optedIn": ("boolean", "Opted in", "", False),
            "loginCount": ("integer", "Login count", "", False),
            "score": ("float", "Score", "", False),
            "teams": ("list", "Teams", "string", False),
            "notes": ("", "Notes", "", False),
        },
        "pendo": {"donotprocess": ("boolean", "Do not process", "", False)},
    },
    "account": {
        "auto": {
            "id": ("string", "Account ID", "", False),
            "idhash": ("integer", "ID hash", "", False),
            "firstvisit": ("time", "First visit", "", True),
            "lastvisit": ("time", "Last visit", "", True),
            "lastupdated": ("time", "Last updated", "", False),
        },
        "agent": {
            "name": ("string", "Name", "", False),
            "planlevel": ("string", "Plan level", "", False),
            "contractStart": ("time", "Contract start", "", False),
        },
        "custom": {
            "region": ("string", "Region", "", False),
            "renewalDate": ("time", "Renewal date", "", False),
            "isTrial": ("boolean", "Is trial", "", False),
            "seatCount": ("integer", "Seat count", "", False),
            "arr": ("float", "ARR", "", False),
            "tags": ("list", "Tags", "string", False),
            "legacyCode": ("", "Legacy code", "", False),
        },
        "salesforce": {
            "accountOwner": ("string", "Account owner", "", False),
            "annualRevenue": ("float", "Annual revenue", "", False),
            "sfId": ("string", "Salesforce ID", "", False),
        },
    },
}


@dataclass
class Visitor:
    """A visitor's fixed profile. Its visits are tracked by the Dataset."""

    id: str
    donotprocess: bool
    accounts: list  # account indices, the primary first; empty without an account
    contexts: list  # context indices, the primary first
    rate: float  # sessions a day, on average
    join_ms: int  # no sessions in hours before this
    leave_ms: int  # nor from this hour on: dormant visitors stop shortly before the start
    lastupdated: int | None
    favorites: tuple  # 3 uniform draws per kind: the visitor's favourite targets
    agent: dict | None
    custom: dict | None
    old: bool  # also active long before the window (history older than 180 days)


def _base62(rng: random.Random, length: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[int(rng.random() * 62)] for _ in range(length))


def _pendo_id(rng: random.Random) -> str:
    """An id shaped like Pendo's: 27 url-safe characters."""
    return f"{_base62(rng, 20)}-{_base62(rng, 3)}_{_base62(rng, 2)}"


def _tie_size(count: int) -> int:
    """How many of `count` entities share one lastUpdatedAt: 32 or a fifth, at most 90 %."""
    return min(max(32, count // 5), count * 9 // 10)


def _pick(pool, u: float):
    """The element of `pool` that a uniform draw `u` in [0, 1) falls on."""
    return pool[min(int(u * len(pool)), len(pool) - 1)]


def _idhash(value: str) -> int:
    return zlib.crc32(value.encode())


def _person(index: int) -> tuple:
    return FIRST_NAMES[index % 16], LAST_NAMES[index // 16 % 15]


def _user(index: int) -> dict:
    """A Pendo user (who created or changed an entity)."""
    first, last = _person(index)
    return {
        "id": f"{4_700_000_000_000_000 + index * 7919}",
        "username": f"{first}.{last}@example.com",
        "first": first.title(),
        "last": last.title(),
        "role": 8 if index % 3 else 1,
        "userType": "",
    }


def _schema_field(type_: str, display: str, element_type: str, per_app: bool) -> dict:
    """One field of a metadata schema, with Pendo's attribute names."""
    return {
        "Type": type_,
        "DisplayName": display,
        "ElementType": element_type,
        "ElementFormat": "unix" if type_ == "time" else "",
        "Dirty": False,
        "isHidden": False,
        "isDeleted": False,
        "isCalculated": False,
        "isPerApp": per_app,
        "neverIndex": type_ == "list",
    }


class Dataset:
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

    # ------------------------------------------------------------ population

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

    def _build_population(self) -> None:
        self._ctx_rows: list = []  # (visitorId, accountId, appId, server, remoteIp, userAgent)
        self._ctx_info: list = []  # (visitor index, account index or -1, user agent index)
        self._ctx_geo: list = []  # (country, region, latitude, longitude)
        self._entities: dict = {}
        self._tie: dict = {}  # source -> indices of the rows that share one lastupdated
        self._page_paths: list = []
        self._feature_pages: list = []
        self._guide_steps: list = []
        self._guide_polls: list = []
        self._entities["pages"] = self._make_entities("pages")
        self._pages_by_app = {app: [] for app in self.apps}
        for p, page in enumerate(self._entities["pages"]):
            self._pages_by_app[page["appId"]].append(p)
        for source in ENTITY_SOURCES[1:]:
            self._entities[source] = self._make_entities(source)
        self._pools = self._make_pools()
        self._accounts = self._make_accounts()
        self._visitors = self._make_visitors()
        self._visitor_index = {v.id: i for i, v in enumerate(self._visitors)}
        self._account_index = {a["id"]: i for i, a in enumerate(self._accounts)}
        # An account belongs to the apps its visitors use.
        self._account_apps = [set() for _ in self._accounts]
        for ctx, (_, account, _) in enumerate(self._ctx_info):
            if account >= 0:
                self._account_apps[account].add(self._ctx_rows[ctx][2])
        rates = [v.rate for v in self._visitors]
        self._cum_rates = list(accumulate(rates))
        self._daily_sessions = self._cum_rates[-1]

    def _make_entities(self, source: str) -> list:
        """Base rows of one entity source; a row's index is its target index in the units.

        Rows 0-2 give each app one; rows from 3 on form the tie group (default
        app, one shared `lastUpdatedAt`), the first of them with awkward ids.
        """
        rng = self._rng(source)
        count = self._counts[source]
        first_tie = len(self.apps)
        tie = range(first_tie, min(count, first_tie + _tie_size(count)))
        self._tie[source] = tie
        tie_ms = self.start_ms - 4 * DAY_MS - 12_345
        traps = TRAP_ENTITY_IDS.get(source, ())
        rows = []
        for i in range(count):
            created = self.start_ms - int((30 + rng.random() * 400) * DAY_MS)
            updated = created + int(rng.random() * (self.start_ms - created))
            if i in tie:
                app, updated = self.default_app, tie_ms
            elif i < len(self.apps):
                app = self.apps[i]
            else:
                app = self.apps[(0, 0, 0, 1, 2)[i % 5]]
            trap = i - first_tie
            row = {
                "id": traps[trap] if 0 <= trap < len(traps) else _pendo_id(rng),
                "appId": app,
                "name": f"{source[:-1]} {i}",
                "color": ("gray", "blue", "green", "orange")[i % 4],
                "kind": {"pages": "Page", "features": "Feature", "guides": "Guide"}.get(
                    source, "TrackType"
                ),
                "group": {
                    "id": f"_PENDO_DEFAULTGROUP_0{i % 3}_",
                    "name": ("Default", "Onboarding", "Billing")[i % 3],
                    "description": "",
                    "color": f".groupColor0{i % 3}",
                    "createdAt": created,
                    "lastUpdatedAt": created + DAY_MS,
                },
                "createdAt": created,
                "createdByUser": _user(i),
                "lastUpdatedAt": updated,
                "lastUpdatedByUser": _user(i + 1),
                "rootVersionId": _pendo_id(rng),
                "stableVersionId": f"{_pendo_id(rng)}-{i}",
                "dirty": i % 11 == 0,
            }
            getattr(self, f"_extend_{source}")(rng, i, row)
            rows.append(row)
        return rows

    def _extend_pages(self, rng: random.Random, i: int, row: dict) -> None:
        path = f"/{PAGE_WORDS[i % len(PAGE_WORDS)]}/{i}"
        self._page_paths.append(path)
        row["rules"] = [
            {
                "rule": f"//*{path}",
                "designerHint": f"//*{path}",
                "parsedRule": f"^https?://[^/]*{path}/?(?:;.*)?(?:\\?.*)?$",
            }
        ]

    def _extend_features(self, rng: random.Random, i: int, row: dict) -> None:
        pages = self._pages_by_app[row["appId"]]
        page = pages[i % len(pages)]
        self._feature_pages.append(page)
        row["pageId"] = self._entities["pages"][page]["id"]
        word = FEATURE_WORDS[i % len(FEATURE_WORDS)]
        row["elementPathRules"] = [f'button:contains("{word}")', f"#{word.lower()}-{i}"]

    def _extend_guides(self, rng: random.Random, i: int, row: dict) -> None:
        """Steps, polls (guides 0-2 and every fourth have 3 polls), state and dates.

        Steps and polls have the contract's fields only. The last step of a
        guide with polls is a poll step that names them. Step and poll ids are
        unique within their guide only: guide 1 and every guide 8k + 4 (k > 0)
        reuse the first step id and the first poll id of guide 0 and of guide
        8k. Poll ids are the shape Pendo gives them.
        """
        has_polls = i < len(self.apps) or i % 4 == 0
        n_steps = 2 + i % 2 if has_polls else 1 + i % 3
        polls = []
        if has_polls:
            for k, poll_type in enumerate(POLL_TYPES):
                polls.append(
                    {
                        "id": _base62(rng, 10),
                        "question": POLL_QUESTIONS[k],
                        "attributes": {"type": poll_type},
                    }
                )
        steps = []
        for k in range(n_steps):
            poll_step = has_polls and k == n_steps - 1
            steps.append(
                {
                    "id": _pendo_id(rng),
                    "guideId": row["id"],
                    "type": "poll" if poll_step else ("lightbox", "tooltip", "banner")[(i + k) % 3],
                    "contentType": "text/html; charset=utf-8",
                    "rank": k,
                    "advanceMethod": ("button", "element", "programmatic")[k % 3],
                    "thumbnailUrls": None
                    if (i + k) % 3 == 0
                    else [f"https://cdn.example.com/thumbs/{row['id']}/{k}.png"],
                    "pollIds": [poll["id"] for poll in polls] if poll_step else [],
                }
            )
        partner = 0 if i == 1 else (i - 4 if i >= 8 and i % 8 == 4 else None)
        if partner is not None:
            steps[0]["id"] = self._guide_steps[partner][0]
            if polls and self._guide_polls[partner]:
                polls[0]["id"] = self._guide_polls[partner][0][0]
                steps[-1]["pollIds"][0] = polls[0]["id"]
        self._guide_steps.append([step["id"] for step in steps])
        self._guide_polls.append([(poll["id"], poll["attributes"]["type"]) for poll in polls])
        draft = i % 9 == 8
        row.update(
            state="draft" if draft else ("public", "public", "disabled", "staged")[i % 4],
            launchMethod=("auto", "badge", "dom", "api")[i % 4],
            isMultiStep=n_steps > 1,
            steps=steps,
            attributes={
                "type": "building-block",
                "device": {"desktop": True, "mobile": i % 2 == 0, "type": "all"},
                "priority": i % 5,
                "overrideAutoThrottling": False,
                "capping": {"maxImpressions": 3, "maxSessionImpressions": 1},
                "elementSelectionType": "css",
            },
            audience=[{"source": {"visitors": None}}, {"identified": "visitorId"}],
            publishedAt=None if draft else row["createdAt"] + DAY_MS,
            polls=polls,
        )
        if i % 6 == 0:
            row["resetAt"] = row["createdAt"] + 2 * DAY_MS

    def _extend_trackTypes(self, rng: random.Random, i: int, row: dict) -> None:
        name = TRACK_NAMES[i % len(TRACK_NAMES)] + (f" {i}" if i >= len(TRACK_NAMES) else "")
        row["trackTypeName"] = name
        row["trackTypeRules"] = [name]

    def _make_pools(self) -> dict:
        """Per kind, per app: the target indices a unit of that kind and app can hit."""
        pools = {}
        for kind, source in KIND_SOURCES.items():
            pools[kind] = {app: [] for app in self.apps}
            for i, row in enumerate(self._entities[source]):
                pools[kind][row["appId"]].append(i)
        pools[POLL] = {
            app: [g for g in pools[GUIDE][app] if self._guide_polls[g]] for app in self.apps
        }
        return pools

    def _make_accounts(self) -> list:
        """Base accounts: id, home app, lastupdated (or None), agent, custom, salesforce."""
        rng = self._rng("accounts")
        count = self._counts["accounts"]
        accounts = []
        for i in range(count):
            home = self.apps[{5: 1, 6: 2}.get(i % 7, 0)]
            lastupdated = None
            if i % 15 != 4:
                lastupdated = self.start_ms - int(rng.random() * 60 * DAY_MS) - 1
            if i < len(TRAP_ACCOUNT_IDS):
                account_id = TRAP_ACCOUNT_IDS[i]
            else:
                account_id = f"{_pick(WORDS, rng.random())}-{_pick(WORDS, rng.random())}-{i}"
            seats = 5 + int(rng.random() * 500)
            arr = round(seats * 120.5, 2)
            custom = {
                "region": REGIONS[i % 4],
                "renewalDate": None
                if i % 9 == 0
                else self.start_ms + int(rng.random() * 365) * DAY_MS,
                "isTrial": i % 4 == 0,
                # Pendo sometimes sends integers and floats as decimal strings.
                "seatCount": str(seats) if i % 3 == 0 else seats,
                "arr": f"{arr:.2f}" if i % 5 == 0 else arr,
                "tags": [t for k, t in enumerate(("beta", "vip", "churn-risk")) if i >> k & 1],
                "legacyCode": ("A1", 7, None, True)[i % 4],
            }
            if i % 6 == 1:
                custom["crmSyncedAt"] = self.start_ms - (i + 1) * HOUR_MS  # not in the schema
            first, last = _person(i)
            accounts.append(
                {
                    "id": account_id,
                    "home": home,
                    "lastupdated": lastupdated,
                    "agent": {
                        "name": account_id.replace("-", " ").title(),
                        "planlevel": PLANS[i % 4],
                        "contractStart": self.start_ms - (100 + i) * DAY_MS,
                    },
                    "custom": custom,
                    "salesforce": {
                        "accountOwner": f"{first.title()} {last.title()}",
                        "annualRevenue": round(arr * 3.7, 2),
                        "sfId": "001" + _base62(rng, 15),
                    }
                    if i % 10 < 7
                    else None,
                }
            )
        self._tie_accounts(accounts)
        return accounts

    def _tie_accounts(self, accounts: list) -> None:
        """The tie group: default-app accounts from the last index down, in one bulk import.

        32 in 60: the tie must outgrow a page at scale 1, and a share keeps the
        activity linear in the scale. Their visitors go dormant before the
        start (see _tie_visitors): no activity touches them, and the tie lasts.
        """
        tie = self._tie["accounts"] = []
        tie_ms = self.start_ms - 3 * DAY_MS - 54_321
        for i in reversed(range(len(accounts))):
            account = accounts[i]
            if len(tie) < len(accounts) * 32 // 60 and account["home"] == self.default_app:
                if account["lastupdated"] is not None:
                    account["lastupdated"] = tie_ms
                    tie.append(i)
        tie_set = set(tie)
        self._active_accounts = [i for i in range(len(accounts)) if i not in tie_set]

    def _make_visitors(self) -> list:
        """Visitors and their contexts. The index decides the traps, so every scale has them.

        0-7 have awkward ids; the next ones are power users with one context per
        trap variant (rows that differ only by server, app, user agent, IP or
        account); among the rest some are anonymous, without an account,
        do-not-process, without lastupdated, or also active long ago.
        """
        rng = self._rng("visitors")
        count = self._counts["visitors"]
        power_end = len(TRAP_VISITOR_IDS) + max(4, round(12 * count / 300))
        window_start = self.start_ms - self.days * DAY_MS
        with_account = 0
        visitors = []
        for i in range(count):
            power = len(TRAP_VISITOR_IDS) <= i < power_end
            regular = i >= power_end
            anonymous = regular and i % 8 == 3
            donotprocess = i >= len(TRAP_VISITOR_IDS) and i % 25 == 11
            old = regular and i % 20 == 17 and not anonymous and not donotprocess
            visitor_id = self._visitor_id(rng, i, anonymous)
            accounts = []
            if not anonymous and not (regular and i % 20 == 7):
                accounts = self._visitor_accounts(rng, with_account, power)
                with_account += 1
            lastupdated = None
            if i % 20 != 13:
                lastupdated = self.start_ms - int(rng.random() * 60 * DAY_MS) - 1
            if power:
                rate = 6.0
            elif regular:
                rate = min(8.0, 0.1 + rng.expovariate(1 / 2.0))
            else:
                rate = 1.5
            joins_late = regular and not old and rng.random() < 0.25
            visitors.append(
                Visitor(
                    id=visitor_id,
                    donotprocess=donotprocess,
                    accounts=accounts,
                    contexts=self._add_contexts(rng, i, visitor_id, accounts, power),
                    rate=rate,
                    join_ms=window_start + int(rng.random() * (self.days - 1) * DAY_MS)
                    if joins_late
                    else 0,
                    leave_ms=1 << 62,
                    lastupdated=lastupdated,
                    favorites=tuple(rng.random() for _ in range(3 * (POLL + 1))),
                    agent=None if anonymous else self._visitor_agent(i, visitor_id),
                    custom=None if anonymous else self._visitor_custom(rng, i),
                    old=old,
                )
            )
        self._tie_visitors(visitors, power_end)
        return visitors

    def _tie_visitors(self, visitors: list, power_end: int) -> None:
        """Make the visitors of tied accounts dormant, and more, until a fifth are tied.

        Dormant visitors have no sessions from 9 hours before the start on, so
        none of their data arrives after it; those with a lastupdated share
        one, from a bulk import.
        """
        tied_accounts = set(self._tie["accounts"])
        dormant = {
            i for i, v in enumerate(visitors) if v.accounts and v.accounts[0] in tied_accounts
        }
        missing = len(visitors) // 5 - sum(visitors[i].lastupdated is not None for i in dormant)
        for i in range(power_end, len(visitors)):
            if missing <= 0:
                break
            if i not in dormant and visitors[i].lastupdated is not None:
                dormant.add(i)
                missing -= 1
        tie = self._tie["visitors"] = []
        for i in sorted(dormant):
            visitors[i].leave_ms = self.start_ms - MAX_LAG_S * 1000 - HOUR_MS
            if visitors[i].lastupdated is not None:
                visitors[i].lastupdated = self.start_ms - 2 * DAY_MS - 6_789
                tie.append(i)

    def _visitor_id(self, rng: random.Random, i: int, anonymous: bool) -> str:
        if i < len(TRAP_VISITOR_IDS):
            return TRAP_VISITOR_IDS[i]
        if anonymous:
            return "_PENDO_T_" + _base62(rng, 11)
        first, last = _person(i)
        return (
            f"{first}.{last}.{i}@{WORDS[i % 16]}.example.com",
            str(100_000 + i * 37),
            f"usr_{_base62(rng, 12)}",
        )[i % 3]

    def _visitor_accounts(self, rng: random.Random, ordinal: int, power: bool) -> list:
        """Account indices of the `ordinal`-th visitor with an account.

        Every account gets a visitor first; then the big accounts among the
        active ones get more. Second accounts are active ones too.
        """
        active = self._active_accounts
        primary = ordinal if ordinal < len(self._accounts) else _pick(active, rng.random() ** 2)
        if len(active) > 1 and (power or rng.random() < 0.06):
            second = _pick(active, rng.random())
            if second == primary:
                second = active[(active.index(second) + 1) % len(active)]
            return [primary, second]
        return [primary]

    def _add_contexts(
        self, rng: random.Random, i: int, visitor_id: str, accounts: list, power: bool
    ) -> list:
        """Register the visitor's contexts; return their indices, the primary first."""
        account = accounts[0] if accounts else -1
        if accounts:
            app = self._accounts[account]["home"]
        else:
            app = self.default_app if rng.random() < 0.85 else OTHER_APPS[0]
        other_app = self.apps[(self.apps.index(app) + 1) % len(self.apps)]
        server = SERVERS[app][0]
        geo = int(rng.random() * len(GEO))
        host = 1 + int(rng.random() * 250)
        ua = int(rng.random() * len(USER_AGENTS))
        variants = [rng.random() < 0.04 or power for _ in range(4)]
        specs = [(account, app, server, geo, host, ua)]
        if variants[0]:
            specs.append((account, app, SERVERS[app][1], geo, host, ua))
        if variants[1]:
            specs.append((account, other_app, server, geo, host, ua))
        if variants[2]:
            specs.append((account, app, server, geo, host, (ua + 1) % len(USER_AGENTS)))
        if variants[3]:
            specs.append((account, app, server, geo, host + 1, ua))
        if len(accounts) > 1:
            specs.append((accounts[1], app, server, geo, host, ua))
        if i % 5 == 2:
            specs.append((account, other_app, SERVERS[other_app][0], geo, host, ua))
        contexts = []
        for account, app, server, geo, host, ua in dict.fromkeys(specs):
            prefix, place = GEO[geo]
            ip = f"{prefix}{host:x}" if ":" in prefix else f"{prefix}{host}"
            account_id = self._accounts[account]["id"] if account >= 0 else ""
            contexts.append(len(self._ctx_rows))
            self._ctx_rows.append((visitor_id, account_id, app, server, ip, USER_AGENTS[ua][0]))
            self._ctx_info.append((i, account, ua))
            self._ctx_geo.append(place)
        return contexts

    def _visitor_agent(self, i: int, visitor_id: str) -> dict:
        first, last = _person(i)
        return {
            "email": visitor_id if "@" in visitor_id else f"{first}.{last}.{i}@example.com",
            "name": f"{first.title()} {last.title()}",
            "language": LANGUAGES[i % 4],
        }

    def _visitor_custom(self, rng: random.Random, i: int) -> dict:
        logins = int(rng.random() * 500)
        score = round(rng.random() * 100, 2)
        custom = {
            "role": ROLES[i % 5],
            "lastLoginAt": None if i % 10 == 0 else self.start_ms - int(rng.random() * 20 * DAY_MS),
            "optedIn": i % 2 == 0,
            # Pendo sometimes sends integers and floats as decimal strings.
            "loginCount": str(logins) if i % 4 == 0 else logins,
            "score": f"{score:.2f}" if i % 6 == 0 else score,
            "teams": [t for k, t in enumerate(("core", "growth", "платформа")) if i >> k & 1],
            "notes": ("vip", 42, None, 3.5, ["call back"])[i % 5],
        }
        if i % 9 == 4:
            del custom["score"]  # absent, not null
        if i % 7 == 0:
            custom["legacyImportTs"] = self.start_ms - i * HOUR_MS  # not in the schema
        return custom

    # -------------------------------------------------------------- activity

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

    # -------------------------------------------------------------- entities

    def entities(self, source: str) -> list:
        """The rows of an entity source at `now_ms`, of every app."""
        with self._lock:
            rows = self._rows_cache.get(source)
            if rows is None:
                rows = self._rows_cache[source] = self._build_rows(source)
            return rows

    def _build_rows(self, source: str) -> list:
        if source == "accounts":
            return [self._account_row(i) for i in range(len(self._accounts))]
        if source == "visitors":
            return [self._visitor_row(v) for v in range(len(self._visitors))]
        if source not in self._entities:
            raise ValueError(f"not an entity source: {source!r}")
        updates = self._updates[source]
        return [
            row
            if i not in updates
            else {**row, "lastUpdatedAt": updates[i], "lastUpdatedByUser": _user(i + 2)}
            for i, row in enumerate(self._entities[source])
        ]

    def _account_row(self, i: int) -> dict:
        account = self._accounts[i]
        auto = {"id": account["id"], "idhash": _idhash(account["id"])}
        visits = [
            (app, self._account_visits[i, app])
            for app in self.apps
            if (i, app) in self._account_visits
        ]
        if visits:
            auto["firstvisit"] = min(first for _, (first, _) in visits)
            auto["lastvisit"] = max(last for _, (_, last) in visits)
        lastupdated = self._updates["accounts"].get(i, account["lastupdated"])
        if lastupdated is not None:
            auto["lastupdated"] = lastupdated
        metadata = {"auto": auto, "agent": account["agent"], "custom": account["custom"]}
        if account["salesforce"]:
            metadata["salesforce"] = account["salesforce"]
        for app, (first, last) in visits:
            metadata[f"auto__{app}"] = {"firstvisit": first, "lastvisit": last}
        return {"accountId": account["id"], "metadata": metadata}

    def _visitor_row(self, v: int) -> dict:
        visitor = self._visitors[v]
        auto = {"id": visitor.id, "idhash": _idhash(visitor.id)}
        if visitor.accounts:
            account_ids = [self._accounts[a]["id"] for a in visitor.accounts]
            auto["accountid"], auto["accountids"] = account_ids[0], account_ids
        if self._visits[v] is not None:
            first, last, ctx = self._visits[v]
            parsed = USER_AGENTS[self._ctx_info[ctx][2]][1]
            auto.update(
                firstvisit=first,
                lastvisit=last,
                lastbrowsername=parsed["name"],
                lastbrowserversion=parsed["version"],
                lastoperatingsystem=parsed["os"],
                lastservername=self._ctx_rows[ctx][3],
                lastuseragent=self._ctx_rows[ctx][5],
            )
        lastupdated = self._updates["visitors"].get(v, visitor.lastupdated)
        if lastupdated is not None:
            auto["lastupdated"] = lastupdated
        metadata = {"auto": auto}
        if visitor.agent is not None:
            metadata["agent"] = visitor.agent
        if visitor.custom is not None:
            metadata["custom"] = visitor.custom
        metadata["pendo"] = {"donotprocess": visitor.donotprocess}
        return {"visitorId": visitor.id, "metadata": metadata}

    def account_apps(self, account_id: str) -> set:
        """The apps in which the account has activity (those its visitors use)."""
        index = self._account_index.get(account_id)
        return set() if index is None else set(self._account_apps[index])

    def entity_list(self, kind: str, expand: bool) -> list:
        """`GET /api/v1/{kind}`: every app's entities with `expand=*`, else the default app's."""
        if kind not in ENTITY_LIST_KINDS:
            raise ValueError(f"not an entity kind: {kind!r}")
        rows = self.entities(ENTITY_LIST_KINDS[kind])
        return list(rows) if expand else [r for r in rows if r["appId"] == self.default_app]

    def segments(self) -> list:
        """`GET /api/v1/segment`: every saved segment, at now_ms."""
        with self._lock:
            return self._saved.rows("segments")

    def reports(self) -> list:
        """`GET /api/v1/report`: every saved report, at now_ms."""
        with self._lock:
            return self._saved.rows("reports")

    def metadata_schema(self, kind: str) -> dict:
        """`GET /api/v1/metadata/schema/{kind}` for kind `account` or `visitor`."""
        if kind not in METADATA_SCHEMAS:
            raise ValueError(f"not a metadata kind: {kind!r}")
        return {
            group: {name: _schema_field(*spec) for name, spec in fields.items()}
            for group, fields in METADATA_SCHEMAS[kind].items()
        }

    # ---------------------------------------------------------------- events

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

    def _page_url(self, server: str, app: int, moment: int) -> str:
        """The URL of a page of the app, where a guide showed at `moment`."""
        page = _pick(self._pages_by_app[app], moment % 997 / 997)
        return f"https://{server}{self._page_paths[page]}"

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

    # --------------------------------------------------------------- history

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
