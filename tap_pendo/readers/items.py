"""What readers yield to the executor, besides the rows of their unit's own stream (plain
dicts, the hot path) and the pager's PageEnd. Data only: nothing here calls back."""

from dataclasses import dataclass
from typing import Any


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

    `group` names them for the stream's checkpoint (a visitor's listing position, the
    index of the window that found them). `throttled` spawns wait while many units are
    queued.
    """

    stream: str
    group: Any
    units: tuple
    throttled: bool = False


@dataclass(frozen=True)
class UnitEnd:
    """A reader's last item: what its unit's checkpoint needs to know of how it ended (a
    last position of its pages, a document's newest item)."""

    result: Any = None
