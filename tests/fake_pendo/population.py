"""The dataset's population: accounts, visitors, and the contexts they act in.

A mixin of `Dataset` (dataset.py). `_build_population` builds the catalog first
(catalog.py: features point at pages, units at every kind), then the accounts
and the visitors, with their traps (awkward ids, anonymous and do-not-process
visitors, missing `lastupdated`, the tie groups), and the weights that choose
who has a session in an hour (`_cum_rates`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

from .constants import (
    ANONYMOUS_PREFIX,
    DAY_MS,
    ENTITY_SOURCES,
    GEO,
    LANGUAGES,
    MAX_LAG_S,
    OTHER_APPS,
    PLANS,
    POLL,
    REGIONS,
    ROLES,
    SERVERS,
    TRAP_ACCOUNT_IDS,
    TRAP_VISITOR_IDS,
    USER_AGENTS,
    WORDS,
)
from .periods import HOUR_MS
from .values import _base62, _person, _pick


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


class PopulationMixin:
    """Accounts, visitors and contexts, built once from the seed."""

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
            return ANONYMOUS_PREFIX + _base62(rng, 11)
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
