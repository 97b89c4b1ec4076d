"""The Data Sync streams in PostgreSQL: MeltanoLabs' target-postgres (upsert) loads the
tap's runs, and the README's views (between `<!-- datasync-view` and
`<!-- /datasync-view -->`, run as written) give Pendo's view, as the fake Data Sync
replays Pendo's loading rule (docs/DATA-CONTRACT.md, "Pendo's view").

The loads, into a database of their own:

1. sync 1 (the historical exports), piped into the target as a user pipes it; the
   README's views are created on the tables it made;
2. after two days of exports (new fields among them, so discovery runs again) and a
   retroactive page export, sync 2 is killed with -9 in the middle, and what it printed
   (its whole lines) is loaded;
3. sync 2 resumed from its last STATE, piped into the target.

After loads 1 and 3: each of the four `*_current` views holds exactly the rows of
`fake.view(stream)`, compared on every column the view has (key, export_counter and
the values as the loader keeps them: times as timestamps, absent fields as NULL); the
definition, account, visitor and metadata schema tables and datasync_periods equal
`fake.view(stream)` by key. The event tables hold more than their views (rows that a
later export of their partition left out), which the views leave out.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import datetime, timezone

from tests.fake_pendo.datasync import FakeDataSync
from tests.support.datasync import (
    EVENT_STREAMS,
    STREAMS,
    after_claims,
    datasync_config,
    run_until,
    select_datasync,
)
from tests.support.records import assert_same_records
from tests.support.tap import run_tap
from tests.support.targets import REPO, pipe, quote_ident, tap_to_target, tool

SCHEMA = "pendo"  # the README's views name it
TARGET_SETTINGS = {
    "load_method": "upsert",
    "add_record_metadata": True,
    "activate_version": False,
    "hard_delete": False,
    "validate_records": True,
}
KEYED_TABLES = [stream for stream in STREAMS if stream not in EVENT_STREAMS]


def readme_views() -> str:
    """The SQL of the README's Data Sync views, as written."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("<!-- datasync-view") : readme.index("<!-- /datasync-view -->")]
    return re.search(r"```sql\n(.*?)```", block, re.S).group(1).strip()


def view_name(stream: str) -> str:
    return f"{stream}_current"


def discover(tmp_path, config) -> dict:
    run = run_tap(tmp_path, config, now_ms=None, discover=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return select_datasync(json.loads(run.stdout))


def schemas_of(catalog: dict) -> dict:
    return {entry["tap_stream_id"]: entry["schema"] for entry in catalog["streams"]}


def normalize(value, prop: dict):
    """A value as the loader keeps it: date-times as naive UTC datetimes, dates as their
    day, numbers as floats; absent and null alike."""
    if value is None:
        return None
    if prop.get("format") == "date-time":
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        return parsed
    if prop.get("format") == "date":
        return str(value)[:10]
    if "number" in prop.get("type", []) and "integer" not in prop.get("type", []):
        return float(value)
    return value


def relations(db) -> dict:
    """relation (table or view) of the schema -> its columns, in order."""
    found: dict = {}
    for row in db.rows(
        "SELECT table_name, column_name FROM information_schema.columns"
        f" WHERE table_schema = '{SCHEMA}' ORDER BY table_name, ordinal_position"
    ):
        found.setdefault(row["table_name"], []).append(row["column_name"])
    return found


def contents(db, wanted: dict) -> dict:
    """relation -> its rows (the `wanted` columns), in one query."""
    parts = []
    for relation, columns in wanted.items():
        select = (
            f"SELECT {', '.join(map(quote_ident, columns))} FROM {SCHEMA}.{quote_ident(relation)}"
        )
        parts.append(f"'{relation}', (SELECT coalesce(json_agg(q), '[]'::json) FROM ({select}) q)")
    return db.value(f"SELECT json_build_object({', '.join(parts)})")


def assert_rows_are_the_view(got_rows, columns, stream, fake, schema: dict, what: str):
    """Rows (of a table or a view) hold exactly `fake.view(stream)`, compared on
    `columns`; each key once."""
    props = schema["properties"]
    key = fake.primary_key(stream)
    assert set(key) | {"export_counter"} <= set(columns), (what, columns)
    expected_rows = fake.view(stream)
    assert expected_rows, f"{what}: Pendo's view is empty, so the test proves nothing"

    def normalized(rows) -> list:
        return [{c: normalize(row.get(c), props[c]) for c in columns} for row in rows]

    assert_same_records(what, normalized(got_rows), normalized(expected_rows), key)


def check_views(db, fake, schemas: dict, when: str) -> dict:
    """Every view and keyed table against Pendo's view, on the stream's columns each has;
    returns rows per event table."""
    found = relations(db)
    streams = {view_name(stream): stream for stream in EVENT_STREAMS}
    streams.update({stream: stream for stream in KEYED_TABLES})
    wanted = {}
    for relation, stream in streams.items():
        assert relation in found, f"{when}: no {SCHEMA}.{relation}"
        wanted[relation] = [c for c in found[relation] if c in schemas[stream]["properties"]]
    rows = contents(db, wanted)
    for relation, stream in streams.items():
        assert_rows_are_the_view(
            rows[relation], wanted[relation], stream, fake, schemas[stream], f"{when}: {relation}"
        )
    counts = ", ".join(
        f"'{s}', (SELECT count(*) FROM {SCHEMA}.{quote_ident(s)})" for s in EVENT_STREAMS
    )
    return db.value(f"SELECT json_build_object({counts})")


def test_readme_views_equal_pendos_view_after_two_loads_and_a_kill(postgres, tmp_path):
    dbname = f"datasync_{uuid.uuid4().hex[:12]}"
    postgres.psql(f"CREATE DATABASE {dbname}")
    db = dataclasses.replace(postgres, dbname=dbname)
    target = [tool("target-postgres", "target-postgres")]
    target_config = db.target_config(SCHEMA, **TARGET_SETTINGS)

    fake = FakeDataSync(tmp_path / "tree", seed=7, days=9, scale=0.3)
    fake.write_history()
    config = datasync_config(fake.url, max_concurrent_requests=4)
    catalog1 = discover(tmp_path / "discover1", config)
    first, _ = tap_to_target(
        tmp_path / "load1", config, catalog1, target, target_config, now_ms=None
    )
    assert set(first.records) == set(STREAMS)
    db.psql(readme_views())
    check_views(db, fake, schemas_of(catalog1), "after load 1")

    fake.next_day()
    fake.next_day()
    fake.write_retroactive("Page")
    catalog2 = discover(tmp_path / "discover2", config)
    schemas = schemas_of(catalog2)
    killed, was_killed = run_until(
        tmp_path / "sync2", config, catalog2, first.state, after_claims(rows=20)
    )
    assert was_killed and killed.state, killed.stderr[-2000:]
    lines = killed.stdout.split("\n")[:-1]  # whole lines only
    printed = tmp_path / "killed.jsonl"
    printed.write_text("".join(f"{line}\n" for line in lines))
    (tmp_path / "load2").mkdir()
    pipe(target, printed, tmp_path / "load2", target_config)
    resumed, _ = tap_to_target(
        tmp_path / "load3",
        config,
        catalog2,
        target,
        target_config,
        now_ms=None,
        state=killed.state,
    )
    assert resumed.records, "the resumed run had nothing left to do"
    rows = check_views(db, fake, schemas, "after the kill and the resumed load")

    # Rows that later exports of their partition left out are in the tables, not the views.
    assert rows["datasync_events"] > len(fake.view("datasync_events"))
    assert rows["datasync_page_events"] > len(fake.view("datasync_page_events"))
    postgres.psql(f"DROP DATABASE {dbname}")
