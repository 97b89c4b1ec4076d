"""`FakeDataSync`: a generated subscription whose exports are written one step at a time,
with the ground truth of what a correct tap emits and of what Pendo's view holds."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from pathlib import Path

from . import truth
from .catalog import ID_FIELDS, Catalog
from .days import day_of, start_ms
from .events import EventMaker, LateChange, PeriodEvents
from .exports import (
    CHANGES,
    FULL,
    HISTORICAL,
    RECURRING,
    RETROACTIVE,
    Export,
    ExportBuilder,
)
from .layout import ENTITY_FOLDERS
from .matching import Matcher
from .people import People
from .schemas import LATEST_EVENT_VERSION
from .words import APPS, DEFAULT_APP, SUBSCRIPTION_ID, hex_id
from .writer import TreeWriter

DEFAULT_TODAY = datetime.date(2026, 12, 1)
MANIFEST_DAYS = 30  # the manifest keeps the exports of the last 30 days
# A recurring export finalizes the day 8 days ago; every fifth export the day 9 days ago,
# so that one day is finalized twice and the next one never (its first export stands).
FINALIZED_LAG = 8
LONG_LAG_EVERY = 5
HISTORY_EVENT_VERSION = 1  # the historical export predates `frustrationType`
ADDED_FIELD_COUNTER = 3  # the entity export from which the added metadata field appears


@dataclass
class Written:
    """What a step wrote."""

    counters: dict = field(default_factory=dict)  # folder -> the new counters
    files: int = 0  # Avro files
    rows: int = 0  # rows in them
    late: list = field(default_factory=list)  # LateChange of each finalized day
    emptied: list = field(default_factory=list)  # (app_id, kind, matchable_id, day) now []

    def add(self, export: Export) -> None:
        """Counts one written export."""
        self.counters.setdefault(export.folder, []).append(export.counter)
        self.files += len(export.files)
        self.rows += export.rows

    def merge(self, other: Written) -> Written:
        """This and `other` together."""
        for folder, counters in other.counters.items():
            self.counters.setdefault(folder, []).extend(counters)
        self.files += other.files
        self.rows += other.rows
        self.late += other.late
        self.emptied += other.emptied
        return self


class FakeDataSync:
    """A Pendo subscription (`subscription`, two applications, accounts, visitors) whose
    Data Sync exports are written under `root` (the path a customer configures: the
    tree is `root/datasync/...`). `today` is the fake's clock; the historical export
    covers the `days` days before it. `scale` multiplies entities and events.
    """

    def __init__(
        self,
        root,
        seed: int = 1,
        days: int = 10,
        scale: float = 1.0,
        today: datetime.date = DEFAULT_TODAY,
        subscription: str = SUBSCRIPTION_ID,
        max_file_rows: int = 120,
        max_entity_rows: int = 25,
    ):
        self.root = Path(root)
        self.seed = seed
        self.days = days
        self.subscription = subscription
        self.max_file_rows = max_file_rows
        self.max_entity_rows = max_entity_rows
        self.today = day_of(today)
        self.first_day = self.today - days
        self.apps = APPS
        self.catalogs = {app: Catalog(app, seed, scale, start_ms(self.first_day)) for app in APPS}
        self.people = People(seed, scale, self.first_day)
        self.maker = EventMaker(seed, scale, self.catalogs, self.people)
        self.matcher = Matcher()
        self.writer = TreeWriter(root, subscription, seed)
        self.exports: dict[str, list] = {folder: [] for folder in self.folders}
        self.listed: dict[str, list] = {folder: [] for folder in self.folders}
        self._dropped: dict[str, set] = {folder: set() for folder in self.folders}
        # Pendo's current events of each (app, day), and the matchables with rows in them.
        self.periods: dict[tuple, PeriodEvents] = {}
        self._matched_now: dict[tuple, set] = {}

    # -- the tree ---------------------------------------------------------------

    @property
    def folders(self) -> list:
        """The folder names: the applications' ids, then `account` and `visitor`."""
        return [str(app) for app in APPS] + list(ENTITY_FOLDERS)

    @property
    def url(self) -> str:
        """What a tap's `datasync_url` names: the folder that holds `datasync/`."""
        return str(self.root)

    def manifest_path(self, folder) -> Path:
        """The exportmanifest.json of `folder` (an app id, `account` or `visitor`)."""
        return self.writer.manifest_path(str(folder))

    def export_dir(self, folder, counter: int) -> Path:
        """The folder of one export."""
        return self.writer.export_dir(self.export(folder, counter))

    def export(self, folder, counter: int) -> Export:
        """The export of `folder` with this counter."""
        return next(e for e in self.exports[str(folder)] if e.counter == counter)

    # -- the steps --------------------------------------------------------------

    def write_history(self) -> Written:
        """The first exports: a historical export in each application folder (every day
        of the `days` before today: allEvents, matched files, all definitions) and a full
        export in the account and visitor folders."""
        written = Written()
        for app in APPS:
            export = self._new_export(str(app), HISTORICAL)
            builder = self._builder(export)
            days = range(self.first_day, self.today)
            for day in days:
                period = self.maker.day(app, day)
                self._give_period(builder, period, HISTORY_EVENT_VERSION, len(days) > 1)
            self._add_definitions(builder, app)
            self._finish(export, written)
        for kind in ENTITY_FOLDERS:
            self._write_entities(kind, FULL, list(self.people.rows[kind]), written)
        return written

    def advance(self, days: int = 1) -> None:
        """Moves the fake's clock on."""
        self.today += days

    def next_day(self) -> Written:
        """The next day: the clock moves on, then a recurring export in each application
        folder and a change export in the account and visitor folders."""
        self.advance()
        return self.write_recurring().merge(self.write_changes())

    def write_recurring(self, apps=None) -> Written:
        """A recurring export in each application folder (or those of `apps`): the day
        finalized 8 days ago (9 in every fifth export), which replaces what an earlier
        export gave for it (rows added and dropped, a value corrected), yesterday (not
        final), and all definitions, a few of them edited yesterday."""
        written = Written()
        for app in apps or APPS:
            export = self._new_export(str(app), RECURRING)
            builder = self._builder(export)
            lag = FINALIZED_LAG + (export.counter % LONG_LAG_EVERY == 0)
            finalized_day = self.today - lag
            earlier = self.periods.get((app, finalized_day))
            if earlier is None:
                final = self.maker.day(app, finalized_day)
            else:
                final, change = self.maker.finalize(earlier, export.counter)
                written.late.append(change)
            self._give_period(builder, final, LATEST_EVENT_VERSION, True)
            yesterday = self.periods.get((app, self.today - 1)) or self.maker.day(
                app, self.today - 1
            )
            self._give_period(builder, yesterday, LATEST_EVENT_VERSION, True)
            self.catalogs[app].touch(self.today - 1)
            self._add_definitions(builder, app)
            self._finish(export, written)
        return written

    def write_changes(self, kinds=ENTITY_FOLDERS) -> Written:
        """A change export in the account and visitor folders (or those of `kinds`): the
        records changed in the last 24 hours, whole. From the second change export on,
        the metadata schema has one more custom field."""
        written = Written()
        for kind in kinds:
            if len(self.exports[kind]) + 1 >= ADDED_FIELD_COUNTER:
                self.people.add_field(kind)
            changed = list(dict.fromkeys(self.people.change(kind, self.today - 1)))
            self._write_entities(kind, CHANGES, changed, written)
        return written

    def write_retroactive(self, kind: str = "Page", app=DEFAULT_APP, matchable_id=None) -> Written:
        """A retroactive export after the rule of a page or feature (`matchable_id`, by
        default the one of `app` with the most matched rows) was narrowed: its matched
        files over every period Pendo holds, no allEvents, no definitions; `files: []`
        in the periods it no longer matches, among them the first one it matched."""
        if kind not in ("Page", "Feature"):
            raise ValueError(f"a retroactive export follows a Page or a Feature, not {kind!r}")
        app = int(app)
        if matchable_id is None:
            matchable_id = self._busiest(app, kind)
        days = sorted(day for (app_id, day) in self.periods if app_id == app)
        matched_days = [
            day for day in days if (kind, matchable_id) in self._matched_now[(app, day)]
        ]
        emptied = set(matched_days[:1]) | set(matched_days[5::6])
        self.matcher.narrow(app, kind, matchable_id, emptied)
        self.catalogs[app].change_rule(kind, matchable_id, start_ms(self.today) + 3_600_000)
        written = Written()
        export = self._new_export(str(app), RETROACTIVE)
        builder = self._builder(export)
        for day in days:
            rows = self.matcher.matched_one(self.periods[(app, day)], kind, matchable_id)
            builder.add_period(
                day, None, {(kind, matchable_id): rows}, LATEST_EVENT_VERSION, len(days) > 1
            )
            self._record_matched(app, day, {(kind, matchable_id): rows})
            if not rows and day in matched_days:
                written.emptied.append((app, kind, matchable_id, day))
        self._finish(export, written)
        return written

    def drop_exports(self, folder, counters) -> Path:
        """Takes these counters out of `folder`'s manifest now (exports lost before a
        reader read them); their files stay. Returns the manifest's path."""
        folder = str(folder)
        self._dropped[folder].update(counters)
        return self._write_manifest(folder)

    def lost_exports(self, after=None) -> dict:
        """{folder: counters} of the exports newer than `after` ({folder: last counter
        read}) that the manifests no longer list: what a reader must warn about."""
        bookmarks = {str(folder): counter for folder, counter in (after or {}).items()}
        lost = {}
        for folder, exports in self.exports.items():
            counters = [
                export.counter
                for export in exports
                if export.counter > bookmarks.get(folder, 0)
                and export.counter not in self.listed[folder]
            ]
            if counters:
                lost[folder] = counters
        return lost

    # -- the truth --------------------------------------------------------------

    def emitted(self, stream: str, after=None, start_date=None, end_date=None) -> list:
        """The records a correct tap emits for `stream` when it reads every listed export
        newer than `after` ({folder: last counter read}; None: all). See truth.emitted."""
        return truth.emitted(self._listed_exports(), stream, after, start_date, end_date)

    def view(self, stream: str, start_date=None, end_date=None, listed_only: bool = False) -> list:
        """Pendo's view of `stream`: the loading rule replayed over every export written
        (or only over those the manifests list now). See truth.view."""
        exports = self._listed_exports() if listed_only else self.exports
        return truth.view(exports, stream, start_date, end_date)

    def primary_key(self, stream: str) -> list:
        """The stream's key columns, from the contract's table."""
        return list(truth.PRIMARY_KEYS[stream])

    def columns(self, stream: str) -> dict:
        """{column: JSON Schema} of `stream`: what discovery finds in the writer schemas
        of the exports the manifests list now."""
        return truth.columns(self._listed_exports(), stream)

    # -- inside -----------------------------------------------------------------

    def _new_export(self, folder: str, kind: str) -> Export:
        counter = len(self.exports[folder]) + 1
        export_id = hex_id(random.Random(f"{self.seed}/export/{folder}/{counter}"))
        return Export(folder, counter, export_id, kind, self.today)

    def _builder(self, export: Export) -> ExportBuilder:
        return ExportBuilder(export, self.subscription, self.max_file_rows)

    def _give_period(self, builder, period, version: int, several_periods: bool) -> None:
        """A period's allEvents and matched files; matchables that had rows there before
        and match none now are listed with `files: []`, so that their rows are deleted."""
        key = (period.app_id, period.day)
        matched = self.matcher.matched(period)
        for target in sorted(self._matched_now.get(key, set()) - set(matched)):
            matched[target] = []
        builder.add_period(period.day, period.rows, matched, version, several_periods)
        self.periods[key] = period
        self._record_matched(period.app_id, period.day, matched)

    def _record_matched(self, app: int, day: int, matched: dict) -> None:
        now = self._matched_now.setdefault((app, day), set())
        for target, rows in matched.items():
            (now.add if rows else now.discard)(target)

    def _add_definitions(self, builder, app: int) -> None:
        for kind in ID_FIELDS:
            builder.add_definitions(kind, self.catalogs[app].snapshot(kind))

    def _write_entities(self, kind: str, export_kind: str, ids: list, written: Written) -> None:
        export = self._new_export(kind, export_kind)
        builder = ExportBuilder(export, self.subscription, self.max_entity_rows)
        rows = [self.people.rows[kind][key] for key in ids]
        builder.add_entities(kind, rows, self.people.fields[kind], export.counter % 2 == 1)
        self._finish(export, written)

    def _busiest(self, app: int, kind: str) -> str:
        counts: dict[str, int] = {}
        for (app_id, _day), period in self.periods.items():
            if app_id == app:
                for (target_kind, key), rows in self.matcher.matched(period).items():
                    if target_kind == kind:
                        counts[key] = counts.get(key, 0) + len(rows)
        return max(sorted(counts), key=counts.get)

    def _finish(self, export: Export, written: Written) -> None:
        """Pendo's order: files and bill of materials, then the manifest."""
        self.writer.write_export(export)
        self.exports[export.folder].append(export)
        self._write_manifest(export.folder)
        written.add(export)

    def _write_manifest(self, folder: str) -> Path:
        newest = self.today
        listed = [
            export
            for export in self.exports[folder]
            if newest - export.written_day < MANIFEST_DAYS
            and export.counter not in self._dropped[folder]
        ]
        self.listed[folder] = [export.counter for export in listed]
        return self.writer.write_manifest(folder, listed)

    def _listed_exports(self) -> dict:
        return {
            folder: [e for e in exports if e.counter in set(self.listed[folder])]
            for folder, exports in self.exports.items()
        }

    def summary(self) -> dict:
        """Per folder: exports written, exports listed, Avro files and rows."""
        return {
            folder: {
                "exports": len(exports),
                "listed": list(self.listed[folder]),
                "files": sum(len(e.files) for e in exports),
                "rows": sum(e.rows for e in exports),
            }
            for folder, exports in self.exports.items()
        }


__all__ = ["FakeDataSync", "LateChange", "Written"]
