"""Entity and metadata streams, end to end: the installed tap against the fake Pendo."""

import pytest

from tests.fake_pendo.truth import primary_key
from tests.integration.harness import ALL_STREAMS, base_config, by_key, discover, run_tap, select

ENTITIES = ["accounts", "visitors", "features", "pages", "guides", "track_types"]
GUIDE_PARTS = ["guide_steps", "polls"]  # rows inside the guides' rows, read with them
METADATA = ["metadata_accounts", "metadata_visitors"]
PAGE = 25  # smaller than the fake's groups of rows that share one date


def start_ms(config):
    from tap_pendo.timefmt import parse_datetime_ms

    return parse_datetime_ms(config["start_date"])


def assert_matches_truth(fake, run, streams, config, **settings):
    """Every truth row exactly once, equal field by field; nothing else."""
    records = run.records
    for stream in streams:
        key = primary_key(stream, config.get("period", "dayRange"))
        got = records.get(stream, [])
        expected = fake.truth(stream, start_ms=start_ms(config), **settings)
        if key:
            assert len(by_key(got, key)) == len(got), f"{stream}: a key came twice"
            assert by_key(got, key) == by_key(expected, key), f"{stream} differs from the truth"
        else:
            assert got == expected, f"{stream} differs from the truth"
        assert len(got) == len(expected) > 0, stream


@pytest.fixture(scope="module")
def fake():
    from tests.fake_pendo import FakePendo

    with FakePendo(seed=3) as server:
        yield server


@pytest.fixture(scope="module")
def catalog(fake, tmp_path_factory):
    return discover(fake, tmp_path_factory.mktemp("discover"), base_config(fake))


def test_discovery_lists_the_19_streams_with_standard_metadata(catalog):
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert list(streams) == ALL_STREAMS  # Stitch's 15, then the four beyond them
    for name, entry in streams.items():
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        assert entry["stream"] == name
        assert entry["key_properties"] == primary_key(name), name
        assert root["table-key-properties"] == entry["key_properties"]
        assert root["forced-replication-method"] in ("INCREMENTAL", "FULL_TABLE")
        assert root["inclusion"] == "available"
        fields = {m["breadcrumb"][1]: m["metadata"] for m in entry["metadata"] if m["breadcrumb"]}
        assert set(fields) == set(entry["schema"]["properties"]), name
        assert all(f["inclusion"] in ("automatic", "available") for f in fields.values())
        automatic = {f for f, m in fields.items() if m["inclusion"] == "automatic"}
        assert set(entry["key_properties"]) <= automatic
        if root["forced-replication-method"] == "INCREMENTAL":
            assert root["valid-replication-keys"][0] in automatic
    assert streams["accounts"]["key_properties"] == ["account_id"]
    assert _root(streams["feature_events"])["parent-tap-stream-id"] == "features"
    assert "day" in streams["events"]["schema"]["properties"]
    assert "hour" not in streams["events"]["schema"]["properties"]
    # The four streams beyond Stitch's: keys, replication keys, parents, columns.
    for name, key, parent, columns in (
        ("guide_steps", ["guide_id", "id"], "guides", {"guide_id", "type", "poll_ids"}),
        ("polls", ["guide_id", "id"], "guides", {"guide_id", "question", "attributes"}),
        ("segments", ["id"], None, {"name", "pipeline", "created_at"}),
        ("reports", ["id"], None, {"name", "definition", "kind", "last_run_at"}),
    ):
        root = _root(streams[name])
        assert streams[name]["key_properties"] == key, name
        assert root["forced-replication-method"] == "INCREMENTAL", name
        assert root["valid-replication-keys"] == ["last_updated_at"], name
        assert root.get("parent-tap-stream-id") == parent, name
        properties = streams[name]["schema"]["properties"]
        assert columns | {"id", "last_updated_at"} <= set(properties), name
        assert properties["last_updated_at"]["format"] == "date-time", name


def test_custom_fields_are_typed_from_the_metadata_schema(fake, catalog):
    accounts = next(s for s in catalog["streams"] if s["tap_stream_id"] == "accounts")
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


def test_hour_period_puts_hour_in_the_schema_and_keys(fake, tmp_path):
    catalog = discover(fake, tmp_path, base_config(fake, period="hour"))
    events = next(s for s in catalog["streams"] if s["tap_stream_id"] == "feature_events")
    assert "hour" in events["key_properties"] and "day" not in events["schema"]["properties"]


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"include_anonymous_visitors": True},
        {"app_ids": "APP2"},
    ],
    ids=["default", "anonymous", "one-app"],
)
def test_every_entity_row_exactly_once(fake, catalog, tmp_path, settings):
    settings = dict(settings)
    if settings.get("app_ids") == "APP2":
        # Two apps other than the default one, from far back enough to hold rows of each.
        settings["app_ids"] = ",".join(str(a) for a in fake.dataset.apps[1:])
        settings["start_date"] = "2020-01-01T00:00:00Z"
    config = base_config(fake, record_limit=PAGE, **settings)
    run = run_tap(fake, tmp_path, config, select(catalog, ENTITIES + METADATA)).ok()
    truth_settings = {
        "include_anonymous": settings.get("include_anonymous_visitors", False),
        "app_ids": [int(a) for a in settings["app_ids"].split(",")]
        if "app_ids" in settings
        else None,
    }
    assert_matches_truth(fake, run, ENTITIES + METADATA, config, **truth_settings)
    # The rows that make paging hard really were there.
    ids = [r["visitor_id"] for r in run.records["visitors"]]
    assert any('"' in i or "\\" in i or "/" in i for i in ids)
    assert any(i.startswith("_PENDO_T_") for i in ids) == truth_settings["include_anonymous"]


def test_second_run_emits_only_ties_and_undated_rows_and_the_third_sees_updates(tmp_path):
    from tests.fake_pendo import FakePendo

    streams = ENTITIES + GUIDE_PARTS
    with FakePendo(seed=5) as fake:
        config = base_config(fake, record_limit=PAGE)
        catalog = select(discover(fake, tmp_path / "d", config), streams)
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        ties = 0
        for stream in streams:
            key = primary_key(stream, "dayRange")
            bookmark = _ms(first.state["bookmarks"][stream][_rk(stream)])
            # Rows without a date (which cannot be tracked) and rows that share the
            # bookmark's value (a tie: never skipped) come again; nothing else does.
            expected = by_key(
                [r for r in first.records[stream] if _ms(r.get(_rk(stream))) in (None, bookmark)],
                key,
            )
            again = second.records.get(stream, [])
            assert len(by_key(again, key)) == len(again), f"{stream}: a key came twice"
            assert by_key(again, key) == expected, stream
            ties += sum(1 for r in expected.values() if r.get(_rk(stream)) is not None)
        assert ties > 0
        fake.advance(6)
        third = run_tap(fake, tmp_path / "3", config, catalog, state=second.state).ok()
        changed = 0
        for stream in streams:
            key = primary_key(stream, "dayRange")
            merged = by_key(first.records[stream], key)
            merged.update(by_key(third.records.get(stream, []), key))
            expected = by_key(fake.truth(stream, start_ms=_start(config)), key)
            assert merged == expected, stream
            changed += len(third.records.get(stream, [])) - len(second.records.get(stream, []))
        assert changed > 0
        assert (
            third.state["bookmarks"]["accounts"]["lastupdated"]
            > first.state["bookmarks"]["accounts"]["lastupdated"]
        )


def _rk(stream):
    return "lastupdated" if stream in ("accounts", "visitors") else "last_updated_at"


def _start(config):
    return start_ms(config)


def _ms(value):
    from tap_pendo.timefmt import parse_datetime_ms

    return None if value is None else parse_datetime_ms(value)


def _root(entry):
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
