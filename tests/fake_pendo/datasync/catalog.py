"""The definitions of one application: pages, features, track types and guides, as rows
of allpages, allfeatures, alltracktypes and allguides, plus what the event maker needs
to aim at them (a page's URL path, a feature's element, a guide's steps and polls).

Rows are replaced, never changed in place, so that an export's snapshot stays as it was.
"""

from __future__ import annotations

import json
import random

from .days import DAY_MS, start_ms
from .words import (
    AWKWARD_NAMES,
    DEFAULT_APP,
    ELEMENT_TEXTS,
    PAGE_WORDS,
    POLL_TYPES,
    TRACK_NAMES,
    pendo_id,
    pick,
)

# Definitions of each app at scale 1.
COUNTS = {
    DEFAULT_APP: {"Page": 12, "Feature": 18, "TrackType": 6, "Guide": 8},
    "other": {"Page": 6, "Feature": 8, "TrackType": 3, "Guide": 4},
}
ID_FIELDS = {
    "Page": "pageId",
    "Feature": "featureId",
    "TrackType": "trackTypeId",
    "Guide": "guideId",
}
ELEMENT_TYPES = ("BUTTON", "A", "INPUT", "SELECT", "FORM")
GUIDE_STATES = ("public", "public", "draft", "disabled", "staged")
LAUNCH_METHODS = ("auto", "badge", "launcher", "api", "dom")


class Catalog:
    """The definitions of application `app_id`, created before `created_before_ms`."""

    def __init__(self, app_id: int, seed: int, scale: float, created_before_ms: int):
        self.app_id = app_id
        self.seed = seed
        self._rng = random.Random(f"{seed}/catalog/{app_id}")
        self.rows: dict[str, dict[str, dict]] = {kind: {} for kind in ID_FIELDS}
        self.page_paths: dict[str, str] = {}
        self.elements: dict[str, tuple] = {}  # featureId -> (uiElementId, type, elementPath)
        self.steps: dict[str, list] = {}  # guideId -> steps, each with its polls
        counts = COUNTS.get(app_id, COUNTS["other"])
        for kind in ID_FIELDS:
            for _ in range(max(2, round(counts[kind] * scale))):
                created = created_before_ms - self._rng.randrange(30 * DAY_MS, 400 * DAY_MS)
                self.add(kind, created)

    def add(self, kind: str, created_ms: int) -> str:
        """A new definition of `kind` created at `created_ms`; returns its id."""
        rng = self._rng
        new_id = pendo_id(rng)
        number = len(self.rows[kind]) + 1
        row = {
            ID_FIELDS[kind]: new_id,
            "name": "",
            "kind": kind,
            "createdAt": created_ms,
            "lastUpdatedAt": created_ms + rng.randrange(DAY_MS),
            "isCoreEvent": rng.random() < 0.2,
        }
        if kind == "Page":
            slug = f"{pick(rng, PAGE_WORDS)}-{number}"
            self.page_paths[new_id] = f"/p/{slug}"
            row["name"] = AWKWARD_NAMES[number % 5] if number % 4 == 0 else slug.title()
            row["rulesJson"] = json.dumps([{"rule": f"//*/p/{slug}", "parsedRule": f"^/p/{slug}$"}])
        elif kind == "Feature":
            pages = list(self.rows["Page"])
            element_id = f"el-{number}"
            element_type = pick(rng, ELEMENT_TYPES)
            path = f'div.main > {element_type.lower()}#{element_id}[data-label="{number}"]'
            self.elements[new_id] = (element_id, element_type, path)
            row["name"] = f"{pick(rng, ELEMENT_TEXTS)} ({number})"
            row["pageId"] = None if number % 5 == 0 else pick(rng, pages)
            row["elementPathRulesJson"] = json.dumps([path])
        elif kind == "TrackType":
            row["name"] = TRACK_NAMES[(number - 1) % len(TRACK_NAMES)] + (
                "" if number <= len(TRACK_NAMES) else f" {number}"
            )
        else:
            self._add_guide_fields(row, new_id, number)
        self.rows[kind][new_id] = row
        return new_id

    def _add_guide_fields(self, row: dict, guide_id: str, number: int) -> None:
        rng = self._rng
        steps = []
        for step_number in range(1 + (number % 3)):
            polls = []
            if number % 2 == 0 and step_number == 0:
                polls = [(pendo_id(rng), POLL_TYPES[n % 4]) for n in range(number, number + 2)]
            steps.append({"id": pendo_id(rng), "polls": polls})
        self.steps[guide_id] = steps
        state = GUIDE_STATES[number % len(GUIDE_STATES)]
        row["name"] = f"Onboarding tour {number}" if number % 3 else f'Guide "{number}" — ñ'
        row["state"] = state
        row["launchMethod"] = LAUNCH_METHODS[number % len(LAUNCH_METHODS)]
        row["isMultiStep"] = len(steps) > 1
        row["isTraining"] = number % 4 == 1
        row["publishedAt"] = None if state == "draft" else row["lastUpdatedAt"]
        row["stepsJson"] = json.dumps(
            [
                {
                    "id": step["id"],
                    "type": "poll" if step["polls"] else "lightbox",
                    "pollIds": [poll_id for poll_id, _ in step["polls"]],
                    "name": f"Step {index + 1}",
                }
                for index, step in enumerate(steps)
            ],
            ensure_ascii=False,
        )

    def ids(self, kind: str, at_ms: int) -> list:
        """The ids of `kind` that exist at `at_ms`, oldest first."""
        return [key for key, row in self.rows[kind].items() if row["createdAt"] <= at_ms]

    def touch(self, day: int) -> list:
        """Pendo users edit a few definitions during `day`, and now and then add a feature;
        returns the (kind, id) changed."""
        rng = random.Random(f"{self.seed}/touch/{self.app_id}/{day}")
        changed = []
        for _ in range(1 + rng.randrange(2)):
            kind = pick(rng, tuple(ID_FIELDS))
            key = pick(rng, list(self.rows[kind]))
            row = dict(self.rows[kind][key])
            row["lastUpdatedAt"] = start_ms(day) + rng.randrange(DAY_MS)
            row["name"] = row["name"].rstrip(" *") + " *"
            self.rows[kind][key] = row
            changed.append((kind, key))
        if day % 3 == 0:
            changed.append(("Feature", self.add("Feature", start_ms(day) + rng.randrange(DAY_MS))))
        return changed

    def change_rule(self, kind: str, key: str, at_ms: int) -> None:
        """A Pendo user narrows the rule of a page or feature (what a retroactive export follows)."""
        row = dict(self.rows[kind][key])
        row["lastUpdatedAt"] = at_ms
        field = "rulesJson" if kind == "Page" else "elementPathRulesJson"
        rules = json.loads(row[field])
        rules.append({"rule": "narrowed", "excludes": "legacy sessions"})
        row[field] = json.dumps(rules)
        self.rows[kind][key] = row

    def snapshot(self, kind: str) -> list:
        """The rows of `kind` as an export writes them now."""
        return list(self.rows[kind].values())
