"""Accounts and visitors: their metadata schemas, their rows (one field per metadata
field, named by `avroFieldName`) and what the event maker needs of a visitor (account,
place, user agent, language, apps).

Each day some records change (a visit, a login, a new seat) and new visitors arrive;
`add_field` adds a custom field to a metadata schema, as a Pendo admin does.
"""

from __future__ import annotations

import random

from .days import DAY_MS, start_ms
from .words import (
    APPS,
    AWKWARD_NAMES,
    COMPANY_WORDS,
    DEFAULT_APP,
    FIRST_NAMES,
    LANGUAGES,
    LAST_NAMES,
    PLACES,
    PLANS,
    REGIONS,
    hex_id,
    pick,
)

ANONYMOUS_PREFIX = "_PENDO_T_"
# (group, name, displayName, type, isDeleted, isPerApp) of each kind's metadata schema.
ACCOUNT_FIELDS = (
    ("auto", "firstvisit", "First Visit", "time", False, False),
    ("auto", "lastvisit", "Last Visit", "time", False, False),
    ("auto", "lastupdated", "Last Updated", "time", False, False),
    ("agent", "name", "Name", "string", False, False),
    ("agent", "planlevel", "Plan Level", "string", False, False),
    ("custom", "region", "Region", "string", False, False),
    ("custom", "seatCount", "Seat Count", "integer", False, False),
    ("custom", "arr", "ARR (€)", "float", False, False),
    ("custom", "isTrial", "Is Trial", "boolean", False, False),
    ("custom", "onboardingStep", "Onboarding Step", "integer", False, True),
    ("custom", "legacyTier", "Legacy Tier", "string", True, False),
)
VISITOR_FIELDS = (
    ("auto", "firstvisit", "First Visit", "time", False, False),
    ("auto", "lastvisit", "Last Visit", "time", False, False),
    ("auto", "lastupdated", "Last Updated", "time", False, False),
    ("auto", "accountid", "Account Id", "string", False, False),
    ("agent", "email", "Email", "string", False, False),
    ("agent", "name", "Name", "string", False, False),
    ("agent", "language", "Language", "string", False, False),
    ("custom", "region", "Region", "string", False, False),
    ("custom", "betaOptIn", "Beta opt-in", "boolean", False, False),
    ("custom", "loginCount", "Login Count", "integer", False, False),
    ("custom", "npsScore", "NPS score", "float", False, True),
    ("custom", "oldRole", "Old \"role\"", "string", True, False),
)  # fmt: skip
# The field an admin adds later to each kind's schema.
ADDED_FIELDS = {
    "account": ("custom", "renewalDate", "Renewal Date", "time", False, False),
    "visitor": ("custom", "favoriteWidget", "Favorite widget", "string", False, False),
}
COUNTS = {"account": 40, "visitor": 150}


def metadata_row(group, name, display_name, field_type, is_deleted, is_per_app) -> dict:
    """One row of metadataschema.avro."""
    return {
        "group": group,
        "name": name,
        "displayName": display_name,
        "type": field_type,
        "elementType": "",
        "elementFormat": "unix-millis" if field_type == "time" else "",
        "avroFieldName": f"{group}__{name}",
        "isDeleted": is_deleted,
        "isPerApp": is_per_app,
    }


class People:
    """The accounts and visitors of the subscription, as of the fake's clock."""

    def __init__(self, seed: int, scale: float, first_day: int):
        self.seed = seed
        self._rng = random.Random(f"{seed}/people")
        self.fields = {
            "account": [metadata_row(*field) for field in ACCOUNT_FIELDS],
            "visitor": [metadata_row(*field) for field in VISITOR_FIELDS],
        }
        self.rows: dict[str, dict[str, dict]] = {"account": {}, "visitor": {}}
        self.account_of: dict[str, str] = {}  # visitorId -> accountId or ""
        self.context: dict[str, tuple] = {}  # visitorId -> (place or None, agent index, language)
        self.apps_of: dict[str, tuple] = {}
        before = start_ms(first_day)
        for number in range(max(3, round(COUNTS["account"] * scale))):
            self._add_account(number, before)
        for number in range(max(5, round(COUNTS["visitor"] * scale))):
            self._add_visitor(number, before)

    def _times(self, created_ms: int, seen_ms: int) -> dict:
        return {
            "auto__firstvisit": created_ms,
            "auto__lastvisit": seen_ms,
            "auto__lastupdated": seen_ms + self._rng.randrange(60_000),
        }

    def _add_account(self, number: int, before_ms: int) -> None:
        rng = self._rng
        if number < len(AWKWARD_NAMES):
            account_id = AWKWARD_NAMES[number]
        else:
            account_id = f"acct-{number:04d}"
        created = before_ms - rng.randrange(60 * DAY_MS, 700 * DAY_MS)
        row = {
            "id": account_id,
            **self._times(created, before_ms - rng.randrange(DAY_MS, 9 * DAY_MS)),
        }
        row.update(
            {
                "agent__name": f"{pick(rng, COMPANY_WORDS)} {number}",
                "agent__planlevel": pick(rng, PLANS),
                "custom__region": pick(rng, REGIONS),
                "custom__seatCount": rng.randrange(1, 500),
                "custom__arr": None if number % 7 == 3 else round(rng.uniform(1e3, 5e5), 2),
                "custom__isTrial": rng.random() < 0.2,
                "custom__onboardingStep": None if number % 3 else rng.randrange(1, 6),
            }
        )
        self.rows["account"][account_id] = row

    def _add_visitor(self, number: int, before_ms: int) -> str:
        rng = self._rng
        anonymous = number % 10 == 9
        first, last = pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)
        if anonymous:
            visitor_id = f"{ANONYMOUS_PREFIX}{hex_id(rng, 16)}"
        elif number == 2:
            visitor_id = f'"{first}"@example.com'  # quotes inside an id
        else:
            visitor_id = f"{first}.{last}.{number}@example.com"
        accounts = list(self.rows["account"])
        account_id = "" if anonymous or number % 12 == 5 else pick(rng, accounts)
        self.account_of[visitor_id] = account_id
        place = None if number % 11 == 4 else pick(rng, PLACES)
        language = pick(rng, LANGUAGES)
        self.context[visitor_id] = (place, rng.randrange(3), language)
        self.apps_of[visitor_id] = APPS if number % 5 < 2 else (DEFAULT_APP,)
        created = before_ms - rng.randrange(DAY_MS, 400 * DAY_MS)
        row = {"id": visitor_id, **self._times(created, before_ms - rng.randrange(DAY_MS))}
        row.update(
            {
                "auto__accountid": account_id,
                "agent__email": None if anonymous else visitor_id,
                "agent__name": None if anonymous else f"{first.title()} {last.title()}",
                "agent__language": language,
                "custom__region": pick(rng, REGIONS),
                "custom__betaOptIn": None if number % 4 == 0 else rng.random() < 0.5,
                "custom__loginCount": rng.randrange(0, 900),
                "custom__npsScore": None if number % 3 else float(rng.randrange(11)),
            }
        )
        self.rows["visitor"][visitor_id] = row
        return visitor_id

    def visitors_of(self, app_id: int) -> list:
        """The visitors who use application `app_id`."""
        return [key for key, apps in self.apps_of.items() if app_id in apps]

    def change(self, kind: str, day: int) -> list:
        """The records of `kind` changed during `day` (visits, logins, seats, new
        visitors), applied; returns their ids."""
        rng = random.Random(f"{self.seed}/change/{kind}/{day}")
        rows = self.rows[kind]
        changed = rng.sample(list(rows), max(1, len(rows) // 9))
        if kind == "visitor":
            changed += [
                self._add_visitor(len(rows), start_ms(day)) for _ in range(rng.randrange(1, 3))
            ]
        added = ADDED_FIELDS[kind]
        added_name = f"{added[0]}__{added[1]}"
        has_added = any(field["avroFieldName"] == added_name for field in self.fields[kind])
        for key in changed:
            row = dict(rows[key])
            seen = start_ms(day) + rng.randrange(DAY_MS - 120_000)
            row["auto__lastvisit"] = seen
            row["auto__lastupdated"] = seen + rng.randrange(1, 60_000)
            if kind == "account":
                row["custom__seatCount"] = (row["custom__seatCount"] or 0) + rng.randrange(1, 4)
            else:
                row["custom__loginCount"] = (row["custom__loginCount"] or 0) + 1
            if has_added:
                row[added_name] = (
                    seen + 365 * DAY_MS
                    if kind == "account"
                    else pick(rng, ("chart", "täble", None))
                )
            rows[key] = row
        return changed

    def add_field(self, kind: str) -> str:
        """Adds the later custom field to `kind`'s metadata schema; returns its avroFieldName."""
        row = metadata_row(*ADDED_FIELDS[kind])
        if row not in self.fields[kind]:
            self.fields[kind] = [*self.fields[kind], row]
        return row["avroFieldName"]
