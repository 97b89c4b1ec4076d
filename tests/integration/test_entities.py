"""Entity and metadata streams, end to end: the installed tap against the fake Pendo."""

import pytest

from tests.fake_pendo.truth import primary_key
from tests.integration.harness import base_config, by_key, discover, run_tap, select

ENTITIES = ["accounts", "visitors", "features", "pages", "guides", "track_types"]
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


def test_discovery_lists_the_15_streams_with_standard_metadata(catalog):
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert len(streams) == 15
    for entry in streams.values():
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        assert root["table-key-properties"] == entry["key_properties"]
        assert root["forced-replication-method"] in ("INCREMENTAL", "FULL_TABLE")
        automatic = {
            m["breadcrumb"][1]
            for m in entry["metadata"]
            if m["breadcrumb"] and m["metadata"]["inclusion"] == "automatic"
        }
        assert set(entry["key_properties"]) <= automatic
        if root["forced-replication-method"] == "INCREMENTAL":
            assert root["valid-replication-keys"][0] in automatic
    assert streams["accounts"]["key_properties"] == ["account_id"]
    assert (
        next(m["metadata"] for m in streams["feature_events"]["metadata"] if m["breadcrumb"] == [])[
            "parent-tap-stream-id"
        ]
        == "features"
    )
    assert "day" in streams["events"]["schema"]["properties"]
    assert "hour" not in streams["events"]["schema"]["properties"]


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


def test_second_run_emits_only_what_changed_and_the_third_sees_updates(tmp_path):
    from tests.fake_pendo import FakePendo

    with FakePendo(seed=5) as fake:
        config = base_config(fake, record_limit=PAGE)
        catalog = select(discover(fake, tmp_path / "d", config), ENTITIES)
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        for stream in ENTITIES:
            undated = [r for r in first.records[stream] if not r.get(_rk(stream))]
            # Only rows without a date (which cannot be tracked) come again.
            assert len(second.records.get(stream, [])) == len(undated), stream
        fake.advance(6)
        third = run_tap(fake, tmp_path / "3", config, catalog, state=second.state).ok()
        changed = 0
        for stream in ENTITIES:
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
