"""The dataset's catalog: base rows of pages, features, guides and track types.

A mixin of `Dataset` (dataset.py), called by `_build_population`
(population.py), which sets up the lists it fills: `_entities`, `_tie`,
`_page_paths`, `_feature_pages`, `_guide_steps` and `_guide_polls`. It also
builds the pools of targets that units draw from (`_make_pools`), and the URL
of a page where a guide showed (`_page_url`, for guide events and history).
The base rows never change; `entity_rows.py` lays the scheduled updates over
them.
"""

from __future__ import annotations

import random

from .constants import (
    DAY_MS,
    FEATURE_WORDS,
    GUIDE,
    KIND_SOURCES,
    PAGE_WORDS,
    POLL,
    POLL_QUESTIONS,
    POLL_TYPES,
    TRACK_NAMES,
    TRAP_ENTITY_IDS,
)
from .values import _base62, _pendo_id, _pick, _user


def _tie_size(count: int) -> int:
    """How many of `count` entities share one lastUpdatedAt: 32 or a fifth, at most 90 %."""
    return min(max(32, count // 5), count * 9 // 10)


class CatalogMixin:
    """Pages, features, guides (with steps and polls) and track types; the units' target pools."""

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

    def _page_url(self, server: str, app: int, moment: int) -> str:
        """The URL of a page of the app, where a guide showed at `moment`."""
        page = _pick(self._pages_by_app[app], moment % 997 / 997)
        return f"https://{server}{self._page_paths[page]}"
