"""visitor_history: one request per visitor and 24-hour slice, only for the slices in
which the visitor can have activity.

The visitors whose activity overlaps the sync come from the `visitors` listing (the
same pagination that the `visitors` stream reads, when both are selected): for each, the
listing hands the executor a group of HistoryDay units, which run like any other.
"""

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

from ..config import Config
from ..errors import PendoError, StateError
from ..pendo import aggregation as agg
from ..pendo.paging import path_value
from ..streams import StreamDef, VisitorHistory
from ..timefmt import DAY_MS, MINUTE_MS, ms_to_rfc3339, parse_datetime_ms
from ..transform import optional_ms
from .base import (
    OfOneStream,
    PlanEntry,
    ReadContext,
    bookmark_ms,
    bookmark_value,
    check_date,
    check_dates,
    check_position,
    reread_from,
    upper_ms,
)
from .items import Spawn, UnitEnd
from .listing import listing_unit, passed

# Pendo answers [] for a `starttime` older than the history it keeps; the margin keeps the
# first request inside the limit when Pendo's clock runs a little ahead.
CLOCK_MARGIN_MS = 15 * MINUTE_MS


@dataclass(frozen=True)
class HistoryScope:
    """The slices this run reads, which visitors it asks about, and the bookmark it leaves."""

    stream: StreamDef
    range_start_ms: int  # the first 24-hour slice starts here
    range_end_ms: int  # no slice starts at or after it, and no item is written from it on
    bookmark_ms: Optional[int]  # where the last finished run started
    run_started_ms: int  # the bookmark once the run is over
    position: Optional[list]  # the last visitor an interrupted run finished
    # The visitor an interrupted run was in, and the last of its days it wrote.
    partial: Optional[list]
    app_ids: tuple
    include_anonymous: bool

    takes_rows = False  # it learns its visitors from the listing; its rows are history items

    @property
    def kind(self) -> "HistoryKind":
        return HISTORY

    @property
    def unit_group(self):
        return self.stream.listing

    @property
    def resume_position(self) -> Optional[list]:
        return self.position

    @property
    def facts(self) -> VisitorHistory:
        return self.stream.history

    @property
    def where(self) -> str:
        """Visitors who can have activity in the range and whose data Pendo may process."""
        facts = self.facts
        return agg.all_of(
            f"!({facts.do_not_process} == true)",
            agg.at_or_after(facts.last_visit, self.range_start_ms),
        )

    def wants(self, row: dict) -> bool:
        """Can this listed visitor have history to replicate?"""
        facts = self.facts
        if path_value(row, facts.do_not_process) is True:
            return False
        anonymous = str(row.get(facts.visitor_id)).startswith(facts.anonymous_prefix)
        if anonymous and not self.include_anonymous:
            return False
        last_visit = optional_ms(path_value(row, facts.last_visit))
        return last_visit is not None and last_visit >= self.range_start_ms

    def days(self, row: dict) -> list:
        """Starts of the 24-hour slices that can hold this visitor's activity."""
        first_visit = optional_ms(path_value(row, self.facts.first_visit))
        last_visit = optional_ms(path_value(row, self.facts.last_visit))
        low = max(self.range_start_ms, first_visit or self.range_start_ms)
        high = min(last_visit, self.range_end_ms - 1)
        if high < low:
            return []
        first = (low - self.range_start_ms) // DAY_MS
        last = (high - self.range_start_ms) // DAY_MS
        return [self.range_start_ms + k * DAY_MS for k in range(first, last + 1)]

    def take(self, row: dict, position: list) -> Iterator:
        """A listed visitor's history requests, as one group of units."""
        if passed(position, self.position) and self.wants(row):
            visitor_id = row.get(self.facts.visitor_id)
            days = self.days(row)
            if self.partial is not None and position == self.partial[0]:
                days = [day for day in days if day > self.partial[1]]
            units = tuple(HistoryDay(self, visitor_id, day) for day in days)
            yield Spawn(self.stream.name, position, units, throttled=True)

    def rows(self, visitor_id, items: list) -> Iterator[dict]:
        """History items as rows with their visitor and the time they were last modified.

        Items of the lookback day are written again: Pendo's history arrives
        hours late, so an item older than the bookmark can be new to us. A slice
        can reach past the range's end (end_date, or the start of the run): its
        items from there on belong to a later run.
        """
        facts = self.facts
        for item in items:
            if not isinstance(item, dict):
                raise PendoError(
                    f"stream '{self.stream.name}': Pendo sent {item!r} where a history item was "
                    "expected"
                )
            if self.app_ids and item.get(facts.item_app) not in self.app_ids:
                continue
            ts = optional_ms(item.get(facts.item_time))
            if ts is not None and ts >= self.range_end_ms:
                continue
            moments = [ts, optional_ms(item.get(facts.item_last_time))]
            modified = max((m for m in moments if m is not None), default=None)
            yield {**item, facts.visitor_id: visitor_id, facts.modified: modified}

    def progress(self, position: Optional[list], partial: Optional[list] = None) -> dict:
        """The bookmark while the run is under way: after the visitor at `position`, and
        `partial`: the visitor under way and the last of its days written."""
        entry = {**self._unchanged(), "run_started": ms_to_rfc3339(self.run_started_ms)}
        if position is not None:
            entry["after"] = position
        if partial is not None:
            entry["visitor"] = partial
        return entry

    def finished(self) -> dict:
        """Signposted to the start of the run: activity during it is read next time."""
        return {self.stream.replication_key: ms_to_rfc3339(self.run_started_ms)}

    def _unchanged(self) -> dict:
        if self.bookmark_ms is None:
            return {}
        return {self.stream.replication_key: ms_to_rfc3339(self.bookmark_ms)}

    def describe(self) -> str:
        return (
            f"24-hour slices from {ms_to_rfc3339(self.range_start_ms)} to "
            f"{ms_to_rfc3339(self.range_end_ms)}, one request per listed visitor and slice "
            "of activity"
        )


@dataclass(frozen=True, eq=False)
class HistoryDay(OfOneStream):
    """One visitor's history in the 24 hours from `day_ms`."""

    scope: HistoryScope
    visitor_id: str
    day_ms: int

    state_at_end = False  # days are many and short: their STATEs come a second apart

    def describe(self) -> str:
        return f"history from {ms_to_rfc3339(self.day_ms)}"

    def as_json(self) -> dict:
        return {"kind": HISTORY.name, "day": ms_to_rfc3339(self.day_ms)}


def read_history_day(ctx: ReadContext, unit: HistoryDay) -> Iterator:
    """The visitor's history items of that slice, as rows."""
    path = f"/api/v1/visitor/{quote(str(unit.visitor_id), safe='')}/history"
    items = ctx.client.get_json(path, unit.stream, {"starttime": unit.day_ms}, quiet=True)
    if not isinstance(items, list):
        raise PendoError(
            f"stream '{unit.stream}': Pendo answered {type(items).__name__} where a list "
            f"was expected from {path}: check api_url or the region"
        )
    yield from unit.scope.rows(unit.visitor_id, items)
    yield UnitEnd()


class HistoryCheckpoint:
    """visitor_history: visitors in listing order, each done once all its days are written;
    the stream is finished once the listing is over and every listed visitor is done."""

    def __init__(self, scope: HistoryScope, first_units: tuple):
        self.scope = scope
        (self._listing,) = first_units
        self._visitors: deque = deque()  # [listing position, days not written yet]
        self._listed = False
        self._after = scope.position  # the last visitor whose days are all written
        self._partial = scope.partial  # the visitor under way, and its last day written
        self.finished = False
        self.entry: Optional[dict] = scope.progress(scope.position, scope.partial)

    def spawned(self, spawn: Spawn) -> None:
        self._visitors.append([spawn.group, len(spawn.units)])
        self._moved()

    def written(self, day, position) -> None:
        """A day's rows are written whole; its end follows."""

    def done(self, unit, end) -> None:
        if unit is self._listing:
            self._listed = True
        else:
            visitor = self._visitors[0]
            visitor[1] -= 1
            self._partial = [visitor[0], unit.day_ms]
        self._moved()

    def done_line(self, unit, rows: int) -> None:
        return None

    def _moved(self) -> None:
        while self._visitors and self._visitors[0][1] == 0:
            self._after = self._visitors.popleft()[0]
            self._partial = None
        self.finished = self._listed and not self._visitors
        if self.finished:
            self.entry = self.scope.finished()
        else:
            self.entry = self.scope.progress(self._after, self._partial)


def kept_ms(stream: StreamDef) -> int:
    """How far back this run asks for history: what Pendo keeps, less a margin."""
    return stream.history.kept_days * DAY_MS - CLOCK_MARGIN_MS


class HistoryKind:
    """visitor_history: GET /visitor/{id}/history, one unit per visitor and 24-hour slice;
    the visitors come from the visitors listing."""

    name = "history"

    def scope(self, config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
        bookmark = bookmark_ms(state, stream, config.period)
        run_started = bookmark_value(state, stream, "run_started")
        high = upper_ms(config, sync_start_ms)
        return HistoryScope(
            stream=stream,
            range_start_ms=max(reread_from(config, bookmark), sync_start_ms - kept_ms(stream)),
            range_end_ms=high,
            bookmark_ms=bookmark,
            # A resumed run keeps the first attempt's start, so the bookmark never
            # passes what the interrupted attempt did not read.
            run_started_ms=parse_datetime_ms(run_started) if run_started else high,
            position=bookmark_value(state, stream, "after"),
            partial=bookmark_value(state, stream, "visitor"),
            app_ids=config.app_ids,
            include_anonymous=config.include_anonymous_visitors,
        )

    def first_units(self, config: Config, scopes: tuple) -> tuple:
        return (listing_unit(config, scopes),)

    def read(self, ctx: ReadContext, unit: HistoryDay) -> Iterator:
        return read_history_day(ctx, unit)

    def checkpoint(self, scope: HistoryScope, first_units: tuple) -> HistoryCheckpoint:
        return HistoryCheckpoint(scope, first_units)

    def check_bookmark(self, stream: StreamDef, bookmark: dict, period: str) -> None:
        check_dates(stream, bookmark, period)
        length = len(stream.listing.order)
        check_date(stream.name, "run_started", bookmark.get("run_started"))
        check_position(stream.name, "after", bookmark.get("after"), length)
        partial = bookmark.get("visitor")
        if partial is None:
            return
        if not (isinstance(partial, list) and len(partial) == 2 and type(partial[1]) is int):
            raise StateError(
                f"state bookmark '{stream.name}.visitor' is {str(partial)[:80]}, not [position, "
                "day]: remove it to restart that visitor's history"
            )
        check_position(stream.name, "visitor", partial[0], length)

    def plan_entry(self, scope: HistoryScope, units: tuple) -> PlanEntry:
        (unit,) = units
        name = scope.stream.name
        shared = [stream for stream in unit.checkpointed_streams if stream != name]
        listing = unit.describe() + (f", shared with {', '.join(shared)}" if shared else "")
        return PlanEntry(
            text=f"{scope.describe()}; visitors from the {listing}",
            requests=1 if unit.stream == name else 0,
            bounds={
                "from": ms_to_rfc3339(scope.range_start_ms),
                "to": ms_to_rfc3339(scope.range_end_ms),
            },
            units=(unit.as_json(),),
            more_requests="one per visitor and day of history",
        )


HISTORY = HistoryKind()
