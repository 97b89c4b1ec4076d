"""Data Sync streams: the rows of the Avro files of Pendo's Data Sync exports, one unit per
file, and datasync_periods from the manifests.

One unit, the exports listing, reads the subscription's folders and their manifests for
every selected Data Sync stream at once. For each folder, it goes through the exports in
counter order from the lowest bookmark among the streams, writes the export's partitions
(datasync_periods) and spawns, for every other stream, a group of units: the export's
files of that stream (a group may be empty, so that the stream's bookmark passes exports
that have none of its files). The files are read by the executor's workers like any unit,
several at once, and each stream's are written in order: a stream's bookmark moves to an
export once all of its files of that export are written, and says how many of the next
export's files are written while it is under way.

The bookmark of a Data Sync stream is, under its replication key, the counter of the
newest export written per folder (`{"-323232": 7, ...}`), and while an export is under
way, `under_way`: that export's folder, counter and files written.
"""

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import singer

from .. import datasync  # its functions are looked up when used: see datasync/__init__
from ..config import Config
from ..errors import StateError
from ..pendo.paging import PageEnd
from ..streams import PARTITIONS, PERIODS, StreamDef
from ..timefmt import DAY_MS, ms_to_rfc3339
from .base import OfOneStream, PlanEntry, ReadContext, bookmark_value
from .items import Spawn, UnitEnd

LOGGER = singer.get_logger()
UNIT_GROUP = "datasync"  # every Data Sync stream rides on the one exports listing
UNDER_WAY = "under_way"


@dataclass(frozen=True)
class DataSyncScope:
    """What this run reads of a Data Sync stream: the exports after its bookmark, and the
    periods within start_date and end_date."""

    stream: StreamDef
    counters: dict  # folder name -> the newest export whose files of this stream are written
    under_way: Optional[dict]  # the export an interrupted run was in, and its files written
    start_ms: int
    end_ms: Optional[int]

    bookmark_ms = None  # a Data Sync bookmark is a counter per folder, not a time

    @property
    def kind(self) -> "DataSyncKind":
        return DATASYNC

    @property
    def unit_group(self) -> str:
        return UNIT_GROUP

    @property
    def resume_position(self) -> Optional[dict]:
        return self.under_way

    @property
    def files(self):
        return self.stream.export_files

    def reads(self, folder) -> bool:
        """Does this stream read from `folder` (an application, account/ or visitor/)?"""
        return folder.kind == self.files.folder

    def after(self, folder) -> Optional[int]:
        """The newest export of `folder` already written; None: none yet."""
        return self.counters.get(folder.name)

    def wants(self, partition) -> bool:
        """A partition of a period (a whole UTC day) that ends after start_date and starts
        before end_date."""
        return partition.start_ms + DAY_MS > self.start_ms and (
            self.end_ms is None or partition.start_ms < self.end_ms
        )

    def file_names(self, export) -> list:
        """This stream's files of one export, in manifest order (relative names)."""
        part = self.files.part
        if part == PERIODS:
            return []  # datasync_periods' rows are the manifest's own entries
        if part != PARTITIONS:
            return list(getattr(export, part))
        return [
            name
            for partition in export.partitions()
            if partition.kind == self.files.partition_kind and self.wants(partition)
            for name in partition.files
        ]

    def units(self, folder, names: list, export) -> tuple:
        """The units of an export's files `names`, less those an interrupted run wrote."""
        under_way = self.under_way or {}
        resumed = (under_way.get("folder"), under_way.get("counter")) == (
            folder.name,
            export.counter,
        )
        written = under_way["files"] if resumed else 0
        extra = {self.files.counter_column: export.counter}
        if self.files.app_column:
            extra = {self.files.app_column: folder.app_id, **extra}
        return tuple(ExportFile(self, export.path(name), extra) for name in names[written:])

    def partition_rows(self, folder, export) -> Iterator[dict]:
        """datasync_periods: the partitions that an export replaces, within the dates."""
        for partition in export.partitions():
            if self.wants(partition):
                yield from self.stream.rows_of((folder.app_id, export.counter, partition))

    def entry(self, counters: dict, under_way: Optional[dict]) -> dict:
        """The stream's bookmark."""
        entry = {self.stream.replication_key: dict(counters)} if counters else {}
        return {**entry, UNDER_WAY: under_way} if under_way else entry


@dataclass(frozen=True, eq=False)
class ExportFile(OfOneStream):
    """One Avro file of an export, read whole by one worker."""

    scope: DataSyncScope
    path: str
    extra: dict  # the columns added to every row: the export's counter (and app id)

    def position_of(self, row: dict) -> None:
        """Rows go out in batches as they are read, but a file is claimed only whole."""
        return None

    def describe(self) -> str:
        return f"file {self.path}"

    def as_json(self) -> dict:
        return {"kind": DATASYNC.name, "path": self.path}

    def read(self, ctx: ReadContext) -> Iterator:
        """The rows of the file, as records of the selected columns; then its end."""
        yield from datasync.rows(ctx.exports, self.path, self.extra, keep=ctx.columns[self.stream])
        yield UnitEnd()


@dataclass(frozen=True, eq=False)
class ExportsListing:
    """The subscription's folders and manifests, read once for every Data Sync stream (its
    consumers): datasync_periods' rows, and the other streams' files as spawned units."""

    consumers: tuple
    subscription_id: Optional[str]

    state_at_end = True

    @property
    def kind(self) -> "DataSyncKind":
        return DATASYNC

    @property
    def _periods(self) -> Optional[DataSyncScope]:
        return next((c for c in self.consumers if c.files.part == PERIODS), None)

    @property
    def stream(self) -> str:
        return (self._periods or self.consumers[0]).stream.name

    @property
    def streams(self) -> tuple:
        """The stream whose rows this unit writes: datasync_periods, when selected."""
        return (self._periods.stream.name,) if self._periods else ()

    @property
    def checkpointed_streams(self) -> tuple:
        return tuple(c.stream.name for c in self.consumers)

    def position_of(self, row: dict) -> None:
        """The rows of an export are claimed at its end (the PageEnd that follows them)."""
        return None

    def describe(self) -> str:
        return "the Data Sync manifests"

    def as_json(self) -> dict:
        return {"kind": DATASYNC.name, "listing": "exportmanifest.json of every folder"}

    def read(self, ctx: ReadContext) -> Iterator:
        return read_listing(ctx, self)


def read_listing(ctx: ReadContext, unit: ExportsListing) -> Iterator:
    """Each folder's exports after the bookmarks: partitions as rows, files as spawns."""
    store = ctx.exports
    subscription = datasync.find_subscription(store, unit.subscription_id)
    if subscription.ignored:
        LOGGER.info(
            "datasync: folders that are not Pendo's left out: %s", ", ".join(subscription.ignored)
        )
    periods = unit._periods
    for folder in subscription.folders:
        readers = [c for c in unit.consumers if c.reads(folder)]
        if not readers:
            continue
        manifest = datasync.read_manifest(store, folder)
        bookmarks = [c.after(folder) for c in readers]
        oldest = None if None in bookmarks else min(bookmarks)
        lost = manifest.lost(oldest)
        if lost:
            LOGGER.warning(
                "datasync: exports %s of %s dropped out of its manifest before they were "
                "read (Pendo keeps 30 days of exports): their rows cannot be read any more",
                datasync.describe_counters(lost),
                store.url_of(folder.path),
            )
        for export in manifest.after(oldest):
            for consumer in readers:
                mark = consumer.after(folder)
                if mark is not None and export.counter <= mark:
                    continue
                if consumer is periods:
                    yield from consumer.partition_rows(folder, export)
                    yield PageEnd([folder.name, export.counter], 0)
                else:
                    names = consumer.file_names(export)
                    units = consumer.units(folder, names, export)
                    group = (folder.name, export.counter, len(names))
                    yield Spawn(consumer.stream.name, group, units, throttled=True)
    yield UnitEnd()


class DataSyncCheckpoint:
    """A Data Sync stream: its exports in order, per folder; an export is written once all
    of its files of this stream are (or, for datasync_periods, its partitions)."""

    def __init__(self, scope: DataSyncScope, first_units: tuple):
        self.scope = scope
        (self._listing,) = first_units
        self._counters = dict(scope.counters)
        self._under_way = scope.under_way
        self._groups: deque = deque()  # [folder, counter, files in all, files written]
        self._listed = False
        self.finished = False
        self.entry: Optional[dict] = scope.entry(self._counters, self._under_way)

    def spawned(self, spawn: Spawn) -> None:
        folder, counter, total = spawn.group
        self._groups.append([folder, counter, total, total - len(spawn.units)])
        self._moved()

    def written(self, unit, position: Optional[list]) -> None:
        if position is not None:  # datasync_periods: an export's partitions are written
            folder, counter = position
            self._counters[folder] = counter
            self._moved()

    def done(self, unit, result) -> None:
        if unit is self._listing:
            self._listed = True
        else:
            self._groups[0][3] += 1
        self._moved()

    def done_line(self, unit, rows: int) -> None:
        return None

    def _moved(self) -> None:
        while self._groups and self._groups[0][3] == self._groups[0][2]:
            folder, counter, _, _ = self._groups.popleft()
            self._counters[folder] = counter
            self._under_way = None
        if self._groups and self._groups[0][3]:
            folder, counter, _, written = self._groups[0]
            self._under_way = {"folder": folder, "counter": counter, "files": written}
        self.finished = self._listed and not self._groups
        self.entry = self.scope.entry(self._counters, self._under_way)


class DataSyncKind:
    """Data Sync streams: Avro files of the exports, one unit per file."""

    name = "datasync"

    def scope(self, config: Config, state: dict, stream: StreamDef, sync_start_ms: int):
        counters = bookmark_value(state, stream, stream.replication_key) or {}
        return DataSyncScope(
            stream=stream,
            counters=dict(counters),
            under_way=bookmark_value(state, stream, UNDER_WAY),
            start_ms=config.start_ms,
            end_ms=config.end_ms,
        )

    def first_units(self, config: Config, scopes: tuple) -> tuple:
        return (ExportsListing(scopes, config.datasync_subscription),)

    def read(self, ctx: ReadContext, unit) -> Iterator:
        return unit.read(ctx)

    def checkpoint(self, scope: DataSyncScope, first_units: tuple) -> DataSyncCheckpoint:
        return DataSyncCheckpoint(scope, first_units)

    def check_bookmark(self, stream: StreamDef, bookmark: dict, period: str) -> None:
        counters = bookmark.get(stream.replication_key)
        if counters is not None and not (
            isinstance(counters, dict)
            and all(type(counter) is int for counter in counters.values())
        ):
            raise StateError(
                f"state bookmark '{stream.name}.{stream.replication_key}' is "
                f"{str(counters)[:80]!r}, not an export counter per folder such as "
                '{"-323232": 7}: fix it, or remove it to read every export again'
            )
        under_way = bookmark.get(UNDER_WAY)
        if under_way is not None and not (
            isinstance(under_way, dict)
            and isinstance(under_way.get("folder"), str)
            and type(under_way.get("counter")) is int
            and type(under_way.get("files")) is int
        ):
            raise StateError(
                f"state bookmark '{stream.name}.{UNDER_WAY}' is {str(under_way)[:80]!r}, not "
                '{"folder": ..., "counter": ..., "files": ...}: remove it to read that '
                "export's files again"
            )

    def plan_entry(self, scope: DataSyncScope, units: tuple) -> PlanEntry:
        counters = ", ".join(f"{folder} {n}" for folder, n in sorted(scope.counters.items()))
        since = f"exports after {counters}" if counters else "every export"
        end = ms_to_rfc3339(scope.end_ms) if scope.end_ms is not None else None
        return PlanEntry(
            text=f"{since} of the Data Sync manifests, one unit per file",
            requests=0,
            bounds={"from": ms_to_rfc3339(scope.start_ms), "to": end},
            units=tuple(unit.as_json() for unit in units),
            more_requests="for Data Sync, a listing and a read per manifest and per file",
        )


DATASYNC = DataSyncKind()


def discover_columns(store, subscription_id: Optional[str], streams: list) -> dict:
    """stream -> its columns (JSON Schema properties), from the writer schema of its newest
    file in each folder: file headers only. A stream with no file yet is left out."""
    scopes = [
        DataSyncScope(stream, counters={}, under_way=None, start_ms=0, end_ms=None)
        for stream in streams
    ]
    columns: dict = {}
    for folder in datasync.find_subscription(store, subscription_id).folders:
        readers = [scope for scope in scopes if scope.reads(folder)]
        exports = datasync.read_manifest(store, folder).exports if readers else ()
        for scope in readers:
            # The newest export that has files of the stream: a retroactive export has
            # matched files only, a change export of accounts may have no metadata schema.
            path = next(
                (
                    export.path(names[0])
                    for export in reversed(exports)
                    for names in (scope.file_names(export),)
                    if names
                ),
                None,
            )
            if path is None:
                continue
            schema = datasync.json_schema(
                datasync.read_header(store, path).schema, where=store.url_of(path)
            )
            found = columns.setdefault(scope.stream.name, {})
            for column, column_schema in schema["properties"].items():
                found.setdefault(column, column_schema)
            found.update(added_columns(scope.files))
    return columns


def added_columns(files) -> dict:
    """The JSON Schema of the columns the tap adds to a Data Sync stream's rows."""
    added = {files.app_column: {"type": ["integer"]}} if files.app_column else {}
    return {**added, files.counter_column: {"type": ["integer"]}}
