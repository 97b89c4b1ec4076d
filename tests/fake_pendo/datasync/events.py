"""The raw events of one application and one UTC day, with every field of the contract's
Events table, and the late data that a finalized day brings (rows added, rows dropped,
a value corrected).

A day's events are a `PeriodEvents`: its rows (Avro field names, epoch ms, `periodId` as
a day number), sorted by `browserTimestamp`, and the target each matchable event was
aimed at (`("Page", pageId)`, ...), which the matching rules start from.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from .catalog import Catalog
from .days import DAY_MS, is_weekend, start_ms
from .people import ANONYMOUS_PREFIX, People
from .schemas import ADDED_EVENT_FIELD, EVENT_FIELDS
from .words import (
    DEFAULT_APP,
    ELEMENT_TEXTS,
    FREE_TEXT_ANSWERS,
    FRUSTRATIONS,
    MOBILE_AGENTS,
    REGIONS,
    WEB_AGENTS,
    WEB_SERVERS,
    hex_id,
    pick,
)

EVENTS_PER_DAY = {DEFAULT_APP: 150, "other": 60}  # weekdays at scale 1; weekends half
WEEKEND_SHARE = 0.5
# Cumulative shares of the kinds of event.
KINDS = (("load", 0.32), ("interaction", 0.62), ("track", 0.74), ("guide", 0.94), ("poll", 1.0))
INTERACTIONS = ("click", "click", "click", "click", "focus", "change", "submit")
GUIDE_TYPES = (
    ("guideSeen", 0.4),
    ("guideAdvanced", 0.6),
    ("guideDismissed", 0.75),
    ("guideSnoozed", 0.8),
    ("guideActivity", 0.9),
    ("guideTimeout", 1.0),
)
SEEN_REASONS = ("auto", "launcher", "badge", "continue", "api")
_EMPTY_ROW = dict.fromkeys(name for name, _, _ in (*EVENT_FIELDS, ADDED_EVENT_FIELD))


@dataclass
class PeriodEvents:
    """The events of one application and day, as one export gives them."""

    app_id: int
    day: int
    rows: list
    targets: dict = field(default_factory=dict)  # eventId -> (kind, matchable id)


@dataclass
class LateChange:
    """How a finalized day differs from what an earlier export gave for it."""

    app_id: int
    day: int
    added: list
    dropped: list
    changed: list  # eventIds kept with a corrected `region`


def _cumulative_pick(rng: random.Random, table) -> str:
    draw = rng.random()
    return next(name for name, bound in table if draw < bound)


class EventMaker:
    """Makes the events of a day, aimed at the definitions and visitors of the moment."""

    def __init__(self, seed: int, scale: float, catalogs: dict, people: People):
        self.seed = seed
        self.scale = scale
        self.catalogs = catalogs
        self.people = people

    def day(self, app_id: int, day: int) -> PeriodEvents:
        """The events of `app_id` on `day`, as first exported."""
        rng = random.Random(f"{self.seed}/events/{app_id}/{day}")
        base = EVENTS_PER_DAY.get(app_id, EVENTS_PER_DAY["other"]) * self.scale
        count = round(base * (WEEKEND_SHARE if is_weekend(day) else 1) * rng.uniform(0.8, 1.2))
        period = PeriodEvents(app_id, day, [])
        self._add_events(period, rng, max(1, count), set())
        return period

    def finalize(self, earlier: PeriodEvents, version: int) -> tuple:
        """The day's final events: some rows of `earlier` dropped, one or more with a
        corrected value, late rows added. Returns (PeriodEvents, LateChange)."""
        rng = random.Random(f"{self.seed}/late/{earlier.app_id}/{earlier.day}/{version}")
        rows = list(earlier.rows)
        dropped = rng.sample(rows, max(1, len(rows) // 25)) if rows else []
        dropped_ids = {row["eventId"] for row in dropped}
        kept = [row for row in rows if row["eventId"] not in dropped_ids]
        changed_ids = set()
        for index in rng.sample(range(len(kept)), min(len(kept), max(1, len(kept) // 50))):
            row = dict(kept[index])
            row["region"] = pick(rng, [region for region in REGIONS if region != row["region"]])
            kept[index] = row
            changed_ids.add(row["eventId"])
        period = PeriodEvents(
            earlier.app_id,
            earlier.day,
            kept,
            {key: target for key, target in earlier.targets.items() if key not in dropped_ids},
        )
        taken = {row["eventId"] for row in rows}
        added = self._add_events(period, rng, max(1, len(rows) // 12), taken)
        change = LateChange(
            earlier.app_id, earlier.day, added, sorted(dropped_ids), sorted(changed_ids)
        )
        return period, change

    def _add_events(self, period: PeriodEvents, rng: random.Random, count: int, taken: set):
        """Adds `count` new events to `period` (kept sorted); returns their eventIds."""
        app_id, day = period.app_id, period.day
        catalog = self.catalogs[app_id]
        visitors = self.people.visitors_of(app_id)
        new_ids = []
        for _ in range(count):
            at_ms = start_ms(day) + rng.randrange(DAY_MS)
            event_id = hex_id(rng, 20)
            while event_id in taken:
                event_id = hex_id(rng, 20)
            taken.add(event_id)
            row, target = self._event(rng, catalog, pick(rng, visitors), at_ms)
            row["periodId"] = day
            row["eventId"] = event_id
            period.rows.append(row)
            if target:
                period.targets[event_id] = target
            new_ids.append(event_id)
        period.rows.sort(key=lambda row: (row["browserTimestamp"], row["eventId"]))
        return new_ids

    def _event(self, rng: random.Random, catalog: Catalog, visitor_id: str, at_ms: int):
        """One event of a random kind; returns (row, target or None)."""
        row = self._context(rng, catalog, visitor_id, at_ms)
        kind = _cumulative_pick(rng, KINDS)
        if kind == "load":
            return self._load(rng, catalog, row, at_ms)
        if kind == "interaction":
            return self._interaction(rng, catalog, row, at_ms)
        if kind == "track":
            return self._track(rng, catalog, row, at_ms)
        return self._guide(rng, catalog, row, at_ms, poll=kind == "poll"), None

    def _context(self, rng, catalog: Catalog, visitor_id: str, at_ms: int) -> dict:
        place, agent, language = self.people.context[visitor_id]
        row = dict(_EMPTY_ROW)
        row["browserTimestamp"] = at_ms
        row["visitorId"] = visitor_id
        row["accountId"] = self.people.account_of[visitor_id]
        row["eventSource"] = "browser"
        row["language"] = language
        if place:
            row["country"], row["region"], latitude, longitude = place
            # A little jitter, and now and then no position at all.
            if rng.random() < 0.8:
                row["latitude"] = round(latitude + rng.uniform(-0.05, 0.05), 6)
                row["longitude"] = round(longitude + rng.uniform(-0.05, 0.05), 6)
        if catalog.app_id == DEFAULT_APP:
            row["eventClass"] = "web"
            row["server"] = pick(rng, WEB_SERVERS)
            row["userAgent"] = WEB_AGENTS[agent]
            row["remoteIp"] = f"203.0.113.{rng.randrange(1, 255)}"
        else:
            row["eventClass"] = "ios" if agent < 2 else "android"
            row["userAgent"] = MOBILE_AGENTS[row["eventClass"]]
            row["remoteIp"] = f"2001:db8::{rng.randrange(1, 0xFFFF):x}"
        return row

    def _page_url(self, row: dict, path: str) -> str:
        if row["eventClass"] == "web":
            return f"https://{row['server']}{path}?ref=nav&q=caf%C3%A9"
        return f"acme://app{path}"

    def _load(self, rng, catalog: Catalog, row: dict, at_ms: int):
        row["eventType"] = "load"
        row["loadDurationMs"] = rng.randrange(80, 6000)
        pages = catalog.ids("Page", at_ms)
        if rng.random() < 0.06:  # a page no rule matches
            row["url"] = self._page_url(row, f"/untagged/{rng.randrange(100)}/ü")
            return row, None
        page_id = pick(rng, pages)
        row["url"] = self._page_url(row, catalog.page_paths[page_id])
        visitor = row["visitorId"]
        if rng.random() < 0.03 and not visitor.startswith(ANONYMOUS_PREFIX):
            row["oldVisitorId"] = f"{ANONYMOUS_PREFIX}{hex_id(rng, 16)}"  # identified just now
        return row, ("Page", page_id)

    def _interaction(self, rng, catalog: Catalog, row: dict, at_ms: int):
        event_type = pick(rng, INTERACTIONS)
        row["eventType"] = event_type
        row["uiElementText"] = pick(rng, ELEMENT_TEXTS)
        if event_type == "click" and rng.random() < 0.1:
            row["frustrationType"] = pick(rng, FRUSTRATIONS)
        features = catalog.ids("Feature", at_ms)
        if rng.random() < 0.2:  # an element no feature rule matches
            element_id, element_type = f"free-{rng.randrange(50)}", "DIV"
            path, target = f"div.content > div#{element_id}", None
            page_path = catalog.page_paths[pick(rng, catalog.ids("Page", at_ms))]
        else:
            feature_id = pick(rng, features)
            element_id, element_type, path = catalog.elements[feature_id]
            target = ("Feature", feature_id)
            page_id = catalog.rows["Feature"][feature_id]["pageId"]
            page_path = catalog.page_paths.get(page_id, "/p/anywhere")
        row["uiElementId"] = element_id
        row["uiElementType"] = element_type
        row["uiElementActions"] = json.dumps(
            [{"action": event_type, "selector": f"#{element_id}", "label": row["uiElementText"]}],
            ensure_ascii=False,
        )
        row["url"] = self._page_url(row, page_path)
        if row["eventClass"] == "web":
            row["elementPath"] = path
        return row, target

    def _track(self, rng, catalog: Catalog, row: dict, at_ms: int):
        row["eventType"] = "track"
        if rng.random() < 0.3:  # sent by the customer's server: no browser context
            row["eventSource"] = "server"
            for name in ("server", "userAgent", "remoteIp", "country", "region"):
                row[name] = None
            row["latitude"] = row["longitude"] = None
        properties = {"amount": rng.randrange(1, 999), "currency": "EUR", "note": 'naïve "quote"'}
        if rng.random() < 0.2:
            properties["nested"] = {"items": [1, 2], "path": "C:\\tmp"}
        row["propertiesJson"] = json.dumps(properties, ensure_ascii=False)
        if rng.random() < 0.1:  # a track event no track type is defined for
            row["trackTypeName"] = "Debug Ping"
            return row, None
        track_id = pick(rng, catalog.ids("TrackType", at_ms))
        row["trackTypeName"] = catalog.rows["TrackType"][track_id]["name"]
        return row, ("TrackType", track_id)

    def _guide(self, rng, catalog: Catalog, row: dict, at_ms: int, poll: bool) -> dict:
        guides = catalog.ids("Guide", at_ms)
        with_polls = [key for key in guides if any(step["polls"] for step in catalog.steps[key])]
        guide_id = pick(rng, with_polls) if poll and with_polls else pick(rng, guides)
        steps = catalog.steps[guide_id]
        row["guideId"] = guide_id
        row["guideSessionId"] = hex_id(rng, 24)
        if poll and with_polls:
            step = next(step for step in steps if step["polls"])
            poll_id, poll_type = pick(rng, step["polls"])
            row["eventType"] = "pollResponse"
            row["guideStepId"] = step["id"]
            row["pollId"] = poll_id
            row["pollType"] = poll_type
            row["pollResponse"] = {
                "NPSRating": str(rng.randrange(11)),
                "NumberScale": str(rng.randrange(1, 6)),
                "FreeForm": pick(rng, FREE_TEXT_ANSWERS),
                "MultipleChoice": pick(rng, ("Option A", "Option B", "Autre…")),
            }[poll_type]
            return row
        index = rng.randrange(len(steps))
        row["guideStepId"] = steps[index]["id"]
        event_type = _cumulative_pick(rng, GUIDE_TYPES)
        row["eventType"] = event_type
        if event_type == "guideSeen":
            row["guideSeenReason"] = pick(rng, SEEN_REASONS)
        elif event_type == "guideAdvanced" and index + 1 < len(steps):
            row["destinationStepId"] = steps[index + 1]["id"]
        elif event_type == "guideSnoozed":
            row["guideSnoozeDurationMs"] = pick(rng, (3_600_000, 86_400_000, 604_800_000))
        elif event_type == "guideTimeout":
            row["guideSeenTimeoutMs"] = rng.randrange(5_000, 120_000)
        elif event_type == "guideActivity":
            row["uiElementId"] = "pendo-button-next"
            row["uiElementType"] = "BUTTON"
            row["uiElementText"] = pick(rng, ELEMENT_TEXTS)
            row["uiElementActions"] = json.dumps([{"action": "advanceGuide"}])
        return row
