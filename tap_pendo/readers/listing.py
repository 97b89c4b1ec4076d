"""Entity streams (accounts, visitors, features, pages, guides, track types, and the guide
steps and polls inside guides): one keyset pagination of their source, a listing, which every
stream riding on that source reads once (visitor_history lists its visitors there too)."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ..config import Config
from ..pendo import aggregation as agg
from ..pendo.paging import PagingEnd, keyset_rows, position_of
from ..streams import Listing, StreamDef
from ..timefmt import ms_to_rfc3339
from ..transform import optional_ms
from .base import (
    PlanEntry,
    ReadContext,
    SinceBookmark,
    bookmark_ms,
    bookmark_value,
    check_dates,
    check_position,
)
from .items import StreamRow, UnitEnd


def sort_key(position: Optional[list]) -> list:
    """Positions compare as the listing sorts: nulls first."""
    return [] if position is None else [(v is not None, v) for v in position]


def passed(position: list, done: Optional[list]) -> bool:
    """Is `position` past `done`, the last position already finished?"""
    return done is None or sort_key(position) > sort_key(done)


@dataclass(frozen=True)
class EntityScope(SinceBookmark):
    """Which rows of an entity stream this run writes, and how its bookmark moves.

    A finished run's bookmark keeps, besides the newest date, the keyset position of its
    newest row (`newest`): the next run reads the rows past it, so rows that share the
    newest date (a bulk edit ties hundreds) do not come again every run. Rows without a
    date cannot be tracked and always come. An older bookmark, without `newest`, reads
    from its date on, ties included.
    """

    stream: StreamDef
    key: str  # the bookmark key
    bookmark_ms: Optional[int]  # rows dated before it were written by an earlier run
    newest: Optional[list]  # the listing position of the newest row an earlier run wrote
    start_ms: int
    position: Optional[list]  # the listing position where an interrupted run stopped
    sync_start_ms: int

    takes_rows = True  # its rows are the listing's own (visitor_history only learns from them)

    @property
    def kind(self) -> "ListingKind":
        return LISTING

    @property
    def unit_group(self) -> Listing:
        return self.stream.listing

    @property
    def resume_position(self) -> Optional[list]:
        return self.position

    @property
    def where(self) -> str:
        """`wants`, as Pendo's filter."""
        field = self.stream.replication_path
        if self.newest is None:
            return agg.unset_or_since(field, self.since_ms)
        return agg.any_of(agg.unset(field), agg.after(self.stream.listing.order, self.newest))

    def wants_row(self, row: dict, position: list) -> bool:
        """Is this listed row one this run writes? (`where`, row by row.)"""
        if self.newest is None:
            return self.wants(row)
        return optional_ms(position[0]) is None or passed(position, self.newest)

    def take(self, row: dict, position: list) -> Iterator:
        """This stream's rows in one row of a shared listing."""
        if passed(position, self.position) and self.wants_row(row, position):
            rows_of = self.stream.rows_of
            for own in rows_of(row) if rows_of else (row,):
                yield StreamRow(self.stream.name, own, position)

    def progress(self, position: Optional[list]) -> dict:
        """The bookmark while the pages are read: unchanged, plus where it is (never
        before where this stream had already been, when a shared listing started earlier)."""
        if position is None or not passed(position, self.position):
            position = self.position
        return (
            {**self._unchanged(), "after": position} if position is not None else self._unchanged()
        )

    def finished(self, position: Optional[list]) -> dict:
        """The bookmark once the pages are over, `position` being its last row."""
        # Rows are sorted by date, so the last position holds the newest one.
        newest_ms = optional_ms(position[0]) if position else None
        if (
            newest_ms is None
            or not passed(position, self.newest)
            or (self.bookmark_ms is not None and newest_ms < self.bookmark_ms)
        ):
            return (
                self._unchanged()
            )  # no dated row past the bookmark (a listing shared with history)
        if newest_ms > self.sync_start_ms:
            # Never past the start of the sync: rows changed while it ran come again.
            return {self.key: ms_to_rfc3339(self.sync_start_ms)}
        return {self.key: ms_to_rfc3339(newest_ms), "newest": position}

    def _unchanged(self) -> dict:
        if self.bookmark_ms is None:
            return {}
        kept = {self.key: ms_to_rfc3339(self.bookmark_ms)}
        return {**kept, "newest": self.newest} if self.newest is not None else kept


@dataclass(frozen=True, eq=False)
class ListingUnit:
    """One keyset pagination of a source, for every stream that rides on it (its consumers:
    EntityScopes, or a HistoryScope that lists visitors)."""

    listing: Listing
    consumers: tuple
    params: Optional[dict]
    record_limit: int

    state_at_end = True

    @property
    def kind(self) -> "ListingKind":
        return LISTING

    @property
    def stream(self) -> str:
        """The stream whose rows are the plain rows of this unit (the first consumer)."""
        return self.consumers[0].stream.name

    @property
    def streams(self) -> tuple:
        """The streams whose rows this unit reads."""
        return tuple(c.stream.name for c in self.consumers if c.takes_rows)

    @property
    def checkpointed_streams(self) -> tuple:
        """The streams whose checkpoints follow this unit: its consumers."""
        return tuple(c.stream.name for c in self.consumers)

    def position_of(self, row: dict) -> list:
        """Where a row of this listing lies, in the listing's order."""
        return position_of(row, self.listing.order)

    @property
    def start(self) -> Optional[list]:
        """Where the pages start: before the earliest consumer's resume position."""
        positions = [c.position for c in self.consumers]
        return None if None in positions else min(positions, key=sort_key)

    @property
    def where(self) -> Optional[str]:
        return agg.any_of(*(c.where for c in self.consumers))

    @property
    def plain(self) -> bool:
        """One consumer that takes every row as it comes: no filtering here at all."""
        (first, *others) = self.consumers
        return (
            not others
            and first.takes_rows
            and first.stream.rows_of is None
            and first.position == self.start
        )

    def describe(self) -> str:
        return f"source {self.listing.source}, keyset pages of {self.record_limit}"

    def as_json(self) -> dict:
        return {
            "kind": LISTING.name,
            "source": self.listing.source,
            "streams": list(self.checkpointed_streams),
            "after": self.start,
            "page_rows": self.record_limit,
        }


class ListingCheckpoint:
    """An entity stream: one listing; its position after every batch written."""

    def __init__(self, scope: EntityScope):
        self.scope = scope
        self.finished = False
        self.entry: Optional[dict] = scope.progress(None)

    def spawned(self, spawn) -> None:
        raise AssertionError("an entity stream spawns no units")

    def written(self, unit, position: Optional[list]) -> None:
        if position is not None:
            self.entry = self.scope.progress(position)

    def done(self, unit, end: PagingEnd) -> None:
        self.entry = self.scope.finished(end.position)
        self.finished = True

    def done_line(self, unit, rows: int) -> None:
        return None


def read_listing(ctx: ReadContext, unit: ListingUnit) -> Iterator:
    """The listing's rows, for each consumer; last, the end of its pages."""
    source = agg.source_step(unit.listing.source, unit.params)
    pages = keyset_rows(
        ctx.client,
        unit.stream,
        source,
        unit.where,
        unit.listing.order,
        unit.record_limit,
        unit.start,
        "listing" if len(unit.consumers) > 1 else "",
    )
    if unit.plain:
        end = yield from pages
        yield UnitEnd(end)
        return
    order = unit.listing.order
    while True:
        try:
            item = next(pages)
        except StopIteration as stop:
            end: PagingEnd = stop.value
            yield UnitEnd(end)
            return
        if type(item) is not dict:
            yield item
            continue
        position = position_of(item, order)
        for consumer in unit.consumers:
            yield from consumer.take(item, position)


def listing_unit(config: Config, scopes: tuple) -> ListingUnit:
    """The one pagination of a listing for the scopes that ride on it, in run order."""
    listing = scopes[0].stream.listing
    params = agg.source_params(listing.params, config.app_ids, config.include_anonymous_visitors)
    return ListingUnit(listing, scopes, params, config.record_limit)


class ListingKind:
    """Entity streams: a keyset pagination of an aggregation source, shared by the streams that
    ride on it."""

    name = "listing"

    def scope(self, config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
        return EntityScope(
            stream=stream,
            key=stream.bookmark_key(config.period),
            bookmark_ms=bookmark_ms(state, stream, config.period),
            newest=bookmark_value(state, stream, "newest"),
            start_ms=config.start_ms,
            position=bookmark_value(state, stream, "after"),
            sync_start_ms=sync_start_ms,
        )

    def first_units(self, config: Config, scopes: tuple) -> tuple:
        return (listing_unit(config, scopes),)

    def read(self, ctx: ReadContext, unit: ListingUnit) -> Iterator:
        return read_listing(ctx, unit)

    def checkpoint(self, scope: EntityScope, first_units: tuple) -> ListingCheckpoint:
        return ListingCheckpoint(scope)

    def check_bookmark(self, stream: StreamDef, bookmark: dict, period: str) -> None:
        check_dates(stream, bookmark, period)
        length = len(stream.listing.order)
        for key in ("after", "newest"):
            check_position(stream.name, key, bookmark.get(key), length)

    def plan_entry(self, scope: EntityScope, units: tuple) -> PlanEntry:
        (unit,) = units
        name = scope.stream.name
        shared = [stream for stream in unit.checkpointed_streams if stream != name]
        text = unit.describe() + (f", shared with {', '.join(shared)}" if shared else "")
        # With `newest`, the rows past that position (the date's ties already written are
        # not read again); rows without a date come every run.
        bounds = {"from": ms_to_rfc3339(scope.since_ms), "to": None}
        return PlanEntry(
            text=text,
            requests=1 if unit.stream == name else 0,
            bounds={**bounds, "after": scope.newest} if scope.newest else bounds,
            units=(unit.as_json(),),
        )


LISTING = ListingKind()
