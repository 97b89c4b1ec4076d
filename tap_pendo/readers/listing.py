"""Entity streams (accounts, visitors, features, pages, guides, track types, and the guide
steps and polls inside guides): one keyset walk of their source, a listing, which every
stream riding on that source reads once."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ..pendo import aggregation as agg
from ..pendo.paging import WalkEnd, keyset_rows, position_of
from ..streams import Listing, StreamDef
from ..timefmt import ms_to_rfc3339
from ..transform import optional_ms
from .items import ReadContext, SinceBookmark, StreamRow, UnitEnd


def sort_key(position: Optional[list]) -> list:
    """Positions compare as the listing sorts: nulls first."""
    return [] if position is None else [(v is not None, v) for v in position]


def passed(position: list, done: Optional[list]) -> bool:
    """Is `position` past `done`, the last position already finished?"""
    return done is None or sort_key(position) > sort_key(done)


@dataclass(frozen=True)
class EntityScope(SinceBookmark):
    """Which rows of an entity stream this run writes, and how its bookmark moves."""

    stream: StreamDef
    key: str  # the bookmark key
    bookmark_ms: Optional[int]  # rows dated before it were written by an earlier run
    start_ms: int
    position: Optional[list]  # the listing position where an interrupted run stopped
    sync_start_ms: int

    @property
    def where(self) -> str:
        """`wants`, as Pendo's filter."""
        return agg.unset_or_since(self.stream.replication_path, self.since_ms)

    def take(self, row: dict, position: list) -> Iterator:
        """This stream's rows in one row of a shared listing."""
        if passed(position, self.position) and self.wants(row):
            rows_of = self.stream.rows_of
            for own in rows_of(row) if rows_of else (row,):
                yield StreamRow(self.stream.name, own, position)

    def progress(self, position: Optional[list]) -> dict:
        """The bookmark while the walk is under way: unchanged, plus where it is (never
        before where this stream had already been, when a shared walk started earlier)."""
        if position is None or not passed(position, self.position):
            position = self.position
        return {**self._kept(), "after": position} if position is not None else self._kept()

    def finished(self, position: Optional[list]) -> dict:
        """The bookmark once the walk is over, `position` being its last row."""
        # Rows are sorted by date, so the last position holds the newest one.
        newest = optional_ms(position[0]) if position else None
        if newest is not None:
            # Never past the start of the sync: rows changed while it ran come again.
            newest = min(newest, self.sync_start_ms)
            if self.bookmark_ms is None or newest > self.bookmark_ms:
                return {self.key: ms_to_rfc3339(newest)}
        return self._kept()

    def _kept(self) -> dict:
        return {self.key: ms_to_rfc3339(self.bookmark_ms)} if self.bookmark_ms is not None else {}


@dataclass(frozen=True, eq=False)
class ListingUnit:
    """One keyset walk of a source, for every stream that rides on it (its consumers:
    EntityScopes, or a HistoryScope that lists visitors)."""

    listing: Listing
    consumers: tuple
    params: Optional[dict]
    record_limit: int

    state_at_end = True

    @property
    def stream(self) -> str:
        """The stream whose rows are the plain rows of this unit (the first consumer)."""
        return self.consumers[0].stream.name

    @property
    def streams(self) -> tuple:
        """The streams whose rows this unit reads."""
        return tuple(c.stream.name for c in self.consumers if isinstance(c, EntityScope))

    @property
    def informs(self) -> tuple:
        """The streams whose books follow this unit: its consumers."""
        return tuple(c.stream.name for c in self.consumers)

    def position_of(self, row: dict) -> list:
        """Where a row of this walk lies, in the listing's order."""
        return position_of(row, self.listing.order)

    @property
    def start(self) -> Optional[list]:
        """Where the walk starts: before the earliest consumer's resume position."""
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
            and isinstance(first, EntityScope)
            and first.stream.rows_of is None
            and first.position == self.start
        )

    def describe(self) -> str:
        return f"source {self.listing.source}, keyset pages of {self.record_limit}"


def read_listing(ctx: ReadContext, unit: ListingUnit) -> Iterator:
    """The listing's rows, for each consumer; last, the walk's end."""
    source = agg.source_step(unit.listing.source, unit.params)
    walk = keyset_rows(
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
        end = yield from walk
        yield UnitEnd(end)
        return
    order = unit.listing.order
    while True:
        try:
            item = next(walk)
        except StopIteration as stop:
            end: WalkEnd = stop.value
            yield UnitEnd(end)
            return
        if type(item) is not dict:
            yield item
            continue
        position = position_of(item, order)
        for consumer in unit.consumers:
            yield from consumer.take(item, position)
