"""visitor_history: one request per visitor and day, only for days with possible activity,
a bounded number in flight, written in a deterministic order.

The visitors whose activity overlaps the sync are listed from the `visitors`
source. When the `visitors` stream is selected too, the same listing serves
it, so visitors are read once.
"""

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

from . import aggregation as agg
from .errors import PendoError
from .pager import PageDone, keyset_rows, path_value
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
# Visitor-days queued ahead of the one being written, per worker.
QUEUE_PER_WORKER = 4


@dataclass(frozen=True)
class HistoryScope:
    """The days this run reads, and the bookmark it leaves."""

    range_start_ms: int  # the first 24-hour slice starts here
    range_end_ms: int  # no slice starts at or after it
    emit_from_ms: Optional[int]  # rows modified before it were emitted by an earlier run
    run_started_ms: int  # the bookmark once the run is over
    position: Optional[list]
    app_ids: tuple

    def days(self, first_visit: Optional[int], last_visit: Optional[int]) -> list:
        """Starts of the 24-hour slices that can hold this visitor's activity."""
        if last_visit is None:
            return []
        low = max(self.range_start_ms, first_visit or self.range_start_ms)
        high = min(last_visit, self.range_end_ms - 1)
        if high < low:
            return []
        first = (low - self.range_start_ms) // DAY_MS
        last = (high - self.range_start_ms) // DAY_MS
        return [self.range_start_ms + k * DAY_MS for k in range(first, last + 1)]

    def rows(self, visitor_id: str, items) -> Iterator[dict]:
        """History items as rows with their visitor and modified_ts, new ones only."""
        for item in items:
            if not isinstance(item, dict):
                raise PendoError(
                    f"stream 'visitor_history': Pendo sent {item!r} where a history item was "
                    "expected"
                )
            if self.app_ids and item.get("appId") not in self.app_ids:
                continue
            moments = [
                m
                for m in (optional_ms(item.get("ts")), optional_ms(item.get("lastTs")))
                if m is not None
            ]
            modified = max(moments) if moments else None
            if (
                self.emit_from_ms is not None
                and modified is not None
                and modified < self.emit_from_ms
            ):
                continue
            yield {**item, "visitorId": visitor_id, "modifiedTs": modified}

    def progress(self, position: list) -> Checkpoint:
        """The bookmark while the run is under way."""
        return Checkpoint(
            {
                **self._kept(),
                "run_started": ms_to_rfc3339(self.run_started_ms),
                "after": position,
            },
            "visitor_history",
        )

    def finished(self) -> Checkpoint:
        """Signposted to the start of the run: activity during it is read next time."""
        return Checkpoint({"modified_ts": ms_to_rfc3339(self.run_started_ms)}, "visitor_history")

    def _kept(self) -> dict:
        if self.emit_from_ms is None:
            return {}
        return {"modified_ts": ms_to_rfc3339(self.emit_from_ms)}


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
        emit_from_ms=bookmark,
        # A resumed run keeps the first run's start, so the bookmark never
        # jumps over what the interrupted part did not read.
        run_started_ms=parse_datetime_ms(run_started) if run_started else high,
        position=bookmark_value(ctx.state, stream, "after"),
        app_ids=config.app_ids,
    )


def history_where(scope: HistoryScope) -> str:
    """Visitors who can have activity in the range and whose data Pendo may process."""
    return agg.all_of(
        f"!({DO_NOT_PROCESS} == true)", agg.at_or_after(LAST_VISIT, scope.range_start_ms)
    )


def wants_history(scope: HistoryScope, row: dict, include_anonymous: bool) -> bool:
    """`history_where`, evaluated here, for rows read by the wider combined listing."""
    if path_value(row, DO_NOT_PROCESS) is True:
        return False
    if not include_anonymous and str(row.get("visitorId", "")).startswith(ANONYMOUS_PREFIX):
        return False
    last_visit = optional_ms(path_value(row, LAST_VISIT))
    return last_visit is not None and last_visit >= scope.range_start_ms


def _after(position: Optional[list], other: Optional[list]) -> bool:
    """Is `position` past `other` in the listing's order (nulls first)?"""
    if other is None:
        return True
    return [(v is not None, v) for v in position] > [(v is not None, v) for v in other]


def read_history(ctx: RunContext, stream: StreamDef) -> Iterator:
    """visitor_history rows, visitor by visitor; also `visitors` rows when it is selected."""
    scope = history_scope(ctx, stream)
    visitors = EntityScope.of(ctx, STREAMS["visitors"]) if "visitors" in ctx.selected else None
    where = history_where(scope)
    start = scope.position
    if visitors is not None:
        where = agg.any_of(visitors.where, where)
        start = min((p for p in (scope.position, visitors.position)), key=_sort_key_or_first)
    source = agg.source_step("visitors", source_params(ctx.config, STREAMS["visitors"]))
    listing = keyset_rows(
        ctx.client,
        "visitors",
        source,
        where,
        visitors.order if visitors else EntityScope.of(ctx, STREAMS["visitors"]).order,
        ctx.config.record_limit,
        start,
        "history listing",
    )
    fetch = _Fetcher(ctx, scope)
    with ThreadPoolExecutor(
        max_workers=ctx.config.max_concurrent_requests, thread_name_prefix="history"
    ) as pool:
        yield from _walk(ctx, scope, visitors, listing, fetch, pool)


def _sort_key_or_first(position: Optional[list]):
    return [] if position is None else [(v is not None, v) for v in position]


def _walk(ctx, scope, visitors, listing, fetch, pool) -> Iterator:
    """Write each listed visitor in order while the next ones' days are fetched."""
    order = EntityScope.of(ctx, STREAMS["visitors"]).order
    include_anonymous = ctx.config.include_anonymous_visitors
    queue: deque = deque()
    last_position = None
    limit = ctx.config.max_concurrent_requests * QUEUE_PER_WORKER

    def drain(until: int):
        while len(queue) > until:
            visitor_row, visitor_id, position, futures = queue.popleft()
            if visitor_row is not None:
                yield OtherRow("visitors", visitor_row)
            for future in futures:
                yield from scope.rows(visitor_id, future.result())
            if _after(position, scope.position):
                yield scope.progress(position)
            if visitors is not None and _after(position, visitors.position):
                yield visitors.progress(position)

    for item in listing:
        if type(item) is PageDone:
            if item.position is not None:
                last_position = item.position
            continue
        position = [path_value(item, field) for field in order]
        visitor_id = item.get("visitorId")
        visitor_row = None
        if visitors is not None and _after(position, visitors.position) and visitors.wants(item):
            visitor_row = item
        futures = []
        if _after(position, scope.position) and wants_history(scope, item, include_anonymous):
            first_visit = optional_ms(path_value(item, FIRST_VISIT))
            last_visit = optional_ms(path_value(item, LAST_VISIT))
            futures = [
                pool.submit(fetch, visitor_id, day) for day in scope.days(first_visit, last_visit)
            ]
        queue.append((visitor_row, visitor_id, position, futures))
        yield from drain(limit)
    yield from drain(0)
    yield scope.finished()
    if visitors is not None:
        yield visitors.finished(last_position)


class _Fetcher:
    """One history request (with retries), run by a worker thread."""

    def __init__(self, ctx: RunContext, scope: HistoryScope):
        self.client = ctx.client

    def __call__(self, visitor_id: str, day_ms: int) -> list:
        path = f"/api/v1/visitor/{quote(str(visitor_id), safe='')}/history"
        items = self.client.get_json(
            path, "visitor_history", params={"starttime": day_ms}, quiet=True
        )
        if not isinstance(items, list):
            raise PendoError(
                f"stream 'visitor_history': Pendo answered {type(items).__name__} where a list "
                f"was expected from {path}"
            )
        return items
