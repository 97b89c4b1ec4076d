"""Saved segments and reports: what `GET /api/v1/segment` and `GET /api/v1/report` answer.

Each is one JSON array of every item of the subscription (no paging, no
filter, no app). The items are built once from the seed; after that, edits
come from a fixed schedule: one segment and one report in every 20-minute slot
of the clock after the start, at a time drawn from that slot's own random
stream. An edit moves the item's `lastUpdatedAt` to its time and its
`lastUpdatedByUser`, and changes its query (the time window of a segment's
`pipeline` or of a report's `definition` grows by a day), and a report's
`lastRunAt` (saving runs it), so the items at a given clock are the same however the clock
got there, an item never changes without its `lastUpdatedAt` moving, and every
`advance()` of 40 minutes or more edits at least one segment and one report.

Traps: names with `"`, `\\` and non-ASCII letters; a bulk edit (at least 3
items of each list share one `lastUpdatedAt`, and edits leave them alone);
nested `pipeline` and `definition` objects with camelCase keys (which a tap
keeps verbatim); reports that never ran (`lastRunAt: null`).
"""

from __future__ import annotations

import random
from typing import Callable

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
EDIT_SLOT_MS = 20 * MINUTE_MS
DEFAULT_SAVED_COUNTS = {"segments": 25, "reports": 30}
MINIMUM_SAVED_COUNTS = {"segments": 8, "reports": 10}
REPORT_KINDS = ("visitor", "account", "path", "funnel", "retention")
WINDOW_DAYS = (7, 14, 30, 60, 90)  # an item's time window; each edit widens it by a day

SEGMENT_TRAP_NAMES = ('Zoë\'s "power" users', "Admins \\ owners", "Café – Europe", "東京 visitors")
REPORT_TRAP_NAMES = (
    'Weekly "active" visitors',
    "Accounts at C:\\risk\\",
    "Chemins – page d’accueil",
    None,  # the generic name, "Funnel – report 4"
    'Rétention 日本 "cohort"',
)
SEGMENT_WORDS = ("Trial accounts", "Champions", "New this week", "Churn risk", "Admins",
                 "Mobile users", "Enterprise", "Dormant", "Power users", "Beta testers")  # fmt: skip


def saved_counts(scale: float, overrides: dict) -> dict:
    """Segments and reports: 25 and 30 at scale 1, growing with the square root of the scale."""
    counts = {
        name: max(MINIMUM_SAVED_COUNTS[name], round(n * scale**0.5))
        for name, n in DEFAULT_SAVED_COUNTS.items()
    }
    counts.update({name: n for name, n in overrides.items() if name in counts})
    for name, n in counts.items():
        if n < MINIMUM_SAVED_COUNTS[name]:
            raise ValueError(f"at least {MINIMUM_SAVED_COUNTS[name]} {name}: the traps need them")
    return counts


def _tie(count: int) -> range:
    """The items of one bulk edit: a fifth, at least 3, from index 2 on."""
    return range(2, 2 + max(3, count // 5))


class SavedItems:
    """The segments and reports of a subscription, and their edits as the clock moves.

    `new_id(rng)` makes an id, `user(index)` a Pendo user object; `feature_ids`
    and `page_ids` are what the queries refer to.
    """

    def __init__(
        self,
        seed: int,
        start_ms: int,
        counts: dict,
        *,
        new_id: Callable,
        user: Callable,
        feature_ids: list,
        page_ids: list,
    ):
        self.seed = seed
        self.start_ms = start_ms
        self._user = user
        self._features = feature_ids
        self._pages = page_ids
        self.tie = {name: _tie(counts[name]) for name in counts}
        self._base = {
            "segments": self._make_segments(counts["segments"], new_id),
            "reports": self._make_reports(counts["reports"], new_id),
        }
        self._editable = {
            name: [i for i in range(len(items)) if i not in self.tie[name]]
            for name, items in self._base.items()
        }
        self._edits: dict = {name: {} for name in self._base}  # index -> (time, edit count)
        self._rows: dict = {}

    # ------------------------------------------------------------------ build

    def _make_segments(self, count: int, new_id: Callable) -> list:
        rng = random.Random(f"{self.seed}/segments")
        tie_ms = self.start_ms - 5 * DAY_MS - 777
        segments = []
        for i in range(count):
            created = self.start_ms - int((30 + rng.random() * 300) * DAY_MS)
            updated = created + int(rng.random() * (self.start_ms - DAY_MS - created))
            if i < len(SEGMENT_TRAP_NAMES):
                name = SEGMENT_TRAP_NAMES[i]
            else:
                name = f"{SEGMENT_WORDS[i % len(SEGMENT_WORDS)]} {i + 1}"
            segments.append(
                {
                    "id": new_id(rng),
                    "name": name,
                    "shared": i % 3 != 0,
                    "createdAt": created,
                    "createdByUser": self._user(100 + i),
                    "lastUpdatedAt": tie_ms if i in self.tie["segments"] else updated,
                    "lastUpdatedByUser": self._user(101 + i),
                    "pipeline": None,  # drawn by _segment_pipeline
                    "dirty": i % 7 == 3,
                }
            )
        return segments

    def _make_reports(self, count: int, new_id: Callable) -> list:
        rng = random.Random(f"{self.seed}/reports")
        tie_ms = self.start_ms - 8 * DAY_MS - 31_337
        reports = []
        for i in range(count):
            kind = REPORT_KINDS[i % len(REPORT_KINDS)]
            created = self.start_ms - int((30 + rng.random() * 300) * DAY_MS)
            updated = created + int(rng.random() * (self.start_ms - DAY_MS - created))
            if i in self.tie["reports"]:
                updated = tie_ms
            trap = REPORT_TRAP_NAMES[i] if i < len(REPORT_TRAP_NAMES) else None
            level = (
                "account"
                if kind == "account" or (kind == "retention" and i // 5 % 2)
                else "visitor"
            )
            shared = i % 4 != 1
            ran = None if i % 9 == 7 else updated + int(rng.random() * (self.start_ms - updated))
            reports.append(
                {
                    "id": new_id(rng),
                    "name": trap or f"{kind.title()} – report {i + 1}",
                    "kind": kind,
                    "level": level,
                    "shared": shared,
                    "scope": "subscription" if shared else ("user", "app")[i % 2],
                    "definition": None,  # drawn by _report_definition
                    "createdAt": created,
                    "createdByUser": self._user(200 + i),
                    "lastUpdatedAt": updated,
                    "lastUpdatedByUser": self._user(201 + i),
                    "lastRunAt": ran,
                }
            )
        return reports

    def _segment_pipeline(self, i: int, days: int) -> list:
        """A Pendo query, kept verbatim by a tap: its keys are camelCase."""
        recent = f"metadata.auto.lastvisit >= now() - {days} * 24 * 60 * 60 * 1000"
        variant = i % 4
        if variant == 0:
            return [
                {"source": {"visitors": None}},
                {"identified": "visitorId"},
                {"eval": {"isAdmin": 'metadata.custom.role == "admin"'}},
                {"filter": f"isAdmin && {recent}"},
            ]
        if variant == 1:
            return [
                {"source": {"visitors": {"identified": True}}},
                {"filter": f'metadata.agent.name == "Zoë \\"Z\\" Müller" || {recent}'},
                {"select": {"visitorId": "visitorId", "lastVisit": "metadata.auto.lastvisit"}},
            ]
        if variant == 2:
            return [
                {"source": {"accounts": {"appId": -323232}}},
                {"filter": f'metadata.custom.region == "EMEA" && metadata.custom.seatCount > 100 && {recent}'},
                {"sort": ["-metadata.auto.lastvisit"]},
            ]  # fmt: skip
        feature = self._features[i % len(self._features)]
        return [
            {
                "source": {
                    "featureEvents": {"featureId": feature, "appId": 'expandAppIds("*")'},
                    "timeSeries": {"period": "dayRange", "first": "now()", "count": -days},
                }
            },
            {"group": {"group": ["visitorId"], "fields": [{"numEvents": {"sum": "numEvents"}}]}},
            {"filter": "numEvents >= 10"},
        ]

    def _report_definition(self, i: int, kind: str, days: int) -> dict:
        """A report's saved query, kept verbatim by a tap: its keys are camelCase."""
        series = {"period": "dayRange", "first": "now()", "count": -days}
        page = self._pages[i % len(self._pages)]
        feature = self._features[(i * 7) % len(self._features)]
        segment = self._base["segments"][i % len(self._base["segments"])]["id"]
        if kind in ("visitor", "account"):
            return {
                "reportType": f"{kind}List",
                "segmentId": segment if i % 2 else None,
                "timeSeries": series,
                "columns": [
                    {"fieldName": "metadata.auto.lastvisit", "displayName": "Last visit",
                     "sortDirection": "desc"},
                    {"fieldName": "metadata.agent.name", "displayName": 'Name "as sent"'},
                ],
            }  # fmt: skip
        if kind == "path":
            return {
                "startingPoint": {"pageId": page},
                "direction": ("forward", "reverse")[i % 2],
                "maxSteps": 5,
                "excludeUntagged": i % 3 == 0,
                "timeSeries": series,
            }
        if kind == "funnel":
            return {
                "steps": [
                    {"stepName": "Viewed the page", "pageId": page},
                    {"stepName": "Clicked – upgrade", "featureId": feature},
                ],
                "conversionWindowMs": 7 * DAY_MS,
                "segmentId": segment,
                "timeSeries": series,
            }
        return {
            "cohortPeriod": "week",
            "startEvent": {"pageId": page},
            "returnEvent": {"featureId": feature},
            "timeSeries": series,
        }

    # ------------------------------------------------------------------ clock

    def _scheduled_edits(self, slot: int):
        """(list name, index, time) of the edits scheduled in one 20-minute slot."""
        for name, editable in self._editable.items():
            rng = random.Random(f"{self.seed}/edits/{name}/{slot}")
            index = editable[min(int(rng.random() * len(editable)), len(editable) - 1)]
            yield name, index, slot + int(rng.random() * EDIT_SLOT_MS)

    def advance(self, before: int, after: int) -> None:
        """Apply the edits scheduled in (before, after], in time order."""
        if after <= before:
            return
        edits = []
        slot = max(before, self.start_ms)
        slot -= slot % EDIT_SLOT_MS
        while slot <= after:
            edits.extend(
                (moment, name, index)
                for name, index, moment in self._scheduled_edits(slot)
                if before < moment <= after and moment > self.start_ms
            )
            slot += EDIT_SLOT_MS
        for moment, name, index in sorted(edits):
            count = self._edits[name].get(index, (0, 0))[1]
            self._edits[name][index] = (moment, count + 1)
        self._rows.clear()

    # ------------------------------------------------------------------ rows

    def rows(self, name: str) -> list:
        """Every segment or report at the current clock (shared: read them, do not change them)."""
        rows = self._rows.get(name)
        if rows is None:
            rows = self._rows[name] = [self._row(name, i) for i in range(len(self._base[name]))]
        return rows

    def _row(self, name: str, i: int) -> dict:
        base = self._base[name][i]
        moment, count = self._edits[name].get(i, (None, 0))
        days = WINDOW_DAYS[i % len(WINDOW_DAYS)] + count  # never the same after an edit
        row = dict(base)
        if name == "segments":
            row["pipeline"] = self._segment_pipeline(i, days)
        else:
            row["definition"] = self._report_definition(i, base["kind"], days)
        if moment is not None:
            row["lastUpdatedAt"] = moment
            row["lastUpdatedByUser"] = self._user(moment // EDIT_SLOT_MS % 50)
            if name == "reports":
                row["lastRunAt"] = moment
        return row
