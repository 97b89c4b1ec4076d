"""A fake Pendo Data Sync: a deterministic writer of export trees (Avro files and
manifests, laid out as `../shared/pendo-datasync.md` says) and their ground truth (what
a correct tap emits, per docs/DATA-CONTRACT.md, and Pendo's view), written from the
contracts only, independently of `tap_pendo`.

    fake = FakeDataSync(tmp_path, seed=1, days=10)   # today: 2026-12-01
    fake.write_history()           # historical exports (counter 1) in both app folders,
                                   # full account and visitor exports
    fake.next_day()                # clock + 1 day: recurring and change exports
    fake.write_retroactive("Page") # a page's matched files over its whole history
    fake.drop_exports("-323232", [2])          # lost before a reader read them
    fake.lost_exports(after={"-323232": 1})    # {"-323232": [2]}: a reader must warn
    run_tap(datasync_url=fake.url)
    fake.emitted("datasync_events", after={"-323232": 1})   # what the tap must emit
    fake.view("datasync_page_events")          # Pendo's view after every export
    fake.primary_key("datasync_events"), fake.columns("datasync_events")

    damage.truncate_avro(fake.root)   # also corrupt_avro, break_manifest,
                                      # delete_listed_file, remove_datasync
    with S3Store(fake.root) as store:           # moto's server, the tree uploaded
        read(store.url, **store.storage_options)
        fake.next_day(); store.upload()         # new and changed files, manifests last
    write_big(tmp_path, rows=1_000_000)         # the benchmark's one big file

    python -m tests.fake_pendo.datasync write DIR [--seed N] [--days N] [--recurring N]
                                                  [--retroactive N] [--scale X]
    python -m tests.fake_pendo.datasync big DIR --rows N [--codec snappy|deflate|null]

Modules, one job each: `fake` (FakeDataSync: the steps and the state between them),
`catalog` (pages, features, track types, guides of an app), `people` (accounts,
visitors, metadata schemas), `events` (a day's events, a finalized day's late data),
`matching` (which events a matchable matches; narrowed rules), `exports` (an export's
manifest entry and files), `layout` (paths), `schemas` (Avro writer schemas; their
JSON Schema types), `writer` (Avro files, bill of materials, manifest, in Pendo's
order), `truth` (emitted, view, keys, columns), `damage`, `s3`, `big`, `days`, `words`
(value pools, ids), `__main__` (the command line).

Sizes and times (this machine, 2 shared cores)
----------------------------------------------
Default (scale 1, days 10): apps -323232 (12 pages, 18 features, 6 track types, 8
guides; about 150 events a weekday, half on weekends) and 5668600916475904 (6, 8, 3,
4; about 60); 40 accounts, 150 visitors. The historical exports hold 1,700 events
(2,700 event rows with the matched files, 3,000 rows and 470 Avro files in all) and
take 0.3 s to make and write; a `next_day()` 0.05 s (two periods an app, 110 files).
The command line's default tree (history, 3 days, 1 retroactive export): 810 files,
5,400 rows, under 1 s. `big` writes 1 million rows in 3 s with snappy (91 MB) or
null (380 MB), 7 s with deflate (55 MB), in under 40 MB of memory: it splices each
row's eventId and browserTimestamp into template rows that fastavro encoded, and
fastavro frames, compresses and syncs the blocks (its own writer, at 45,000 of these
rows a second, would take 22 s). Times double when the other core is busy.

Where the contracts are silent, this fake chooses
--------------------------------------------------
- Counters start at 1 in each folder; export ids are 32 hex characters from the seed;
  `rootUrl` is `gs://acme-pendo/datasync/{subscription}/{folder}/{exportId}`, with no
  trailing slash.
- An export that covers several periods has a folder per period (`20261130/...`); a
  one-period export (`days=1`, `big`) keeps its files at its top. allEvents files are
  split above `max_file_rows` rows (120), account and visitor files above
  `max_entity_rows` (25), matched files never.
- A period's `matchedEvents` lists each matchable with rows in it, plus, with
  `files: []`, those that had rows in Pendo's view of that period and match none now;
  a matchable that never matched there is not listed. An empty allEvents period would
  be `{"files": []}`.
- A recurring export holds the day finalized 8 days before the export's day (every
  fifth export: 9, so that one day is finalized twice and the next never), then
  yesterday, and all four definition files whole. Finalizing drops one row in 25,
  corrects `region` in one kept row in 50, adds one row in 12 (each at least one);
  eventIds are never reused. Each day one or two definitions are edited, and every
  third day a feature is added.
- Events: the historical exports write schema version 1; every later export version
  2, which adds the nullable `frustrationType`. A record from a version-1 file has no
  `frustration_type` key (absent stays absent); a version-2 record of an old row has
  it as null. Definitions: only a feature's `pageId` and a guide's `publishedAt` are
  nullable; account and visitor fields are all nullable, `id` aside.
- A retroactive export (by default the page with the most matched rows of the default
  app) lists every period Pendo holds for the app, `files: []` where the narrowed rule
  matches nothing: the first period it matched and every sixth after are emptied,
  elsewhere one event in four drops out. The narrowed rule holds for later exports,
  and the definition's rule and `lastUpdatedAt` change (seen in the next recurring
  export's definitions).
- Account and visitor exports: the first holds every record; a change export holds
  the records changed yesterday (and new visitors), whole. `metadataSchemaFile` is a
  list in odd counters and a string in even ones. From counter 3 on, a custom field
  is added (`custom__renewalDate`, `custom__favoriteWidget`). A deleted metadata field
  (`isDeleted`) is in metadataschema.avro but not a field of the accounts or visitors
  files.
- The manifest lists the exports written less than 30 days before the fake's
  `today`, less the dropped ones; the files of exports that dropped out stay.
  `columns` (discovery) reads the writer schemas of the listed exports; `view` replays
  every export written (`listed_only=True`: the listed ones).
- JSON is written compact, UTF-8; a manifest by a rename, never half-written.
- Truth: `emitted` goes folder by folder (apps, account, visitor), in counter order,
  manifest order and row order; `view` is sorted by primary key. Only event streams
  and datasync_periods are bounded by `start_date`/`end_date`. A column's JSON types
  include "null" exactly when its Avro field is nullable.
- S3: moto's server in region eu-west-1 (s3fs sends a LocationConstraint, which
  us-east-1 refuses), fixed fake credentials.
"""

from . import damage
from .big import BigTree, big_rows, write_big
from .events import LateChange
from .fake import DEFAULT_TODAY, FakeDataSync, Written
from .s3 import S3Store
from .truth import PRIMARY_KEYS, STREAMS

__all__ = [
    "DEFAULT_TODAY",
    "PRIMARY_KEYS",
    "STREAMS",
    "BigTree",
    "FakeDataSync",
    "LateChange",
    "S3Store",
    "Written",
    "big_rows",
    "damage",
    "write_big",
]
