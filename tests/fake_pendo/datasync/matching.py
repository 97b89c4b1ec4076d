"""Which events a page, feature or track type matches: first the event it was aimed at
(the rule it was made with), then, once a Pendo user narrows a page's or feature's rule,
only part of them, and none at all in the periods the new rule no longer reaches. A
retroactive export follows such a change."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .events import PeriodEvents


@dataclass(frozen=True)
class NarrowedRule:
    """A rule that leaves out every event of `emptied_days` and one event in four elsewhere."""

    emptied_days: frozenset

    def keeps(self, event_id: str, day: int) -> bool:
        """Whether the narrowed rule still matches this event."""
        return day not in self.emptied_days and zlib.crc32(event_id.encode()) % 4 != 0


class Matcher:
    """The matching rules of every application's pages, features and track types."""

    def __init__(self):
        self.rules: dict[tuple, NarrowedRule] = {}  # (app_id, kind, matchable id) -> rule

    def narrow(self, app_id: int, kind: str, matchable_id: str, emptied_days) -> None:
        """From now on, `matchable_id` matches less (see NarrowedRule)."""
        self.rules[(app_id, kind, matchable_id)] = NarrowedRule(frozenset(emptied_days))

    def matched(self, period: PeriodEvents) -> dict:
        """{(kind, matchable id): rows} of every matchable with rows in `period`; each row
        is the event's row plus `matchableId`, in the order of the period's rows."""
        result: dict[tuple, list] = {}
        for row in period.rows:
            target = period.targets.get(row["eventId"])
            if target and self._keeps(period, target, row["eventId"]):
                result.setdefault(target, []).append({**row, "matchableId": target[1]})
        return result

    def matched_one(self, period: PeriodEvents, kind: str, matchable_id: str) -> list:
        """The rows of `period` that one matchable matches."""
        return self.matched(period).get((kind, matchable_id), [])

    def _keeps(self, period: PeriodEvents, target: tuple, event_id: str) -> bool:
        rule = self.rules.get((period.app_id, *target))
        return rule is None or rule.keeps(event_id, period.day)
