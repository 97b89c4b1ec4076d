"""Discovery, end to end: the catalog lists the 19 streams with standard Singer metadata,
types custom fields from Pendo's metadata schemas, follows the period, and its
requests are counted in METRIC lines like a sync's.

The catalog is discovered once per test process (the `catalogs` fixture); the test
of METRIC lines makes its own discovery, to read its stderr. Time plays no part in a
catalog; the fake stands at US_DST_WEEK (tests/support/moments.py) all the same.
"""

import json

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.records import ALL_STREAMS, primary_key
from tests.support.singer import metric_points
from tests.support.tap import run_tap


def root(entry: dict) -> dict:
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def streams_of(catalog: dict) -> dict:
    return {s["tap_stream_id"]: s for s in catalog["streams"]}


@pytest.fixture(scope="module")
def fake():
    with pinned_fake(moments.US_DST_WEEK, scale=0.05, days=2) as server:
        yield server


def test_discovery_lists_the_19_streams_with_standard_metadata(catalogs):
    streams = streams_of(catalogs())
    assert list(streams) == ALL_STREAMS  # Stitch's 15, then the four beyond them
    for name, entry in streams.items():
        top = root(entry)
        assert entry["stream"] == name
        assert entry["key_properties"] == primary_key(name), name
        assert top["table-key-properties"] == entry["key_properties"]
        assert top["forced-replication-method"] in ("INCREMENTAL", "FULL_TABLE")
        assert top["inclusion"] == "available"
        fields = {m["breadcrumb"][1]: m["metadata"] for m in entry["metadata"] if m["breadcrumb"]}
        assert set(fields) == set(entry["schema"]["properties"]), name
        assert all(f["inclusion"] in ("automatic", "available") for f in fields.values())
        automatic = {f for f, m in fields.items() if m["inclusion"] == "automatic"}
        assert set(entry["key_properties"]) <= automatic
        assert not any(m.get("selected") for m in fields.values()), f"{name}: selected already"
        if top["forced-replication-method"] == "INCREMENTAL":
            assert top["valid-replication-keys"][0] in automatic
    assert streams["accounts"]["key_properties"] == ["account_id"]
    assert root(streams["feature_events"])["parent-tap-stream-id"] == "features"
    assert "day" in streams["events"]["schema"]["properties"]
    assert "hour" not in streams["events"]["schema"]["properties"]
    # The four streams beyond Stitch's: keys, replication keys, parents, columns.
    for name, key, parent, columns in (
        ("guide_steps", ["guide_id", "id"], "guides", {"guide_id", "type", "poll_ids"}),
        ("polls", ["guide_id", "id"], "guides", {"guide_id", "question", "attributes"}),
        ("segments", ["id"], None, {"name", "pipeline", "created_at"}),
        ("reports", ["id"], None, {"name", "definition", "kind", "last_run_at"}),
    ):
        top = root(streams[name])
        assert streams[name]["key_properties"] == key, name
        assert top["forced-replication-method"] == "INCREMENTAL", name
        assert top["valid-replication-keys"] == ["last_updated_at"], name
        assert top.get("parent-tap-stream-id") == parent, name
        properties = streams[name]["schema"]["properties"]
        assert columns | {"id", "last_updated_at"} <= set(properties), name
        assert properties["last_updated_at"]["format"] == "date-time", name


def test_custom_fields_are_typed_from_the_metadata_schema(fake, catalogs):
    accounts = streams_of(catalogs())["accounts"]
    custom = accounts["schema"]["properties"]["metadata_custom"]["properties"]
    declared = fake.dataset.metadata_schema("account")["custom"]
    seen = set()
    for field, attributes in declared.items():
        seen.add(attributes["Type"])
        schema = custom[field]
        if attributes["Type"] == "time":
            assert schema["format"] == "date-time"
        elif attributes["Type"] == "integer":
            assert "integer" in schema["type"]
        elif attributes["Type"] == "list":
            assert "array" in schema["type"]
        elif attributes["Type"] == "":
            assert "type" not in schema
    assert {"time", "integer", "list", ""} <= seen


def test_the_hour_period_puts_hour_in_the_schemas_and_keys(catalogs):
    for name, entry in streams_of(catalogs("hourRange")).items():
        properties = entry["schema"]["properties"]
        assert "day" not in properties, name
        if name in ("events", "feature_events", "page_events", "track_events"):
            assert "hour" in entry["key_properties"], name
        assert entry["key_properties"] == primary_key(name, "hourRange"), name


def test_discovery_writes_a_metric_line_per_request(fake, tmp_path):
    fake.reset_log()
    run = run_tap(tmp_path, base_config(fake), now_ms=fake.dataset.now_ms, discover=True)
    assert run.returncode == 0, run.stderr
    log = fake.log
    assert len(json.loads(run.stdout)["streams"]) == len(ALL_STREAMS)
    timers = metric_points(run.stderr, "http_request_duration")
    assert len(timers) == log["total"] == log["requests"]["metadata"] == 2
    assert sorted(t["tags"]["endpoint"] for t in timers) == [
        "metadata_accounts",
        "metadata_visitors",
    ]
    for timer in timers:
        assert timer["type"] == "timer"
        assert timer["tags"]["http_status_code"] == 200 and timer["tags"]["status"] == "succeeded"
        assert isinstance(timer["value"], float) and timer["value"] >= 0
