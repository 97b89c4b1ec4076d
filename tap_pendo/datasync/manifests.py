"""The folders of a Data Sync subscription and their `exportmanifest.json`, parsed into
frozen records: exports in counter order, each with its folder, files and periods.

A manifest keeps 30 days of exports, and a historical export names a file per day and
matchable: a manifest is parsed as a stream (one `timeDependent` entry at a time), never
loaded whole, and file names are kept as the manifest gives them (relative to the export
folder; `Export.path` makes a store path of one).

Folder layout (docs: ../shared/pendo-datasync.md): `datasync/{subscription}/` holds one
folder per application, named by its app id (an integer, possibly negative), and the
`account/` and `visitor/` folders. Decisions where the contract is silent:

- A folder of the subscription that is neither an integer nor `account`/`visitor` is
  not Pendo's (a copy tool's, an operator's): it is left out, and its name is listed in
  `Subscription.ignored` for the caller to mention. Files there are left out silently.
- A folder without `exportmanifest.json` has no export yet (Pendo writes the manifest
  last): its manifest has no exports.
- Several subscription folders under `datasync/`: the caller names one
  (`subscription_id`); without it, an error lists them. Their app ids and account ids
  are not known to be disjoint, so they are never mixed in one reading.
- Exports with the same counter are all kept, in manifest order.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import ijson

from ..errors import DataSyncError
from ..timefmt import DAY_MS, date_text, parse_datetime_ms
from .layout import ACCOUNT, ALL_EVENTS, APPLICATION, MATCHED_KINDS, VISITOR
from .store import HEAD_BLOCK_BYTES, Store

MANIFEST = "exportmanifest.json"
# The key of an account or visitor export's record files: the folder's name, plural.
RECORD_FILES_KEY = {ACCOUNT: f"{ACCOUNT}s", VISITOR: f"{VISITOR}s"}
APP_FOLDER = re.compile(r"^-?[0-9]+$")
_KINDS = {kind: kind for kind in MATCHED_KINDS}
# A manifest is read in requests of this size: most fit in one.
MANIFEST_BLOCK_BYTES = max(HEAD_BLOCK_BYTES, 1 << 20)


@dataclass(frozen=True)
class Folder:
    """One folder of a subscription that has its own manifest."""

    kind: str  # APPLICATION, ACCOUNT or VISITOR
    name: str  # as listed: "-323232", "account", "visitor"
    app_id: Optional[int]  # the application's id; None for account/ and visitor/
    path: str  # store path of the folder
    manifest: str  # store path of its exportmanifest.json


@dataclass(frozen=True)
class Subscription:
    """`datasync/{id}/` and the folders in it: applications by app id, then account/
    and visitor/ (when there)."""

    id: str
    path: str
    folders: tuple[Folder, ...]
    ignored: tuple[str, ...]  # names of folders that are none of Pendo's


@dataclass(frozen=True)
class MatchedEvents:
    """One `matchedEvents` entry: the events of a page, feature or track type in a
    period. `files` may be empty: the matchable matches nothing there any more."""

    __slots__ = ("kind", "matchable_id", "files")
    kind: str  # "Page", "Feature", "TrackType": the id's part before the '/'
    matchable_id: str  # the id's part after the '/'
    files: tuple[str, ...]  # relative to the export folder


@dataclass(frozen=True)
class Period:
    """One `timeDependent` entry: the partitions of one UTC day that an export replaces."""

    __slots__ = ("period_id", "start_ms", "all_events", "matched_events")
    period_id: str  # the UTC day, "2026-11-30"
    start_ms: int  # its start, epoch ms
    all_events: Optional[tuple[str, ...]]  # None when the entry has no allEvents
    matched_events: tuple[MatchedEvents, ...]


@dataclass(frozen=True)
class Partition:
    """What an export replaces in Pendo's view: the events of one kind (and matchable) in
    one period, by `files` (none: the partition is now empty). See `Export.partitions`."""

    __slots__ = ("kind", "matchable_id", "period_id", "start_ms", "files")
    kind: str  # ALL_EVENTS, or a matched kind: "Page", "Feature", "TrackType"
    matchable_id: str  # "" for ALL_EVENTS
    period_id: str  # "2026-11-30"
    start_ms: int
    files: tuple[str, ...]  # relative to the export folder


@dataclass(frozen=True)
class Export:
    """One export of a folder's manifest. File names are relative to `folder`."""

    counter: int
    root_url: str  # as Pendo wrote it; the export is read from `folder`
    folder: str  # store path: {folder of the manifest}/{last segment of root_url}
    page_definitions: tuple[str, ...] = ()
    feature_definitions: tuple[str, ...] = ()
    track_type_definitions: tuple[str, ...] = ()
    guide_definitions: tuple[str, ...] = ()
    periods: tuple[Period, ...] = ()
    records: tuple[str, ...] = ()  # account/: `accounts` files; visitor/: `visitors`
    metadata_schema: tuple[str, ...] = ()  # account/ and visitor/: `metadataSchemaFile`

    def path(self, name: str) -> str:
        """The store path of a file of this export."""
        return Store.join(self.folder, name)

    def files(self) -> tuple[str, ...]:
        """Every file this export names (relative), each once, in manifest order."""
        names = [
            *self.page_definitions,
            *self.feature_definitions,
            *self.track_type_definitions,
            *self.guide_definitions,
            *self.records,
            *self.metadata_schema,
        ]
        for period in self.periods:
            names.extend(period.all_events or ())
            for matched in period.matched_events:
                names.extend(matched.files)
        return tuple(dict.fromkeys(names))

    def partitions(self) -> Iterator[Partition]:
        """The partitions this export replaces, period by period: `allEvents` first (when
        the period has it), then its matched events in manifest order. One row each of
        datasync_periods; their files are the rows of the event streams."""
        for period in self.periods:
            if period.all_events is not None:
                yield Partition(
                    ALL_EVENTS, "", period.period_id, period.start_ms, period.all_events
                )
            for matched in period.matched_events:
                yield Partition(
                    matched.kind,
                    matched.matchable_id,
                    period.period_id,
                    period.start_ms,
                    matched.files,
                )


@dataclass(frozen=True)
class Manifest:
    """A folder's exports, sorted by counter (none when the folder has no manifest yet)."""

    folder: Folder
    exports: tuple[Export, ...]

    @property
    def newest(self) -> Optional[Export]:
        """The export with the highest counter."""
        return self.exports[-1] if self.exports else None

    def after(self, bookmark: Optional[int]) -> tuple[Export, ...]:
        """The exports to read after `bookmark` (the counter last read; None: all)."""
        if bookmark is None:
            return self.exports
        return tuple(export for export in self.exports if export.counter > bookmark)

    def lost(self, bookmark: Optional[int]) -> tuple[range, ...]:
        """The counters after `bookmark` that the manifest no longer (or never) lists
        but that come before one it lists: exports that cannot be read any more. Empty
        without a bookmark. `describe_counters` writes them for a message."""
        if bookmark is None:
            return ()
        gaps = []
        expected = bookmark + 1
        for counter in sorted({export.counter for export in self.exports}):
            if counter > expected:
                gaps.append(range(expected, counter))
            expected = max(expected, counter + 1)
        return tuple(gaps)


def describe_counters(ranges) -> str:
    """`(range(6, 9), range(12, 13))` -> `'6-8, 12'`."""
    return ", ".join(
        str(gap.start) if len(gap) == 1 else f"{gap.start}-{gap[-1]}" for gap in ranges
    )


def find_subscription(store: Store, subscription_id: Optional[str] = None) -> Subscription:
    """The subscription folder under `datasync/` and its folders (no manifest read yet)."""
    found = store.folders(store.datasync)
    where = store.url_of(store.datasync)
    if subscription_id is not None:
        subscription_id = str(subscription_id)
        if subscription_id not in found:
            raise DataSyncError(
                f"{where}: no folder of subscription {subscription_id} "
                f"(found: {', '.join(found) or 'none'}); check datasync_subscription"
            )
    elif not found:
        raise DataSyncError(
            f"{where}: no subscription folder yet: Pendo has written no export there "
            "(check datasync_url, or wait for the first export)"
        )
    elif len(found) > 1:
        raise DataSyncError(
            f"{where}: several subscription folders ({', '.join(found)}); "
            "set datasync_subscription to the one to read"
        )
    else:
        subscription_id = found[0]
    path = store.join(store.datasync, subscription_id)
    folders, ignored = [], []
    for name in store.folders(path):
        folder = _folder(store, path, name)
        if folder is None:
            ignored.append(name)
        else:
            folders.append(folder)
    order = {APPLICATION: 0, ACCOUNT: 1, VISITOR: 2}
    folders.sort(key=lambda folder: (order[folder.kind], folder.app_id or 0))
    return Subscription(subscription_id, path, tuple(folders), tuple(ignored))


def _folder(store: Store, subscription_path: str, name: str) -> Optional[Folder]:
    path = store.join(subscription_path, name)
    manifest = store.join(path, MANIFEST)
    if name in (ACCOUNT, VISITOR):
        return Folder(name, name, None, path, manifest)
    if not APP_FOLDER.match(name):
        return None
    return Folder(APPLICATION, name, int(name), path, manifest)


def read_manifest(store: Store, folder: Folder) -> Manifest:
    """The folder's manifest, parsed as a stream; no exports when it has none yet."""
    where = store.url_of(folder.manifest)
    try:
        stream = store.open(folder.manifest, block_size=MANIFEST_BLOCK_BYTES)
    except FileNotFoundError:
        return Manifest(folder, ())
    exports: list[Export] = []
    with stream, store.errors(folder.manifest):
        try:
            for raw in _raw_exports(stream, where):
                exports.append(_export(raw, folder, store, where))
        except (ijson.JSONError, UnicodeDecodeError) as error:
            reason = " ".join(str(error).split())[:200]
            raise DataSyncError(
                f"{where}: not JSON ({reason}); the manifest is damaged or was cut short: "
                "copy it again from Pendo's export, or ask Pendo support"
            ) from None
    exports.sort(key=lambda export: export.counter)
    return Manifest(folder, tuple(exports))


def _bad(where: str, what: str) -> DataSyncError:
    return DataSyncError(
        f"{where}: not a Data Sync manifest: {what}; copy it again from Pendo's export, "
        "or ask Pendo support"
    )


def _raw_exports(stream, where: str) -> Iterator[dict]:
    """Each entry of `exports` as a dict, its `timeDependent` entries parsed one by one
    (each to a Period as soon as it is whole), so that memory holds one entry of JSON."""
    events = ijson.parse(stream, use_float=True)
    seen_exports = False
    for prefix, event, _ in events:
        if prefix == "" and event not in ("start_map", "end_map", "map_key"):
            raise _bad(where, "not an object")
        if prefix == "exports":
            if event in ("start_array", "null"):
                seen_exports = True
            elif event != "end_array":
                raise _bad(where, "`exports` is not a list")
        elif prefix == "exports.item":
            if event != "start_map":
                raise _bad(where, "an export that is not an object")
            yield _raw_export(events, where)
    if not seen_exports:
        raise _bad(where, "no `exports` list")


def _raw_export(events, where: str) -> dict:
    raw: dict = {}
    key = None
    for prefix, event, value in events:
        if prefix == "exports.item":
            if event == "end_map":
                return raw
            key = value  # map_key
        elif prefix == "exports.item.timeDependent" and key == "timeDependent":
            if event == "start_array":
                raw["timeDependent"] = periods = []
                for item_prefix, item_event, item_value in events:
                    if item_event == "end_array" and item_prefix == prefix:
                        break
                    entry = _value(item_event, item_value, events)
                    periods.append(_period(entry, where))
            elif event != "null":
                raise _bad(where, "`timeDependent` is not a list")
        else:
            raw[key] = _value(event, value, events)
    raise _bad(where, "an export cut short")


def _value(event: str, value, events):
    """One whole JSON value, from its first event on."""
    if event not in ("start_map", "start_array"):
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for _, event, value in events:
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return builder.value
    return builder.value


def _files(value, where: str, key: str) -> tuple[str, ...]:
    """A list of file names: a list or one name; `{"files": [...]}` too. Absent: ()."""
    if isinstance(value, dict):
        value = value.get("files")
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return tuple(value)
    raise _bad(where, f"`{key}` is not a list of file names")


def _period(entry, where: str) -> Period:
    if not isinstance(entry, dict):
        raise _bad(where, "a `timeDependent` entry that is not an object")
    start_ms = _day_start(entry.get("periodId"), where)
    all_events = entry.get("allEvents")
    matched = []
    for item in entry.get("matchedEvents") or ():
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _bad(where, "a `matchedEvents` entry without an id")
        kind, _, matchable_id = item["id"].partition("/")
        kind = _KINDS.setdefault(kind, kind)  # one string per kind, not one per entry
        matched.append(
            MatchedEvents(kind, matchable_id, _files(item.get("files"), where, "matchedEvents"))
        )
    return Period(
        date_text(start_ms // DAY_MS),
        start_ms,
        None if all_events is None else _files(all_events, where, "allEvents"),
        tuple(matched),
    )


def _day_start(period_id, where: str) -> int:
    """The start of the UTC day that `periodId` names (RFC3339, a date, or epoch ms)."""
    if isinstance(period_id, (int, float)) and not isinstance(period_id, bool):
        ms = int(period_id)
    else:
        try:
            ms = parse_datetime_ms(period_id)
        except ValueError:
            raise _bad(where, f"periodId {period_id!r} is not a day") from None
    return ms - ms % DAY_MS


def _export(raw: dict, folder: Folder, store: Store, where: str) -> Export:
    counter = raw.get("counter")
    if isinstance(counter, float) and counter.is_integer():
        counter = int(counter)
    if not isinstance(counter, int) or isinstance(counter, bool):
        raise _bad(where, f"an export whose counter is {counter!r}")
    root_url = raw.get("rootUrl")
    last = root_url.rstrip("/").rsplit("/", 1)[-1] if isinstance(root_url, str) else ""
    if not last:
        raise _bad(where, f"export {counter} has no rootUrl")
    files = {}
    if folder.kind == APPLICATION:
        files = {
            "page_definitions": _files(
                raw.get("pageDefinitionsFile"), where, "pageDefinitionsFile"
            ),
            "feature_definitions": _files(
                raw.get("featureDefinitionsFile"), where, "featureDefinitionsFile"
            ),
            "track_type_definitions": _files(
                raw.get("trackTypeDefinitionsFile"), where, "trackTypeDefinitionsFile"
            ),
            "guide_definitions": _files(
                raw.get("guideDefinitionsFile"), where, "guideDefinitionsFile"
            ),
            "periods": tuple(raw.get("timeDependent") or ()),
        }
    else:
        key = RECORD_FILES_KEY[folder.kind]
        files = {
            "records": _files(raw.get(key), where, key),
            "metadata_schema": _files(raw.get("metadataSchemaFile"), where, "metadataSchemaFile"),
        }
    return Export(counter, root_url, store.join(folder.path, last), **files)
