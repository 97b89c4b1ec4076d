"""visitor_history: one request per visitor and day, only for the days on which
the visitor can have activity, a bounded number in flight, written in a
deterministic order.

The visitors whose activity overlaps the sync are listed from the `visitors`
source. When the `visitors` stream is selected too, the same listing serves
it, so the visitors source is read once.
"""

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

from . import aggregation as agg
from .errors import PendoError
from .pager import PageDone, keyset_rows, path_value, position_of
from .readers import Checkpoint, EntityScope, OtherRow, RunContext, source_params
from .state import bookmark_ms, bookmark_value
from .streams import STREAMS, StreamDef
from .timefmt import DAY_MS, ms_to_rfc3339, parse_datetime_ms
from .transform import optional_ms

# Pendo keeps 180 days of history; a day's margin keeps the first request
# inside the limit even when the local clock and Pendo's differ a little.
HISTORY_DAYS = 179
ANONYMOUS_PREFIX = "_PENDO_T_"
LAST_VISIT = "metadata.auto.lastvisit"
FIRST_VISIT = "metadata.auto.firstvisit"
DO_NOT_PROCESS = "metadata.pendo.donotprocess"
# Requests (and visitors) queued ahead of the visitor being written, per
# worker: enough to keep every worker busy, few enough to keep memory flat.
QUEUE_PER_WORKER = 4


@dataclass(frozen=True)
class HistoryScope:
    """The days this run reads, which rows it writes, and the bookmark it leaves."""

    range_start_ms: int  # the first 24-hour slice starts here
    range_end_ms: int  # no slice starts at or after it
    bookmark_ms: Optional[int]  # where the last finished run started
    run_started_ms: int  # the bookmark once the run is over
    position: Optional[list]  # the last visitor an interrupted run finished
    app_ids: tuple
    include_anonymous: bool

    def wants(self, row: dict) -> bool:
        """Can this listed visitor have history to replicate?"""
        if path_value(row, DO_NOT_PROCESS) is True:
            return False
        if not self.include_anonymous and str(row.get("visitorId")).startswith(ANONYMOUS_PREFIX):
            return False
        last_visit = optional_ms(path_value(row, LAST_VISIT))
        return last_visit is not None and last_visit >= self.range_start_ms

    def days(self, row: dict) -> list:
        """Starts of the 24-hour slices that can hold this visitor's activity."""
        first_visit = optional_ms(path_value(row, FIRST_VISIT))
        last_visit = optional_ms(path_value(row, LAST_VISIT))
        low = max(self.range_start_ms, first_visit or self.range_start_ms)
        high = min(last_visit, self.range_end_ms - 1)
        if high < low:
            return []
        first = (low - self.range_start_ms) // DAY_MS
        last = (high - self.range_start_ms) // DAY_MS
        return [self.range_start_ms + k * DAY_MS for k in range(first, last + 1)]

    def rows(self, visitor_id: str, items: list) -> Iterator[dict]:
        """History items as rows with their visitor and modifiedTs.

        Items of the lookback day are written again: Pendo's history arrives
        hours late, so an item older than the bookmark can be new to us.
        """
        for item in items:
            if not isinstance(item, dict):
                raise PendoError(
                    f"stream 'visitor_history': Pendo sent {item!r} where a history item was "
                    "expected"
                )
            if self.app_ids and item.get("appId") not in self.app_ids:
                continue
            moments = [optional_ms(item.get("ts")), optional_ms(item.get("lastTs"))]
            modified = max((m for m in moments if m is not None), default=None)
            yield {**item, "visitorId": visitor_id, "modifiedTs": modified}

    def progress(self, position: list) -> dict:
        """The bookmark while the run is under way."""
        return {
            **self._kept(),
            "run_started": ms_to_rfc3339(self.run_started_ms),
            "after": position,
        }

    def finished(self) -> dict:
        """Signposted to the start of the run: activity during it is read next time."""
        return {"modified_ts": ms_to_rfc3339(self.run_started_ms)}

    def _kept(self) -> dict:
        if self.bookmark_ms is None:
            return {}
        return {"modified_ts": ms_to_rfc3339(self.bookmark_ms)}


def history_scope(ctx: RunContext, stream: StreamDef) -> HistoryScope:
    """The scope of this run, from the config and the incoming state."""
    config = ctx.config
    bookmark = bookmark_ms(ctx.state, stream, config.period)
    run_started = bookmark_value(ctx.state, stream, "run_started")
    lookback = max(DAY_MS, config.lookback_days * DAY_MS)
    low = config.start_ms if bookmark is None else max(config.start_ms, bookmark - lookback)
    high = ctx.sync_start_ms if config.end_ms is None else min(config.end_ms, ctx.sync_start_ms)
    return HistoryScope(
        range_start_ms=max(low, ctx.sync_start_ms - HISTORY_DAYS * DAY_MS),
        range_end_ms=high,
        bookmark_ms=bookmark,
        # A resumed run keeps the first attempt's start, so the bookmark never
        # passes what the interrupted attempt did not read.
        run_started_ms=parse_datetime_ms(run_started) if run_started else high,
        position=bookmark_value(ctx.state, stream, "after"),
        app_ids=config.app_ids,
        include_anonymous=config.include_anonymous_visitors,
    )


def history_where(scope: HistoryScope) -> str:
    """Visitors who can have activity in the range and whose data Pendo may process."""
    return agg.all_of(
        f"!({DO_NOT_PROCESS} == true)", agg.at_or_after(LAST_VISIT, scope.range_start_ms)
    )


def _sort_key(position: Optional[list]) -> list:
    """Positions compare as the listing sorts: nulls first."""
    return [] if position is None else [(v is not None, v) for v in position]


def _passed(position: list, done: Optional[list]) -> bool:
    """Is `position` past `done`, the last position already finished?"""
    return done is None or _sort_key(position) > _sort_key(done)


def read_history(ctx: RunContext, stream: StreamDef) -> Iterator:
    """visitor_history rows visitor by visitor; `visitors` rows too when it is selected."""
    scope = history_scope(ctx, stream)
    visitors = EntityScope.of(ctx, STREAMS["visitors"])
    serve_visitors = "visitors" in ctx.selected
    where, start = history_where(scope), scope.position
    if serve_visitors:
        where = agg.any_of(visitors.where, where)
        start = (
            None
            if None in (start, visitors.position)
            else min(start, visitors.position, key=_sort_key)
        )
    source = agg.source_step("visitors", source_params(ctx.config, STREAMS["visitors"]))
    listing = keyset_rows(
        ctx.client,
        stream.name,
        source,
        where,
        visitors.order,
        ctx.config.record_limit,
        start,
        "visitor listing",
    )
    workers = ctx.config.max_concurrent_requests
    bound = workers * QUEUE_PER_WORKER
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="history")
    try:

        def fetch(visitor_id: str, day_ms: int) -> list:
            path = f"/api/v1/visitor/{quote(str(visitor_id), safe='')}/history"
            items = ctx.client.get_json(path, stream.name, {"starttime": day_ms}, quiet=True)
            if not isinstance(items, list):
                raise PendoError(
                    f"stream 'visitor_history': Pendo answered {type(items).__name__} where a "
                    f"list was expected from {path}: check api_url or the region"
                )
            return items

        pending: deque = deque()  # (position, visitors row or None, visitor id, futures)
        in_flight = 0
        last_position = start
        for item in listing:
            if type(item) is PageDone:
                last_position = item.position or last_position
                continue
            position = position_of(item, visitors.order)
            visitor_row = None
            if serve_visitors and _passed(position, visitors.position) and visitors.wants(item):
                visitor_row = item
            days = (
                scope.days(item) if _passed(position, scope.position) and scope.wants(item) else []
            )
            futures = [pool.submit(fetch, item.get("visitorId"), day) for day in days]
            pending.append((position, visitor_row, item.get("visitorId"), futures))
            in_flight += len(futures)
            while pending and (in_flight > bound or len(pending) > bound):
                in_flight -= len(pending[0][3])
                yield from _finish_visitor(pending.popleft(), scope, visitors, serve_visitors)
        while pending:
            yield from _finish_visitor(pending.popleft(), scope, visitors, serve_visitors)
    finally:
        # On a failure, requests not yet started are dropped rather than waited for.
        pool.shutdown(wait=True, cancel_futures=True)
    finished = {stream.name: scope.finished()}
    if serve_visitors:
        finished.update(visitors.finished(last_position).bookmarks)
    yield Checkpoint(finished)


def _finish_visitor(entry, scope: HistoryScope, visitors: EntityScope, serve_visitors: bool):
    """Write one listed visitor (and its history, in day order), then a checkpoint."""
    position, visitor_row, visitor_id, futures = entry
    if visitor_row is not None:
        yield OtherRow("visitors", visitor_row)
    for future in futures:
        yield from scope.rows(visitor_id, future.result())
    bookmarks = {}
    if _passed(position, scope.position):
        bookmarks["visitor_history"] = scope.progress(position)
    if serve_visitors and _passed(position, visitors.position):
        bookmarks["visitors"] = visitors.progress(position).bookmarks["visitors"]
    if bookmarks:
        yield Checkpoint(bookmarks)
