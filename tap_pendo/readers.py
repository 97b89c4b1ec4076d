"""What each kind of stream reads from Pendo, as generators of raw rows and Checkpoints.

A reader never writes: it yields Pendo's rows (camelCase) and, whenever the
rows before it are complete, a Checkpoint holding the stream's new bookmark.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

from . import aggregation as agg
from .client import PendoClient
from .config import Config
from .errors import PendoError
from .pager import keyset_rows, path_value
from .progress import Progress
from .state import bookmark_ms, bookmark_value
from .streams import PERIOD, StreamDef, period_field
from .timefmt import DAY_MS, HOUR_MS, ms_to_rfc3339, parse_datetime_ms
from .transform import metadata_schema_record, optional_ms

WINDOW_MS = DAY_MS  # a day of periods per request, as Pendo asks
LATE_DATA_MS = DAY_MS  # Pendo's data arrives hours late: always re-read a day
# The longest period: a day around a DST change lasts 25 hours.
LONGEST_PERIOD_MS = {"dayRange": 25 * HOUR_MS, "hourRange": HOUR_MS}


@dataclass(frozen=True)
class Checkpoint:
    """New bookmarks by stream name, once every row before this point has been yielded."""

    bookmarks: dict


@dataclass(frozen=True)
class OtherRow:
    """A row that a reader yields for a stream other than its own (see history.py)."""

    stream: str
    row: dict


@dataclass(frozen=True)
class Window:
    """Periods whose start lies in [start_ms, end_ms)."""

    index: int
    total: int
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class RunContext:
    """What every reader of one run shares."""

    config: Config
    client: PendoClient
    state: dict  # as it came in; the readers only read it
    sync_start_ms: int
    selected: frozenset = frozenset()
    progress: Progress = field(default_factory=Progress)


def source_params(config: Config, stream: StreamDef) -> Optional[dict]:
    """Source parameters: every app (or the configured ones), anonymous visitors if asked."""
    if stream.source == "visitors":
        return None if config.include_anonymous_visitors else {"identified": True}
    return {"appId": agg.app_id_param(config.app_ids)}


@dataclass(frozen=True)
class EntityScope:
    """Which rows of an entity stream this run reads, and how its bookmark moves."""

    stream: StreamDef
    key: str  # the bookmark key
    bookmark: Optional[int]  # rows dated at or before it were emitted by an earlier run
    start_ms: int
    position: Optional[list]  # where an interrupted run stopped
    sync_start_ms: int

    @classmethod
    def of(cls, ctx: RunContext, stream: StreamDef) -> "EntityScope":
        """The scope of `stream` in this run, from the incoming state."""
        return cls(
            stream=stream,
            key=stream.bookmark_key(ctx.config.period),
            bookmark=bookmark_ms(ctx.state, stream, ctx.config.period),
            start_ms=ctx.config.start_ms,
            position=bookmark_value(ctx.state, stream, "after"),
            sync_start_ms=ctx.sync_start_ms,
        )

    @property
    def order(self) -> tuple:
        """A total order: the date, then the id as tie-breaker."""
        return (self.stream.replication_path,) + self.stream.identity

    @property
    def where(self) -> str:
        """Rows without a date (which cannot be tracked, so are always read), or newer ones."""
        if self.bookmark is None:
            return agg.unset_or_after(self.stream.replication_path, self.start_ms, inclusive=True)
        return agg.unset_or_after(self.stream.replication_path, self.bookmark, inclusive=False)

    def wants(self, row: dict) -> bool:
        """`where`, evaluated here, for rows read by a wider query (see history.py)."""
        moment = optional_ms(path_value(row, self.stream.replication_path))
        if moment is None:
            return True
        return moment >= self.start_ms if self.bookmark is None else moment > self.bookmark

    def progress(self, position: list) -> Checkpoint:
        """The bookmark while the walk is under way: unchanged, plus where it is."""
        return Checkpoint({self.stream.name: {**self._kept(), "after": position}})

    def finished(self, position: Optional[list]) -> Checkpoint:
        """The bookmark once the walk is over, `position` being its last row."""
        # Rows are sorted by date, so the last position holds the newest one.
        newest = optional_ms(position[0]) if position else None
        if newest is not None:
            # Signposted: rows changed while this sync ran are read again next time.
            newest = min(newest, self.sync_start_ms - 1)
            if self.bookmark is None or newest > self.bookmark:
                return Checkpoint({self.stream.name: {self.key: ms_to_rfc3339(newest)}})
        return Checkpoint({self.stream.name: self._kept()})

    def _kept(self) -> dict:
        return {self.key: ms_to_rfc3339(self.bookmark)} if self.bookmark is not None else {}


def read_entities(ctx: RunContext, stream: StreamDef) -> Iterator:
    """Accounts, visitors, features, ...: rows changed since the bookmark, and rows without a date."""
    scope = EntityScope.of(ctx, stream)
    source = agg.source_step(stream.source, source_params(ctx.config, stream))
    last = scope.position

    def page_done(position, page_rows):
        nonlocal last
        last = position or last
        return scope.progress(last) if last is not None else Checkpoint({})

    yield from keyset_rows(
        ctx.client,
        stream.name,
        source,
        scope.where,
        scope.order,
        ctx.config.record_limit,
        scope.position,
        page_end=page_done,
    )
    yield scope.finished(last)


def event_windows(ctx: RunContext, stream: StreamDef) -> tuple:
    """The windows this run reads, and the keyset position inside the first one."""
    config = ctx.config
    bookmark = bookmark_ms(ctx.state, stream, config.period)
    resume_at = bookmark_value(ctx.state, stream, "window_start")
    position = None
    if resume_at:
        lower = parse_datetime_ms(resume_at)
        position = bookmark_value(ctx.state, stream, "after")
    elif bookmark is not None:
        lookback = max(LATE_DATA_MS, config.lookback_days * DAY_MS)
        if stream.replication_key != PERIOD:
            # A browser_time bookmark lies inside its period: reach back to that period's start.
            lookback += LONGEST_PERIOD_MS[config.period]
        lower = max(config.start_ms, bookmark - lookback)
    else:
        lower = config.start_ms
    upper = ctx.sync_start_ms if config.end_ms is None else min(config.end_ms, ctx.sync_start_ms)
    starts = list(range(lower, upper, WINDOW_MS))
    windows = [
        Window(i, len(starts), start, min(start + WINDOW_MS, upper))
        for i, start in enumerate(starts)
    ]
    return windows, position


def read_events(ctx: RunContext, stream: StreamDef) -> Iterator:
    """Event rows window by window; inside a window, keyset pages over the rows' identity."""
    config = ctx.config
    field = period_field(config.period)
    key = stream.bookmark_key(config.period)
    newest = bookmark_ms(ctx.state, stream, config.period)
    windows, position = event_windows(ctx, stream)
    if windows:
        ctx.progress.windows_planned(
            stream.name,
            len(windows),
            ms_to_rfc3339(windows[0].start_ms),
            ms_to_rfc3339(windows[-1].end_ms),
        )
    order = (field,) + stream.identity
    # Pages are sorted on the period first, then on browserTime where that is
    # the replication key: a page's last row holds its newest value.
    replication_index = order.index(stream.raw_replication_path(config.period))
    params = source_params(config, stream)
    rows = 0

    def checkpoint(**progress):
        kept = {key: ms_to_rfc3339(newest)} if newest is not None else {}
        return Checkpoint({stream.name: {**kept, **progress}})

    for window in windows:
        source = agg.source_step(
            stream.source, params, agg.time_series(config.period, window.start_ms, window.end_ms)
        )
        # The period holding window.start_ms began before it and belongs to the
        # window before: keep each period in exactly one window, whatever the time zone.
        where = agg.at_or_after(field, window.start_ms)
        detail = f"window {window.index + 1}/{window.total} {ms_to_rfc3339(window.start_ms)}"

        def page_done(position, page_rows, window=window):
            nonlocal newest, rows
            rows += page_rows
            value = optional_ms(position[replication_index]) if position else None
            if value is not None and (newest is None or value > newest):
                newest = value
            return checkpoint(window_start=ms_to_rfc3339(window.start_ms), after=position)

        yield from keyset_rows(
            ctx.client,
            stream.name,
            source,
            where,
            order,
            config.record_limit,
            position,
            detail,
            page_done,
        )
        position = None
        ctx.progress.window_done(
            stream.name, window.index, window.total, rows, ms_to_rfc3339(window.start_ms)
        )
        yield checkpoint(window_start=ms_to_rfc3339(window.end_ms))
    if newest is not None:
        newest = min(newest, ctx.sync_start_ms)
    yield checkpoint()


def fetch_metadata_schema(client: PendoClient, stream: StreamDef) -> dict:
    """The metadata schema document that `stream` (metadata_accounts or _visitors) serves."""
    document = client.get_json(stream.source, stream.name)
    if not isinstance(document, dict):
        raise PendoError(
            f"stream '{stream.name}': {client.config.host} answered {type(document).__name__} "
            f"where Pendo's metadata schema (a JSON object) was expected from {stream.source}: "
            "check api_url or the region"
        )
    return document


def read_metadata_schema(ctx: RunContext, stream: StreamDef) -> Iterator:
    """The metadata schema document, as one record."""
    yield metadata_schema_record(fetch_metadata_schema(ctx.client, stream))
