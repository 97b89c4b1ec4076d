"""The contracts between the reader kinds and the run machinery (`ReaderKind`, `Unit`,
`Checkpoint`), what every reader of a run shares (`ReadContext`), and the small pieces that
several kinds use: the bookmark values of the state, the bounds of a run, and two mixins.

The run machinery (run/) knows a stream's work only through these contracts: it asks the
kind of a stream for its scope, its first units and its checkpoint, and the kind of a unit
to read it. A new way of reading is a new kind, and nothing in run/ changes.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol

import singer

from ..config import Config
from ..errors import StateError
from ..pendo.client import PendoClient
from ..pendo.paging import path_value
from ..timefmt import DAY_MS, parse_datetime_ms
from ..transform import optional_ms

# Pendo's data arrives hours late: a run always re-reads a day before its bookmark.
LATE_DATA_MS = DAY_MS


@dataclass(frozen=True)
class ReadContext:
    """What every reader of one run shares: the config, and the sources it reads from (each
    None when no selected stream needs it)."""

    config: Config
    client: Optional[PendoClient] = None
    exports: Any = None  # the Data Sync store (datasync.Store)
    columns: Optional[dict] = None  # stream -> its selected columns


class Unit(Protocol):
    """A piece of work that one worker reads from start to end: an event window, an entity
    listing, a document, a visitor's day of history, a Data Sync file."""

    @property
    def kind(self) -> "ReaderKind":
        """The kind that reads the unit."""

    @property
    def stream(self) -> str:
        """The stream whose rows are the plain rows (dicts) that reading the unit yields."""

    @property
    def streams(self) -> tuple:
        """Every stream whose rows the unit yields (a shared listing yields several, as
        StreamRows); each is written in that stream's order of units."""

    @property
    def checkpointed_streams(self) -> tuple:
        """The streams whose checkpoints follow the unit (its `streams`, and streams that
        only learn from it, such as visitor_history from the visitors listing)."""

    # True: a STATE follows the unit's end; False: at most a second later (units that are
    # many and short, such as history days).
    state_at_end: bool
    # Where a row lies in the unit's order, for a STATE that claims part of the unit; None:
    # the unit's rows are written all at once, and its end is its only resume point.
    position_of: Optional[Callable[[dict], list]]

    def describe(self) -> str:
        """A few words for the log and the plan, e.g. `window 3 2026-11-02T00:00:00Z`."""

    def as_json(self) -> dict:
        """The unit for `--plan --format json`: its bounds and resume position."""


class Checkpoint(Protocol):
    """One stream's bookmark, following its units as the executor writes them in order.

    The executor calls `spawned` when a unit found more units of the stream, `written`
    after each batch of rows (with the position of its last row, or None), and `done`
    when a unit ends, in the stream's order of units. `entry` is then what the stream's
    bookmark may say: it claims exactly the rows written before it.
    """

    finished: bool
    entry: Optional[dict]

    def spawned(self, spawn) -> None: ...

    def written(self, unit: Unit, position: Optional[list]) -> None: ...

    def done(self, unit: Unit, result: Any) -> None: ...

    def done_line(self, unit: Unit, rows: int) -> Optional[str]:
        """A progress line for the end of `unit` (event windows have one), or None."""


@dataclass(frozen=True)
class PlanEntry:
    """What `--plan` says of one stream: what it reads, the requests known before the run
    (and, in words, those that only the run finds), the bounds of what it reads (RFC3339 or
    None) and its first units."""

    text: str
    requests: int
    bounds: dict
    units: tuple
    more_requests: str = ""


class ReaderKind(Protocol):
    """One way of reading a stream. It owns building the stream's scope (what this run reads
    of it, from the config and the state), its first units, how a unit is read, the
    stream's checkpoint, the checks of its bookmark, and its entry in the plan."""

    name: str

    def scope(self, config: Config, state: dict, stream, sync_start_ms: int):
        """What this run reads of `stream`. Every scope has `stream`, `kind`, `unit_group`
        (scopes with one group share their units: several streams on one listing),
        `bookmark_ms` and `resume_position`."""

    def first_units(self, config: Config, scopes: tuple) -> tuple:
        """The units known before any request, for scopes of one `unit_group`."""

    def read(self, ctx: ReadContext, unit: Unit) -> Iterator:
        """The unit's items: rows of its stream (dicts), StreamRows, PageEnds, Spawns, and
        last a UnitEnd."""

    def checkpoint(self, scope, first_units: tuple) -> Checkpoint:
        """The stream's checkpoint; `first_units` are the planned units that inform it."""

    def check_bookmark(self, stream, bookmark: dict, period: str) -> None:
        """Raise StateError (one line naming the stream) if a resume position in the
        stream's bookmark cannot be used."""

    def plan_entry(self, scope, units: tuple) -> PlanEntry:
        """The stream's entry in the plan; `units` are the planned units that inform it."""


# -- the state's bookmarks and the run's bounds ----------------------------------------


def bookmark_ms(state: dict, stream, period: str) -> Optional[int]:
    """The stream's replication bookmark in epoch ms, under its key or an older tap's."""
    for key in (stream.bookmark_key(period), *stream.legacy_bookmark_keys):
        value = singer.get_bookmark(state, stream.name, key)
        if value:
            return parse_datetime_ms(value)
    return None


def bookmark_value(state: dict, stream, key: str):
    """Any other value of the stream's bookmark (`after`, `window_start`, ...)."""
    return singer.get_bookmark(state, stream.name, key)


def upper_ms(config: Config, sync_start_ms: int) -> int:
    """What a run reads up to: end_date, and never past the start of the run."""
    return sync_start_ms if config.end_ms is None else min(config.end_ms, sync_start_ms)


def reread_from(config: Config, bookmark: Optional[int]) -> int:
    """Where a timed stream reads from: start_date, or the bookmark less the lookback (late
    data arrives for a day, or lookback_window days when that is longer)."""
    if bookmark is None:
        return config.start_ms
    return max(config.start_ms, bookmark - max(LATE_DATA_MS, config.lookback_days * DAY_MS))


def check_position(stream: str, key: str, position, length: int) -> None:
    """A resume position of the state: a list of `length` plain values (a listing or window
    position), else StateError naming the stream and the key."""
    if position is None:
        return
    plain = (str, int, float, bool, type(None))
    if not (
        isinstance(position, list)
        and len(position) == length
        and all(isinstance(value, plain) for value in position)
    ):
        raise StateError(
            f"state bookmark '{stream}.{key}' is {str(position)[:80]!r}, not a position of "
            f"{length} values: remove '{key}' from the stream's bookmark to go on without it"
        )


def check_date(stream: str, key: str, value) -> None:
    """An RFC3339 date of the state (a bookmark, a window's start), else StateError naming
    the stream and the key."""
    if value is None:
        return
    try:
        parse_datetime_ms(value)
    except ValueError:
        raise StateError(
            f"state bookmark '{stream}.{key}' is {value!r}, not an RFC3339 date: fix it, or "
            "remove it to sync the stream from start_date"
        ) from None


def check_dates(stream, bookmark: dict, period: str) -> None:
    """The stream's replication bookmark, under its key or an older tap's, is a date."""
    for key in (stream.bookmark_key(period), *stream.legacy_bookmark_keys):
        if key is not None:
            check_date(stream.name, key, bookmark.get(key))


# -- mixins -------------------------------------------------------------------------


class OfOneStream:
    """A unit whose rows are all of its scope's stream (a window, a history day, a
    document): `kind` and `stream` are its scope's."""

    position_of = None
    state_at_end = True

    @property
    def kind(self):
        return self.scope.kind

    @property
    def stream(self) -> str:
        return self.scope.stream.name

    @property
    def streams(self) -> tuple:
        return (self.stream,)

    @property
    def checkpointed_streams(self) -> tuple:
        return self.streams


class SinceBookmark:
    """Rows of a dated stream that a run writes: those dated at or after the bookmark
    (start_date on a first run), ties with it included, and those without a date, which
    cannot be tracked and so are always written. For scopes with `stream`, `bookmark_ms`
    and `start_ms`."""

    @property
    def since_ms(self) -> int:
        return self.start_ms if self.bookmark_ms is None else self.bookmark_ms

    def wants(self, row: dict) -> bool:
        moment = optional_ms(path_value(row, self.stream.replication_path))
        return moment is None or moment >= self.since_ms
