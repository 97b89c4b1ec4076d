"""Streams read from one GET answer: the metadata schemas (one record each, full table),
and the saved segments and reports (small lists, filtered on lastUpdatedAt here)."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ..config import Config
from ..errors import PendoError
from ..pendo.client import PendoClient
from ..pendo.paging import path_value
from ..streams import StreamDef
from ..timefmt import ms_to_rfc3339
from ..transform import optional_ms
from .base import (
    OfOneStream,
    PlanEntry,
    ReadContext,
    SinceBookmark,
    bookmark_ms,
    check_dates,
)
from .items import UnitEnd


@dataclass(frozen=True)
class DocumentScope(SinceBookmark):
    """Which items of a listed document this run writes, and its bookmark."""

    stream: StreamDef
    key: Optional[str]  # the bookmark key; None for a full-table document
    bookmark_ms: Optional[int]
    start_ms: int
    sync_start_ms: int

    resume_position = None  # one request: nothing to resume inside it

    @property
    def kind(self) -> "DocumentKind":
        return DOCUMENT

    @property
    def unit_group(self) -> str:
        return self.stream.name

    def finished(self, newest: Optional[int]) -> Optional[dict]:
        """The bookmark after a run that wrote items up to `newest`; None: full table."""
        if self.key is None:
            return None
        if newest is not None:
            newest = min(newest, self.sync_start_ms)
        values = [v for v in (self.bookmark_ms, newest) if v is not None]
        return {self.key: ms_to_rfc3339(max(values))} if values else {}

    def describe(self) -> str:
        return f"GET {self.stream.source}"


@dataclass(frozen=True, eq=False)
class DocumentUnit(OfOneStream):
    """The one request of a document stream."""

    scope: DocumentScope

    def describe(self) -> str:
        return self.scope.describe()

    def as_json(self) -> dict:
        return {"kind": DOCUMENT.name, "path": self.scope.stream.source}


def fetch_document(client: PendoClient, stream: StreamDef):
    """The JSON answer of a document stream: an object (a schema) or a list (of items)."""
    document = client.get_json(stream.source, stream.name)
    expected = dict if stream.verbatim_document else list
    if not isinstance(document, expected):
        what = "Pendo's metadata schema (a JSON object)" if expected is dict else "a JSON list"
        raise PendoError(
            f"stream '{stream.name}': {client.config.host} answered {type(document).__name__} "
            f"where {what} was expected from {stream.source}: check api_url or the region"
        )
    return document


def read_document(ctx: ReadContext, unit: DocumentUnit) -> Iterator:
    """The document as one row, or its wanted items; last, the newest item's date."""
    scope = unit.scope
    document = fetch_document(ctx.client, scope.stream)
    if scope.stream.verbatim_document:
        yield document
        yield UnitEnd()
        return
    newest = None
    for item in document:
        if not isinstance(item, dict):
            raise PendoError(
                f"stream '{unit.stream}': Pendo sent {str(item)[:80]!r} where an item (a JSON "
                f"object) was expected from {scope.stream.source}"
            )
        if scope.wants(item):
            yield item
            moment = optional_ms(path_value(item, scope.stream.replication_path))
            if moment is not None and (newest is None or moment > newest):
                newest = moment
    yield UnitEnd(newest)


class DocumentCheckpoint:
    """A document stream: one request; its bookmark once it is written."""

    def __init__(self, scope: DocumentScope):
        self.scope = scope
        self.finished = False
        self.entry: Optional[dict] = None

    def spawned(self, spawn) -> None:
        raise AssertionError("a document stream spawns no units")

    def written(self, unit, position) -> None:
        """The document's rows are written whole; its end follows."""

    def done(self, unit, newest: Optional[int]) -> None:
        self.entry = self.scope.finished(newest)
        self.finished = True

    def done_line(self, unit, rows: int) -> None:
        return None


class DocumentKind:
    """Streams read from one GET answer."""

    name = "document"

    def scope(self, config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
        return DocumentScope(
            stream=stream,
            key=stream.bookmark_key(config.period),
            bookmark_ms=bookmark_ms(state, stream, config.period),
            start_ms=config.start_ms,
            sync_start_ms=sync_start_ms,
        )

    def first_units(self, config: Config, scopes: tuple) -> tuple:
        (scope,) = scopes
        return (DocumentUnit(scope),)

    def read(self, ctx: ReadContext, unit: DocumentUnit) -> Iterator:
        return read_document(ctx, unit)

    def checkpoint(self, scope: DocumentScope, first_units: tuple) -> DocumentCheckpoint:
        return DocumentCheckpoint(scope)

    def check_bookmark(self, stream: StreamDef, bookmark: dict, period: str) -> None:
        check_dates(stream, bookmark, period)  # a document has no resume position

    def plan_entry(self, scope: DocumentScope, units: tuple) -> PlanEntry:
        since = ms_to_rfc3339(scope.since_ms) if scope.key is not None else None
        return PlanEntry(
            text=scope.describe(),
            requests=1,
            bounds={"from": since, "to": None},
            units=tuple(unit.as_json() for unit in units),
        )


DOCUMENT = DocumentKind()
