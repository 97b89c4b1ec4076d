"""Fixed pools the generated values draw from: names, places, user agents, and the
awkward strings (quotes, backslashes, non-ASCII letters) that a reader must keep
verbatim, plus the maker of Pendo-shaped ids."""

from __future__ import annotations

import random

SUBSCRIPTION_ID = "5650"
DEFAULT_APP = -323232
MOBILE_APP = 5668600916475904
APPS = (DEFAULT_APP, MOBILE_APP)
ROOT_URL_BASE = "gs://acme-pendo/datasync"  # where Pendo wrote: another bucket and scheme

FIRST_NAMES = (
    "ada",
    "bruno",
    "chloé",
    "dmitri",
    "eun-ji",
    "farid",
    "greta",
    "hiro",
    "inès",
    "jonas",
)
LAST_NAMES = ("okafor", "müller", "nguyen", "o'brien", "silva", "tanaka", "dubois", "kowalski")
COMPANY_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Stark")
AWKWARD_NAMES = (
    'Zoë "Zed" Ångström',
    "Crème brûlée, S.A.",
    "Back\\slash & Co",
    "東京 Trading 株式会社",
    "O'Reilly “smart” quotes",
)
REGIONS = ("EMEA", "NA", "APAC", "LATAM", "Île-de-France", None)
PLANS = ("free", "starter", "pro", "enterprise")
LANGUAGES = ("en-US", "fr-FR", "de-DE", "ja-JP", "pt-BR", "es-ES")
PLACES = (
    ("US", "NY", 40.71, -74.0),
    ("US", "CA", 37.77, -122.42),
    ("FR", "IDF", 48.85, 2.35),
    ("DE", "BE", 52.52, 13.4),
    ("JP", "13", 35.68, 139.69),
    ("BR", "SP", -23.55, -46.63),
)
WEB_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)
MOBILE_AGENTS = {
    "ios": "Acme/4.2.1 (iPhone15,3; iOS 17.1.2) PendoSDK/3.1",
    "android": "Acme/4.2.0 (Pixel 8; Android 14) PendoSDK/3.1",
}
WEB_SERVERS = ("app.example.com", "eu.app.example.com")
PAGE_WORDS = (
    "dashboard", "settings", "billing", "reports", "übersicht", "inbox", "calendar",
    "projects", "search", "profile", "team", "integrations", "help", "onboarding",
)  # fmt: skip
ELEMENT_TEXTS = (
    "Save",
    'Save "draft"',
    "Enregistrer « brouillon »",
    "保存",
    "Next →",
    "C:\\exports\\report.csv",
    "Delete",
    "Invite teammates",
)
POLL_TYPES = ("NPSRating", "FreeForm", "NumberScale", "MultipleChoice")
FREE_TEXT_ANSWERS = (
    "Love it",
    'Needs a "dark mode"',
    "Très bien, merci !",
    "とても良い",
    "slow on big reports\\exports",
)
TRACK_NAMES = (
    "Report Exported",
    "Invoice Paid",
    "Seat Added",
    "Plan Upgraded",
    "Search Performed",
    "Integration Connected",
    "Réglages modifiés",
    "File Uploaded",
)
FRUSTRATIONS = ("rageClick", "deadClick", "errorClick", "uTurn")

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"


def pendo_id(rng: random.Random) -> str:
    """An id shaped like Pendo's: 27 url-safe characters, e.g. `q95zvVQ6m5wyBz7-FcgxsIKCeLw`."""
    return "".join(_ALPHABET[rng.randrange(64)] for _ in range(27))


def hex_id(rng: random.Random, length: int = 32) -> str:
    """Lower-case hex, e.g. an export id (32 characters)."""
    return f"{rng.getrandbits(4 * length):0{length}x}"


def pick(rng: random.Random, pool):
    """One element of `pool`."""
    return pool[rng.randrange(len(pool))]
