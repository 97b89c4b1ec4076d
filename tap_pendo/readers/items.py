"""What readers yield to the executor, besides the rows of their unit's own stream (plain
dicts, the hot path) and the pager's PageEnd. Data only: nothing here calls back."""

from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..pendo.client import PendoClient
from ..pendo.paging import path_value
from ..transform import optional_ms


@dataclass(frozen=True)
class ReadContext:
    """What every reader of one run shares: the config and the client."""

    config: Config
    client: PendoClient


class OfOneStream:
    """A unit whose rows are all of its scope's stream (a window, a history day, a document).

    `position_of(row)` says where a row lies in the unit's order, for a STATE that
    claims part of it; None: the unit's rows are written all at once, and its end is
    its only resume point."""

    position_of = None
    # A STATE follows its end (a window, a document); a history day's, a second later.
    state_at_end = True

    @property
    def stream(self) -> str:
        return self.scope.stream.name

    @property
    def streams(self) -> tuple:
        """The streams whose rows this unit reads."""
        return (self.stream,)

    @property
    def informs(self) -> tuple:
        """The streams whose books follow this unit."""
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


@dataclass(frozen=True)
class StreamRow:
    """A row of `stream`, from a unit that serves several streams (a shared listing), and the
    listing position of the row it came from."""

    stream: str
    row: dict
    position: list


@dataclass(frozen=True)
class Spawn:
    """More units of `stream`, found while reading (history days of a listed visitor, the
    day windows that follow the first one), to run and write after those known.

    `group` names them for the stream's books (a visitor's listing position, the index
    of the window that found them). `throttled` spawns wait while many units are queued.
    """

    stream: str
    group: Any
    units: tuple
    throttled: bool = False


@dataclass(frozen=True)
class UnitEnd:
    """A reader's last item: what its unit's books need to know of how it ended (a walk's
    end position, a document's newest date)."""

    result: Any = None
