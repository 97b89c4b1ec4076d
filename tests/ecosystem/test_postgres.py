"""MeltanoLabs' target-postgres loads every stream in full, then incrementally.

`tap-pendo | target-postgres` runs as a user runs it (two processes and a pipe)
against the fake Pendo service, once from `start_date` and once more from the
first run's state after the fake's clock has moved on 26 hours. After each load,
SQL shows what a user sees in the database:

- one table per stream that discovery lists, its columns the stream's properties
  (names as they are) plus the target's `_sdc_*` columns, its primary key the
  stream's key;
- exactly one row per distinct key, no key column NULL;
- each row is the last record the tap wrote with that key, column by column, so
  the table holds as many rows as the tap wrote distinct keys (the keyless
  metadata streams: one row per sync, appended);
- an empty Pendo `accountId` is stored as `''`, not NULL and not `(none)`, and
  every event table has such rows;
- the tables hold the fake's ground truth at its current clock;
- the incremental load touched only rows at or after the first run's bookmarks
  (less the re-read of late data), as many as the tap wrote distinct keys;
- the worked example of docs/EXAMPLES.md (NPS from poll_events joined to polls) runs on the
  loaded tables and gives the scores computed from the tap's records.

Pinned clock (tests/support/moments.py): YEAR_END_NEW_YORK, 31 December 2026 at 22:00
in New York; the second load comes 26 hours later, in 2027 there too.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import DAY_MS, HOUR_MS, ms
from tests.support.records import ALL_STREAMS, EVENTS, by_key
from tests.support.tap import select
from tests.support.targets import normalize, quote_ident, tap_to_target, tool

SCHEMA = "pendo"
TARGET_SETTINGS = {
    "load_method": "upsert",  # what it does anyway for a stream with a key; said explicitly
    "add_record_metadata": True,  # the _sdc_* columns (the default)
    "activate_version": False,  # tap-pendo sends no ACTIVATE_VERSION
    "hard_delete": False,
    "validate_records": True,
}
# What add_record_metadata adds to every table (target-postgres 0.8.1, Meltano SDK 0.54).
SDC_COLUMNS = {
    "_sdc_extracted_at",
    "_sdc_received_at",
    "_sdc_batched_at",
    "_sdc_deleted_at",
    "_sdc_sequence",
    "_sdc_table_version",
    "_sdc_sync_started_at",
}
# Besides the key, columns compared with the ground truth: a replication key moves
# when an entity is updated; counts grow with late events.
VALUE_COLUMNS = [
    "lastupdated",
    "last_updated_at",
    "num_events",
    "num_minutes",
    "last_time",
    "modified_ts",
    "last_ts",
]


def table(stream: str) -> str:
    return f"{SCHEMA}.{quote_ident(stream)}"


def hashable(value, prop: dict):
    """A value as a target gives it back, comparable: JSON objects and arrays as sorted text."""
    value = normalize(value, prop)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def rows_as_tuples(rows, columns: list, schema: dict) -> Counter:
    props = schema["properties"]
    return Counter(tuple(hashable(row.get(c), props.get(c, {})) for c in columns) for row in rows)


def sql_timestamp(value: str) -> str:
    """An RFC3339 time as a literal of the target's `timestamp without time zone` (UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return "'" + parsed.replace(tzinfo=None).isoformat(sep=" ") + "'::timestamp"


def columns_of(postgres, stream: str) -> set:
    return {
        r["column_name"]
        for r in postgres.rows(
            "SELECT column_name FROM information_schema.columns"
            f" WHERE table_schema = '{SCHEMA}' AND table_name = '{stream}'"
        )
    }


def check_load(postgres, fake, config, streams, schemas, runs) -> dict:
    """Every table after the loads of `runs`; returns rows per table."""
    tables = {
        r["table_name"]
        for r in postgres.rows(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{SCHEMA}'"
        )
    }
    assert tables == set(streams)
    counts = {}
    for stream in streams:
        schema, key = schemas[stream]["schema"], schemas[stream]["key_properties"]
        columns = list(schema["properties"])
        assert columns_of(postgres, stream) == set(columns) | SDC_COLUMNS, stream
        assert postgres.primary_key(SCHEMA, stream) == set(key), stream
        sent = [r for run in runs for r in run.records.get(stream, [])]
        count = postgres.value(f"SELECT count(*) FROM {table(stream)}")
        counts[stream] = count
        rows = postgres.rows(f"SELECT {', '.join(map(quote_ident, columns))} FROM {table(stream)}")
        if key:
            keys = ", ".join(map(quote_ident, key))
            distinct = postgres.value(
                f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM {table(stream)}) d"
            )
            null_keys = postgres.value(
                f"SELECT count(*) FROM {table(stream)} WHERE "
                + " OR ".join(f"{quote_ident(k)} IS NULL" for k in key)
            )
            expected = list(by_key(sent, key).values())
            assert count == distinct == len(expected) > 0, (stream, count, distinct, len(expected))
            assert null_keys == 0, stream
        else:
            expected = sent  # appended, one row per record
            assert count == len(expected) == len(runs), stream
        got, want = rows_as_tuples(rows, columns, schema), rows_as_tuples(expected, columns, schema)
        missing, extra = want - got, got - want
        assert not missing and not extra, (
            f"{stream}: {sum(missing.values())} rows as sent missing, e.g. {list(missing)[:1]}; "
            f"{sum(extra.values())} rows not as sent, e.g. {list(extra)[:1]}"
        )
        if "account_id" in columns:
            stored = postgres.rows(
                "SELECT count(*) FILTER (WHERE account_id = '') AS empty,"
                " count(*) FILTER (WHERE account_id IS NULL) AS null,"
                " count(*) FILTER (WHERE account_id = '(none)') AS none"
                f" FROM {table(stream)}"
            )[0]
            values = Counter(r.get("account_id") for r in expected)
            assert stored == {
                "empty": values[""],
                "null": values[None],
                "none": values["(none)"],
            }, stream
            if stream in EVENTS:
                assert stored["empty"] > 0 and stored["none"] == 0, (stream, stored)
        if stream in ALL_STREAMS:
            check_truth(postgres, fake, config, stream, schema, key, count, len(runs))
    return counts


def check_truth(postgres, fake, config, stream, schema, key, count, loads) -> None:
    """The table against the fake's ground truth at its current clock, by the tap's key."""
    expected = fake.truth(stream, start_ms=ms(config["start_date"]))
    if not key:
        columns = sorted(expected[0])
        rows = postgres.rows(f"SELECT {', '.join(map(quote_ident, columns))} FROM {table(stream)}")
        assert rows == [expected[0]] * loads, stream
        return
    columns = key + [c for c in VALUE_COLUMNS if c in schema["properties"] and c not in key]
    rows = postgres.rows(f"SELECT {', '.join(map(quote_ident, columns))} FROM {table(stream)}")
    got, want = rows_as_tuples(rows, columns, schema), rows_as_tuples(expected, columns, schema)
    missing, extra = want - got, got - want
    assert count == len(expected), (stream, count, len(expected))
    assert not missing and not extra, (
        f"{stream}: {sum(missing.values())} truth rows missing, e.g. {list(missing)[:2]}; "
        f"{sum(extra.values())} rows not in the truth, e.g. {list(extra)[:2]}"
    )


def check_incremental(postgres, streams, schemas, catalog, first, second) -> dict:
    """Rows the second load wrote or updated, by `_sdc_sync_started_at` (one value per target
    run): as many as the tap wrote distinct keys, none older than the first run's bookmark
    less the late data read again (a day for periods and history, a day and 25 hours for
    guide and poll events). Returns rows touched per table."""
    started = sorted(
        {
            r["_sdc_sync_started_at"]
            for stream in streams
            for r in postgres.rows(f"SELECT DISTINCT _sdc_sync_started_at FROM {table(stream)}")
        }
    )
    assert len(started) == 2, started
    replication = {}  # stream -> its replication key (None: full table)
    for entry in catalog["streams"]:
        (top,) = (m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        keys = top.get("valid-replication-keys") or [None]
        replication[entry["tap_stream_id"]] = keys[0]
    touched, bounded = {}, set()
    for stream in streams:
        key = schemas[stream]["key_properties"]
        sent = second.records.get(stream, [])
        where = f"_sdc_sync_started_at = {started[1]}"
        touched[stream] = postgres.value(f"SELECT count(*) FROM {table(stream)} WHERE {where}")
        assert touched[stream] == (len(by_key(sent, key)) if key else len(sent)), stream
        replication_key = replication[stream]
        if not key or replication_key is None:
            continue
        # The state's bookmark is keyed by the replication key (the README's State section).
        bookmark = first.state["bookmarks"][stream][replication_key]
        reach = 0
        if stream in EVENTS or stream == "visitor_history":
            reach = DAY_MS + (25 * HOUR_MS if replication_key == "browser_time" else 0)
        column = "ts" if stream == "visitor_history" else replication_key
        low = datetime.fromtimestamp((ms(bookmark) - reach) / 1000, timezone.utc)
        older = postgres.value(
            f"SELECT count(*) FROM {table(stream)} WHERE {where}"
            f" AND {quote_ident(column)} < {sql_timestamp(low.isoformat())}"
        )
        assert older == 0, (stream, older, bookmark)
        bounded.add(stream)
    assert set(EVENTS) | {"accounts", "visitor_history"} <= bounded
    return touched


def readme_nps_query() -> str:
    """The SQL of the worked example in docs/EXAMPLES.md."""
    readme = (Path(__file__).parents[2] / "docs" / "EXAMPLES.md").read_text()
    block = readme[readme.index("<!-- nps-example") : readme.index("<!-- /nps-example -->")]
    return re.search(r"```sql\n(.*?)```", block, re.S).group(1).strip().rstrip(";")


def check_nps_example(postgres, runs, schemas) -> list:
    """The NPS query of docs/EXAMPLES.md on the loaded tables equals NPS computed from the
    records."""
    merged = {}
    for stream in ("poll_events", "polls"):
        key = schemas[stream]["key_properties"]
        merged[stream] = by_key([r for run in runs for r in run.records[stream]], key)
    nps_polls = {
        (p["guide_id"], p["id"]): p["question"]
        for p in merged["polls"].values()
        if (p.get("attributes") or {}).get("type") == "NPSRating"
    }
    latest = {}
    for event in merged["poll_events"].values():
        poll = (event["guide_id"], event["poll_id"])
        answer = str(event.get("poll_response"))
        if poll not in nps_polls or not answer.isdigit():
            continue
        who = (*poll, event["visitor_id"])
        if who not in latest or event["browser_time"] > latest[who][0]:
            latest[who] = (event["browser_time"], int(answer))
    expected = {}
    for (guide, poll, _), (_, score) in latest.items():
        counts = expected.setdefault((guide, poll), Counter())
        counts["respondents"] += 1
        counts["promoters" if score >= 9 else "passives" if score >= 7 else "detractors"] += 1
    got = postgres.rows(readme_nps_query())
    assert got, "the NPS example found no NPS poll answered"
    assert {(r["guide_id"], r["poll_id"]) for r in got} == set(expected)
    for row in got:
        counts = expected[(row["guide_id"], row["poll_id"])]
        assert row["question"] == nps_polls[(row["guide_id"], row["poll_id"])]
        assert {k: row[k] for k in ("respondents", "promoters", "passives", "detractors")} == {
            k: counts[k] for k in ("respondents", "promoters", "passives", "detractors")
        }
        nps = 100 * (counts["promoters"] - counts["detractors"]) / counts["respondents"]
        assert abs(float(row["nps"]) - nps) <= 0.05
    return got


def test_full_then_incremental_load_of_every_stream(postgres, catalogs, tmp_path):
    target = [tool("target-postgres", "target-postgres")]
    target_config = postgres.target_config(SCHEMA, **TARGET_SETTINGS)
    with pinned_fake(moments.YEAR_END_NEW_YORK, seed=31, scale=0.2, days=10) as fake:
        config = base_config(fake, lookback_window=1)
        streams = [s["tap_stream_id"] for s in catalogs()["streams"]]
        catalog = select(catalogs(), streams)

        first, out = tap_to_target(
            tmp_path / "1", config, catalog, target, target_config, now_ms=fake.dataset.now_ms
        )
        assert set(first.records) == set(streams)
        # The target echoes the last state once the rows before it are committed.
        assert json.loads(out.strip().splitlines()[-1]) == first.state
        schemas = first.schemas
        full = check_load(postgres, fake, config, streams, schemas, [first])

        fake.advance(26)  # the tap's clock moves along with it (libfaketime)
        second, out = tap_to_target(
            tmp_path / "2",
            config,
            catalog,
            target,
            target_config,
            now_ms=fake.dataset.now_ms,
            state=first.state,
        )
        assert json.loads(out.strip().splitlines()[-1]) == second.state != first.state
        assert {s: m["key_properties"] for s, m in second.schemas.items()} == {
            s: schemas[s]["key_properties"] for s in second.schemas
        }
        after = check_load(postgres, fake, config, streams, schemas, [first, second])
        touched = check_incremental(postgres, streams, schemas, catalog, first, second)
        nps = check_nps_example(postgres, [first, second], schemas)

    # The second load wrote a small part of the tables, and added rows.
    assert 0 < sum(touched.values()) < sum(after.values()) / 2
    assert after["accounts"] > full["accounts"]
    empty = {
        s: postgres.value(f"SELECT count(*) FROM {table(s)} WHERE account_id = ''") for s in EVENTS
    }
    print(f"\nrows after the full load: {full}\nafter the incremental load: {after}")
    print(f"rows the incremental load wrote: {touched}\naccount_id = '': {empty}")
    print(f"the NPS example of docs/EXAMPLES.md: {nps}")
