"""The plan: from the config, the state and the stream definitions, before any request,
the frozen units of work of every selected stream, with their bounds and resume points.

A unit is an entity listing (one keyset walk of a source, shared by the streams that
ride on it), an event window, a document, or (found while the visitors are listed)
a visitor's day of history. Day windows after the first, and history days, are
spawned while the run goes: where a subscription's days start is Pendo's to say.
"""

from dataclasses import dataclass

from ..config import Config
from ..pendo import aggregation as agg
from ..readers.document import DocumentScope, DocumentUnit
from ..readers.history import HISTORY_KEPT_MS, HistoryScope
from ..readers.listing import EntityScope, ListingUnit
from ..readers.windows import LATE_DATA_MS, WindowScope
from ..singer.state import bookmark_ms, bookmark_value
from ..streams import DOCUMENT, HISTORY, LISTING, WINDOWS, StreamDef
from ..timefmt import DAY_MS, ms_to_rfc3339, parse_datetime_ms


@dataclass(frozen=True)
class StreamPlan:
    """One selected stream: what it reads this run (its scope)."""

    stream: StreamDef
    scope: object


@dataclass(frozen=True)
class Plan:
    """Every selected stream's scope, and the units known before any request."""

    config: Config
    sync_start_ms: int
    streams: tuple  # StreamPlans, in run order
    units: tuple  # the first units of every stream, each once, in run order

    def units_of(self, stream: str) -> tuple:
        return tuple(unit for unit in self.units if stream in unit.streams)

    def describe(self) -> list:
        """The plan as lines of text, for `--plan`."""
        config = self.config
        end = ms_to_rfc3339(config.end_ms) if config.end_ms is not None else "now"
        lines = [
            f"plan at {ms_to_rfc3339(self.sync_start_ms)}: {len(self.streams)} streams, "
            f"start_date {ms_to_rfc3339(config.start_ms)}, end {end}, period {config.period}, "
            f"at most {config.max_concurrent_requests} requests in flight, pages of "
            f"{config.record_limit} rows"
        ]
        requests = 0
        for stream_plan in self.streams:
            scope = stream_plan.scope
            name = stream_plan.stream.name
            bookmark = _bookmark_text(scope)
            if isinstance(scope, (EntityScope, HistoryScope)):
                (unit,) = (u for u in self.units if name in u.informs)
                shared = [s for s in unit.informs if s != name]
                what = unit.describe() + (f", shared with {', '.join(shared)}" if shared else "")
                if isinstance(scope, HistoryScope):
                    what = f"{scope.describe()}; visitors from the {what}"
                requests += 1 if unit.stream == name else 0
            else:
                what = scope.describe()
                requests += scope.estimated_windows() if isinstance(scope, WindowScope) else 1
            lines.append(f"  {name}: {what}; {bookmark}")
        lines.append(
            f"requests: at least {requests}, one more per page beyond the first of a listing or "
            "window" + (", and one per visitor and day of history" if self._history else "")
        )
        return lines

    @property
    def _history(self) -> bool:
        return any(isinstance(s.scope, HistoryScope) for s in self.streams)


def build_plan(config: Config, state: dict, streams: list, sync_start_ms: int) -> Plan:
    """The plan of a run of `streams` (StreamDefs, in run order) from `state`."""
    plans = tuple(StreamPlan(s, _scope(config, state, s, sync_start_ms)) for s in streams)
    consumers: dict = {}  # listing -> the scopes of the streams that ride on it
    for stream_plan in plans:
        if stream_plan.stream.listing is not None:
            consumers.setdefault(stream_plan.stream.listing, []).append(stream_plan.scope)
    units = []
    for stream_plan in plans:
        listing, scope = stream_plan.stream.listing, stream_plan.scope
        if listing is not None:
            if consumers[listing][0] is scope:  # a listing runs where its first stream would
                units.append(_listing_unit(config, listing, consumers[listing]))
        elif isinstance(scope, WindowScope):
            units.extend(scope.first_windows())
        else:
            units.append(DocumentUnit(scope))
    return Plan(config, sync_start_ms, plans, tuple(units))


def _listing_unit(config: Config, listing, consumers: list) -> ListingUnit:
    params = agg.source_params(listing.params, config.app_ids, config.include_anonymous_visitors)
    return ListingUnit(listing, tuple(consumers), params, config.record_limit)


def _scope(config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
    if stream.reader == LISTING:
        return EntityScope(
            stream=stream,
            key=stream.bookmark_key(config.period),
            bookmark_ms=bookmark_ms(state, stream, config.period),
            start_ms=config.start_ms,
            position=bookmark_value(state, stream, "after"),
            sync_start_ms=sync_start_ms,
        )
    if stream.reader == WINDOWS:
        return _window_scope(config, state, stream, sync_start_ms)
    if stream.reader == HISTORY:
        return _history_scope(config, state, stream, sync_start_ms)
    assert stream.reader == DOCUMENT, stream.reader
    return DocumentScope(
        stream=stream,
        key=stream.bookmark_key(config.period),
        bookmark_ms=bookmark_ms(state, stream, config.period),
        start_ms=config.start_ms,
        sync_start_ms=sync_start_ms,
    )


def _upper(config: Config, sync_start_ms: int) -> int:
    return sync_start_ms if config.end_ms is None else min(config.end_ms, sync_start_ms)


def _reread_from(config: Config, bookmark) -> int:
    """Where a run reads from: start_date, or the bookmark less the lookback (late data
    arrives for a day, or lookback_window days when that is longer)."""
    if bookmark is None:
        return config.start_ms
    return max(config.start_ms, bookmark - max(LATE_DATA_MS, config.lookback_days * DAY_MS))


def _window_scope(config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
    bookmark = bookmark_ms(state, stream, config.period)
    resume_at = bookmark_value(state, stream, "window_start")
    position = None
    if resume_at:
        lower = parse_datetime_ms(resume_at)
        position = bookmark_value(state, stream, "after")
    else:
        lower = _reread_from(config, bookmark)
    return WindowScope(
        stream=stream,
        period=config.period,
        lower_ms=lower,
        upper_ms=_upper(config, sync_start_ms),
        start_ms=config.start_ms,
        end_ms=config.end_ms,
        position=position,
        bookmark_ms=bookmark,
        sync_start_ms=sync_start_ms,
        params=agg.source_params(agg.APPS, config.app_ids, config.include_anonymous_visitors),
        record_limit=config.record_limit,
    )


def _history_scope(config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
    bookmark = bookmark_ms(state, stream, config.period)
    run_started = bookmark_value(state, stream, "run_started")
    high = _upper(config, sync_start_ms)
    return HistoryScope(
        stream=stream,
        range_start_ms=max(_reread_from(config, bookmark), sync_start_ms - HISTORY_KEPT_MS),
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


def _bookmark_text(scope) -> str:
    bookmark = getattr(scope, "bookmark_ms", None)
    resume = getattr(scope, "position", None)
    text = f"from bookmark {ms_to_rfc3339(bookmark)}" if bookmark is not None else "no bookmark"
    return text + (", resuming an interrupted run" if resume is not None else "")
