"""The dataset's constants: sizes, the packing of units, the sources, the activity
curve, and the fixed lists the rows draw from (trap ids, names, words, user agents,
places, metadata schemas).

The model they serve is described in `dataset.py`.
"""

from __future__ import annotations

from .periods import HOUR_MS

MINUTE_MS = 60_000
DAY_MS = 24 * HOUR_MS
HISTORY_LIMIT_MS = 180 * DAY_MS
ANONYMOUS_PREFIX = "_PENDO_T_"  # Pendo's ids of anonymous visitors start so
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
