"""The fake Data Sync writes trees as the contract lays them out, and its truth is what a
reader of those trees finds: checked here with fastavro and a small reference reader
written from the contract."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import fastavro
import fsspec
import pytest

from tests.fake_pendo.conventions import snake
from tests.fake_pendo.datasync import (
    PRIMARY_KEYS,
    STREAMS,
    FakeDataSync,
    S3Store,
    damage,
    write_big,
)
from tests.fake_pendo.datasync.__main__ import main as command_line

APP = "-323232"
MOBILE = "5668600916475904"
EVENT_STREAMS = {
    "datasync_events": None,
    "datasync_page_events": "Page",
    "datasync_feature_events": "Feature",
    "datasync_track_events": "TrackType",
}
DEFINITION_KEYS = {
    "datasync_pages": "pageDefinitionsFile",
    "datasync_features": "featureDefinitionsFile",
    "datasync_track_types": "trackTypeDefinitionsFile",
    "datasync_guides": "guideDefinitionsFile",
}
CONTRACT_EVENT_FIELDS = """periodId eventId browserTimestamp visitorId accountId eventType
eventClass eventSource server url remoteIp userAgent country region language elementPath
latitude longitude uiElementId uiElementType uiElementText uiElementActions guideId
guideStepId guideSessionId guideSeenReason destinationStepId guideSeenTimeoutMs
guideSnoozeDurationMs loadDurationMs pollId pollType pollResponse oldVisitorId
trackTypeName propertiesJson""".split()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """History, three days of recurring and change exports, a retroactive page export and
    a retroactive feature export; `tree.steps` keeps what each step wrote."""
    fake = FakeDataSync(tmp_path_factory.mktemp("datasync"), seed=1, days=10)
    fake.steps = [fake.write_history()]
    fake.steps += [fake.next_day() for _ in range(3)]
    fake.steps.append(fake.write_retroactive("Page"))
    fake.steps.append(fake.write_retroactive("Feature"))
    return fake


def small_tree(path, days=3, steps=1) -> FakeDataSync:
    """A small tree that a test may damage."""
    fake = FakeDataSync(path, seed=2, days=days, scale=0.3)
    fake.write_history()
    for _ in range(steps):
        fake.next_day()
    return fake


# -- a reference reader, from the contract ------------------------------------------


def manifest(folder_dir: Path) -> dict:
    return json.loads((folder_dir / "exportmanifest.json").read_text(encoding="utf-8"))


def folder_dirs(root) -> list:
    (subscription,) = (Path(root) / "datasync").iterdir()
    return sorted(subscription.iterdir())


def export_dir(folder_dir: Path, entry: dict) -> Path:
    """The export as the contract says a reader finds it."""
    return folder_dir / entry["rootUrl"].rsplit("/", 1)[-1]


def as_list(value) -> list:
    return [] if value is None else [value] if isinstance(value, str) else value


def read_records(path: Path, added: dict) -> list:
    """A file's records as the contract says a reader emits them."""
    with open(path, "rb") as avro_in:
        reader = fastavro.reader(avro_in)
        columns = {field["name"]: snake(field["name"]) for field in reader.writer_schema["fields"]}
        timestamps, dates = set(), set()
        for field in reader.writer_schema["fields"]:
            branches = field["type"] if isinstance(field["type"], list) else [field["type"]]
            logical = {b.get("logicalType") for b in branches if isinstance(b, dict)}
            if "timestamp-millis" in logical:
                timestamps.add(field["name"])
            if "date" in logical:
                dates.add(field["name"])
        records = []
        for row in reader:
            for name in timestamps:
                if row[name] is not None:
                    row[name] = row[name].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            for name in dates:
                row[name] = row[name].isoformat()
            records.append({**{columns[name]: value for name, value in row.items()}, **added})
        return records


def stream_files(entry: dict, folder: str, stream: str) -> list:
    if stream in DEFINITION_KEYS:
        return as_list(entry.get(DEFINITION_KEYS[stream]))
    if stream in ("datasync_accounts", "datasync_visitors"):
        key = {"account": "accounts", "visitor": "visitors"}.get(folder, "")
        return entry.get(key, {}).get("files", [])
    if stream.endswith("_metadata_schema"):
        return as_list(entry.get("metadataSchemaFile"))
    names = []
    for period in entry.get("timeDependent", []):
        if stream == "datasync_events":
            names += period.get("allEvents", {}).get("files", [])
        for matched in period.get("matchedEvents", []):
            if matched["id"].split("/")[0] == EVENT_STREAMS.get(stream):
                names += matched["files"]
    return names


def stream_folders(stream: str) -> set | None:
    if stream in ("datasync_accounts", "datasync_account_metadata_schema"):
        return {"account"}
    if stream in ("datasync_visitors", "datasync_visitor_metadata_schema"):
        return {"visitor"}
    return None  # the application folders


def read_stream(root, stream: str) -> list:
    """What a correct reader emits for `stream` from every listed export on disk."""
    records = []
    for folder_dir in folder_dirs(root):
        folder = folder_dir.name
        wanted = stream_folders(stream)
        if (wanted is None and folder in ("account", "visitor")) or (
            wanted is not None and folder not in wanted
        ):
            continue
        for entry in manifest(folder_dir)["exports"]:
            added = {"export_counter": entry["counter"]}
            if folder not in ("account", "visitor"):
                added["app_id"] = int(folder)
            if stream == "datasync_periods":
                for period in entry.get("timeDependent", []):
                    day = period["periodId"][:10]
                    partitions = [("allEvents", "")] if "allEvents" in period else []
                    partitions += [
                        tuple(matched["id"].split("/", 1))
                        for matched in period.get("matchedEvents", [])
                    ]
                    records += [
                        {**added, "kind": kind, "matchable_id": key, "period_id": day}
                        for kind, key in partitions
                    ]
                continue
            for name in stream_files(entry, folder, stream):
                records += read_records(export_dir(folder_dir, entry) / name, added)
    return records


def canonical(records) -> Counter:
    return Counter(json.dumps(record, sort_keys=True) for record in records)


def codec_of(path: Path) -> str:
    with open(path, "rb") as avro_in:
        return fastavro.reader(avro_in).codec


def avro_files(root) -> list:
    return sorted(Path(root).rglob("*.avro"))


# -- the layout ----------------------------------------------------------------------


def test_the_tree_has_a_manifest_per_folder_and_exports_named_by_32_hex_ids(tree):
    folders = folder_dirs(tree.root)
    assert [path.name for path in folders] == sorted([APP, MOBILE, "account", "visitor"])
    assert folders[0].parent == tree.root / "datasync" / "5650"
    for folder_dir in folders:
        exports = manifest(folder_dir)["exports"]
        counters = [entry["counter"] for entry in exports]
        assert counters == list(range(1, len(counters) + 1))
        for entry in exports:
            assert re.fullmatch(r"[0-9a-f]{32}", export_dir(folder_dir, entry).name)


def test_root_url_names_the_export_in_another_bucket_and_scheme(tree):
    for folder_dir in folder_dirs(tree.root):
        for entry in manifest(folder_dir)["exports"]:
            assert entry["rootUrl"].startswith("gs://acme-pendo/datasync/5650/")
            assert entry["rootUrl"].split("/")[-2] == folder_dir.name
            assert export_dir(folder_dir, entry).is_dir()


def test_the_bill_of_materials_is_the_manifest_entry(tree):
    for folder_dir in folder_dirs(tree.root):
        for entry in manifest(folder_dir)["exports"]:
            bill = export_dir(folder_dir, entry) / "billofmaterials.json"
            assert json.loads(bill.read_text(encoding="utf-8")) == entry


def test_every_file_a_manifest_names_exists_and_periods_have_folders(tree):
    for folder_dir in folder_dirs(tree.root):
        for entry in manifest(folder_dir)["exports"]:
            for stream in STREAMS:
                for name in stream_files(entry, folder_dir.name, stream):
                    assert (export_dir(folder_dir, entry) / name).is_file(), name
            for period in entry.get("timeDependent", []):
                folder = period["periodId"][:10].replace("-", "")
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", period["periodId"])
                for name in period.get("allEvents", {}).get("files", []):
                    assert re.fullmatch(folder + r"/allevents(-\d{3})?\.avro", name)
                for matched in period.get("matchedEvents", []):
                    kind, key = matched["id"].split("/")
                    assert kind in ("Page", "Feature", "TrackType")
                    for name in matched["files"]:
                        assert name == f"{folder}/matchedEvents/{kind}/{key}.avro"


def test_large_periods_and_entity_folders_are_split_into_numbered_files(tree):
    history = manifest(tree.manifest_path(APP).parent)["exports"][0]
    names = [name for p in history["timeDependent"] for name in p["allEvents"]["files"]]
    assert any(name.endswith("allevents-000.avro") for name in names)
    assert any(name.endswith("allevents-001.avro") for name in names)
    assert any(name.endswith("/allevents.avro") for name in names)
    accounts = manifest(tree.manifest_path("account").parent)["exports"]
    assert accounts[0]["accounts"]["files"][:2] == ["accounts-000.avro", "accounts-001.avro"]
    assert accounts[1]["accounts"]["files"] == ["accounts.avro"]
    visitors = manifest(tree.manifest_path("visitor").parent)["exports"]
    assert visitors[0]["visitors"]["files"][0] == "visitors-000.avro"


def test_metadata_schema_file_is_sometimes_a_string_and_sometimes_a_list(tree):
    for folder in ("account", "visitor"):
        forms = {
            type(e["metadataSchemaFile"])
            for e in manifest(tree.manifest_path(folder).parent)["exports"]
        }
        assert forms == {str, list}
        assert all(
            "timeDependent" not in e for e in manifest(tree.manifest_path(folder).parent)["exports"]
        )


def test_a_one_period_export_keeps_its_files_at_its_top(tmp_path):
    fake = FakeDataSync(tmp_path, days=1, scale=0.3)
    fake.write_history()
    entry = manifest(fake.manifest_path(APP).parent)["exports"][0]
    (period,) = entry["timeDependent"]
    assert period["allEvents"]["files"] == ["allevents.avro"]
    assert all(
        name.startswith("matchedEvents/") for m in period["matchedEvents"] for name in m["files"]
    )


def test_files_use_all_three_codecs(tree):
    assert Counter(codec_of(path) for path in avro_files(tree.root)).keys() == {
        "null",
        "deflate",
        "snappy",
    }


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    digests = []
    for name in ("one", "two"):
        small_tree(tmp_path / name)
        digests.append(
            {
                path.relative_to(tmp_path / name).as_posix(): hashlib.md5(
                    path.read_bytes()
                ).hexdigest()
                for path in (tmp_path / name).rglob("*")
                if path.is_file()
            }
        )
    assert digests[0] == digests[1]


# -- the Avro files ------------------------------------------------------------------


def schema_of(path: Path) -> dict:
    with open(path, "rb") as avro_in:
        return fastavro.reader(avro_in).writer_schema


def fields_of(schema: dict) -> dict:
    return {field["name"]: field["type"] for field in schema["fields"]}


def test_event_files_have_the_contracts_fields_and_logical_types(tree):
    history = tree.export(APP, 1)
    recurring = tree.export(APP, 2)
    old = fields_of(schema_of(tree.export_dir(APP, 1) / next(iter(history.files))))
    new_name = next(name for name in recurring.files if "allevents" in name)
    new = fields_of(schema_of(tree.export_dir(APP, 2) / new_name))
    assert list(old) == CONTRACT_EVENT_FIELDS
    assert list(new) == [*CONTRACT_EVENT_FIELDS, "frustrationType"]  # Pendo added a field
    assert old["periodId"] == {"type": "int", "logicalType": "date"}
    assert old["browserTimestamp"] == {"type": "long", "logicalType": "timestamp-millis"}
    for name in ("eventId", "visitorId", "accountId", "eventType", "eventClass", "eventSource"):
        assert old[name] == "string"
    for name in CONTRACT_EVENT_FIELDS[8:]:
        assert isinstance(old[name], list) and old[name][0] == "null"
    assert old["latitude"] == ["null", "double"]
    assert old["loadDurationMs"] == ["null", "long"]
    matched = next(name for name in recurring.files if "matchedEvents" in name)
    assert fields_of(schema_of(tree.export_dir(APP, 2) / matched))["matchableId"] == "string"


def all_event_rows(tree, folder=APP) -> list:
    """(export counter, period, row read by fastavro) of every allEvents file."""
    rows = []
    folder_dir = tree.manifest_path(folder).parent
    for entry in manifest(folder_dir)["exports"]:
        for period in entry.get("timeDependent", []):
            for name in period.get("allEvents", {}).get("files", []):
                with open(export_dir(folder_dir, entry) / name, "rb") as avro_in:
                    rows += [
                        (entry["counter"], period["periodId"][:10], row)
                        for row in fastavro.reader(avro_in)
                    ]
    return rows


def test_event_rows_follow_the_contract(tree):
    rows = all_event_rows(tree) + all_event_rows(tree, MOBILE)
    ids = Counter((counter, period, row["eventId"]) for counter, period, row in rows)
    assert max(ids.values()) == 1  # eventId unique within an application and period
    for _, period, row in rows:
        assert row["periodId"].isoformat() == period == row["browserTimestamp"].date().isoformat()
        assert row["browserTimestamp"].tzinfo is not None
    values = [row for _, _, row in rows]
    assert {row["eventType"] for row in values} >= {
        "load", "click", "track", "guideSeen", "guideAdvanced", "pollResponse",
    }  # fmt: skip
    assert {row["eventClass"] for row in values} == {"web", "ios", "android"}
    assert {row["eventSource"] for row in values} == {"browser", "server"}
    assert any(row["accountId"] == "" for row in values)
    assert any(row["latitude"] is None for row in values)
    assert any(row["oldVisitorId"] for row in values)
    for name in ("uiElementActions", "propertiesJson"):
        texts = [row[name] for row in values if row[name] is not None]
        assert texts and all(isinstance(json.loads(text), (list, dict)) for text in texts)
    texts = [row["uiElementText"] or "" for row in values] + [
        row["pollResponse"] or "" for row in values
    ]
    assert any('"' in text for text in texts) and any(not text.isascii() for text in texts)
    polls = [row for row in values if row["eventType"] == "pollResponse"]
    assert all(row["pollId"] and row["pollType"] and row["guideId"] for row in polls)


def test_matched_rows_are_rows_of_their_period_with_their_matchable_id(tree):
    folder_dir = tree.manifest_path(APP).parent
    entry = manifest(folder_dir)["exports"][1]
    for period in entry["timeDependent"]:
        event_ids = set()
        for name in period["allEvents"]["files"]:
            event_ids |= {
                r["event_id"] for r in read_records(export_dir(folder_dir, entry) / name, {})
            }
        for matched in period["matchedEvents"]:
            for name in matched["files"]:
                for record in read_records(export_dir(folder_dir, entry) / name, {}):
                    assert record["matchable_id"] == matched["id"].split("/", 1)[1]
                    assert record["event_id"] in event_ids
                    expected = {"Page": "load", "TrackType": "track"}.get(
                        matched["id"].split("/")[0]
                    )
                    assert expected in (None, record["event_type"])


def test_definition_and_entity_files_have_the_contracts_fields(tree):
    folder_dir = tree.manifest_path(APP).parent
    entry = manifest(folder_dir)["exports"][0]
    guides = fields_of(schema_of(export_dir(folder_dir, entry) / entry["guideDefinitionsFile"][0]))
    assert list(guides) == [
        "guideId", "name", "kind", "createdAt", "lastUpdatedAt", "isCoreEvent", "state",
        "launchMethod", "isMultiStep", "isTraining", "publishedAt", "stepsJson",
    ]  # fmt: skip
    assert guides["createdAt"] == {"type": "long", "logicalType": "timestamp-millis"}
    pages = fields_of(schema_of(export_dir(folder_dir, entry) / entry["pageDefinitionsFile"][0]))
    assert "rulesJson" in pages
    features = fields_of(
        schema_of(export_dir(folder_dir, entry) / entry["featureDefinitionsFile"][0])
    )
    assert {"pageId", "elementPathRulesJson"} <= set(features)
    visitors = tree.export("visitor", 1).files
    schema = fields_of(
        next(f.schema for name, f in visitors.items() if name.startswith("visitors"))
    )
    assert schema["auto__lastvisit"] == [
        "null",
        {"type": "long", "logicalType": "timestamp-millis"},
    ]
    assert {"id", "agent__email", "custom__region"} <= set(schema)
    accounts = fields_of(tree.export("account", 1).files["accounts-000.avro"].schema)
    assert "custom__seatCount" in accounts and "custom__legacyTier" not in accounts  # deleted
    metadata = read_records(tree.export_dir("account", 1) / "metadataschema.avro", {})
    assert {(r["group"], r["name"]) for r in metadata if r["is_deleted"]} == {
        ("custom", "legacyTier")
    }
    assert set(metadata[0]) == {
        "group", "name", "display_name", "type", "element_type", "element_format",
        "avro_field_name", "is_deleted", "is_per_app",
    }  # fmt: skip


def test_a_later_entity_export_adds_a_metadata_field(tree):
    first = tree.columns("datasync_accounts")
    assert first["custom__renewal_date"] == {"type": ["null", "string"], "format": "date-time"}
    assert "custom__renewalDate" not in fields_of(
        tree.export("account", 2).files["accounts.avro"].schema
    )
    assert "custom__renewalDate" in fields_of(
        tree.export("account", 3).files["accounts.avro"].schema
    )


# -- the truth -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMS)
def test_emitted_is_what_a_reader_of_the_tree_finds(tree, stream):
    assert canonical(tree.emitted(stream)) == canonical(read_stream(tree.root, stream))


def test_emitted_records_are_in_the_contracts_format(tree):
    (record, *_) = tree.emitted("datasync_events", after={APP: 1, MOBILE: 9})
    assert record["app_id"] == -323232 and record["export_counter"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000Z", record["browser_timestamp"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", record["period_id"])
    assert "ui_element_actions" in record and "frustration_type" in record
    old = tree.emitted("datasync_events")[0]
    assert "frustration_type" not in old  # not in the historical export's writer schema
    (account, *_) = tree.emitted("datasync_accounts")
    assert "app_id" not in account and account["export_counter"] == 1
    assert "custom__seat_count" in account and re.fullmatch(
        r".*\.\d{6}Z", account["auto__lastvisit"]
    )


def test_emitted_starts_after_the_bookmarks(tree):
    everything = {folder: len(tree.exports[folder]) for folder in tree.folders}
    for stream in STREAMS:
        assert tree.emitted(stream, after=everything) == []
    counters = {
        record["export_counter"] for record in tree.emitted("datasync_periods", after={APP: 3})
    }
    assert counters == {1, 2, 3, 4, 5, 6}  # the mobile folder is read from its start
    app_counters = {
        r["export_counter"]
        for r in tree.emitted("datasync_periods", after={APP: 3})
        if r["app_id"] == -323232
    }
    assert app_counters == {4, 5, 6}


def test_dates_bound_event_and_period_rows_by_whole_days(tree):
    days = sorted({r["period_id"] for r in tree.emitted("datasync_events")})
    start, end = days[3], days[6]
    inside = tree.emitted(
        "datasync_events", start_date=f"{start}T12:00:00Z", end_date=f"{end}T00:00:00Z"
    )
    assert sorted({r["period_id"] for r in inside}) == days[3:6]
    periods = tree.emitted("datasync_periods", start_date=datetime.date.fromisoformat(start))
    assert min(r["period_id"] for r in periods) == start
    assert len(tree.emitted("datasync_pages", start_date=days[-1])) == len(
        tree.emitted("datasync_pages")
    )


def test_primary_keys_are_the_contracts_and_unique_in_the_view(tree):
    assert set(PRIMARY_KEYS) == set(STREAMS) and len(STREAMS) == 13
    assert tree.primary_key("datasync_page_events") == [
        "app_id",
        "period_id",
        "matchable_id",
        "event_id",
    ]
    for stream in STREAMS:
        keys = [tuple(r[c] for c in tree.primary_key(stream)) for r in tree.view(stream)]
        assert len(keys) == len(set(keys)), stream


def test_columns_come_from_the_writer_schemas_of_the_listed_exports(tree):
    events = tree.columns("datasync_events")
    assert events["browser_timestamp"] == {"type": ["string"], "format": "date-time"}
    assert events["period_id"] == {"type": ["string"], "format": "date"}
    assert events["latitude"] == {"type": ["null", "number"]}
    assert events["frustration_type"] == {"type": ["null", "string"]}
    assert events["app_id"] == events["export_counter"] == {"type": ["integer"]}
    assert "matchable_id" in tree.columns("datasync_track_events")
    assert "app_id" not in tree.columns("datasync_visitors")
    assert set(tree.columns("datasync_periods")) == {
        "app_id", "kind", "matchable_id", "period_id", "export_counter",
    }  # fmt: skip


def latest_exports(periods: list) -> dict:
    latest = {}
    for record in periods:
        key = (record["app_id"], record["kind"], record["matchable_id"], record["period_id"])
        latest[key] = max(latest.get(key, 0), record["export_counter"])
    return latest


@pytest.mark.parametrize("stream", EVENT_STREAMS)
def test_the_view_is_what_the_warehouse_join_on_datasync_periods_keeps(tree, stream):
    latest = latest_exports(tree.emitted("datasync_periods"))
    kind = EVENT_STREAMS[stream] or "allEvents"
    joined = [
        record
        for record in tree.emitted(stream)
        if latest[(record["app_id"], kind, record.get("matchable_id", ""), record["period_id"])]
        == record["export_counter"]
    ]
    assert canonical(joined) == canonical(tree.view(stream))


@pytest.mark.parametrize("stream", [*DEFINITION_KEYS, "datasync_accounts", "datasync_visitors"])
def test_the_view_of_definitions_and_entities_is_the_newest_row_of_each_key(tree, stream):
    newest = {}
    for record in tree.emitted(stream):
        newest[tuple(record[c] for c in tree.primary_key(stream))] = record
    assert canonical(newest.values()) == canonical(tree.view(stream))
    assert len(tree.view(stream)) < len(tree.emitted(stream))


def test_a_recurring_export_adds_drops_and_corrects_rows_of_a_finalized_day(tree):
    changes = [change for step in tree.steps[1:4] for change in step.late]
    assert len(changes) == 6  # one finalized day per app and export
    view = {(r["app_id"], r["period_id"], r["event_id"]): r for r in tree.view("datasync_events")}
    emitted = tree.emitted("datasync_events")
    for change in changes:
        day = datetime.date(1970, 1, 1) + datetime.timedelta(days=change.day)
        key = (change.app_id, day.isoformat())
        assert change.added and change.dropped and change.changed
        assert all((*key, event_id) in view for event_id in change.added)
        assert not any((*key, event_id) in view for event_id in change.dropped)
        assert any(
            r["event_id"] in change.dropped for r in emitted if (r["app_id"], r["period_id"]) == key
        )
        for event_id in change.changed:
            regions = {
                r["region"]
                for r in emitted
                if (r["app_id"], r["period_id"], r["event_id"]) == (*key, event_id)
            }
            assert len(regions) == 2 and view[(*key, event_id)]["region"] in regions


def test_a_retroactive_export_replaces_one_matchable_and_empties_partitions(tree):
    retro = tree.steps[4]
    (counter,) = retro.counters[APP]
    entry = tree.export(APP, counter).entry
    assert set(entry) == {"counter", "rootUrl", "timeDependent"}  # no allEvents, no definitions
    matchables = {m["id"] for p in entry["timeDependent"] for m in p["matchedEvents"]}
    (matchable,) = matchables
    assert any(m["files"] == [] for p in entry["timeDependent"] for m in p["matchedEvents"])
    assert retro.emptied
    view = tree.view("datasync_page_events")
    emitted = tree.emitted("datasync_page_events")
    for app_id, _, matchable_id, day in retro.emptied:
        period = (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat()
        partition = (app_id, period, matchable_id)
        assert matchable == f"Page/{matchable_id}"
        assert not [
            r for r in view if (r["app_id"], r["period_id"], r["matchable_id"]) == partition
        ]
        assert [r for r in emitted if (r["app_id"], r["period_id"], r["matchable_id"]) == partition]
    feature_retro = tree.steps[5]
    assert feature_retro.emptied and feature_retro.emptied[0][1] == "Feature"


def test_the_view_differs_from_every_row_ever_emitted_exactly_by_replaced_rows(tree):
    view = canonical(tree.view("datasync_events"))
    emitted = canonical(tree.emitted("datasync_events"))
    assert not view - emitted  # every row of the view was emitted
    gone = {json.loads(text)["event_id"] for text in emitted - view}
    dropped = {
        event_id for step in tree.steps for change in step.late for event_id in change.dropped
    }
    assert dropped <= gone
    # The rest of what is gone: earlier versions of the rows that finalized days gave again.
    current = {(r["app_id"], r["period_id"], r["event_id"]) for r in tree.view("datasync_events")}
    for text in (emitted - view).elements():
        record = json.loads(text)
        key = (record["app_id"], record["period_id"], record["event_id"])
        assert (key in current) != (record["event_id"] in dropped)


def test_the_manifest_keeps_30_days_and_can_lose_chosen_exports(tmp_path):
    fake = small_tree(tmp_path, days=2, steps=0)
    fake.write_recurring()
    path = fake.drop_exports(APP, [2])
    assert [e["counter"] for e in manifest(path.parent)["exports"]] == [1]
    assert fake.export_dir(APP, 2).is_dir()  # the files stay
    assert {
        r["export_counter"] for r in fake.emitted("datasync_periods") if r["app_id"] == -323232
    } == {1}

    def app_counters(records):
        return {r["export_counter"] for r in records if r["app_id"] == -323232}

    assert app_counters(fake.view("datasync_periods")) == {1, 2}
    assert app_counters(fake.view("datasync_periods", listed_only=True)) == {1}
    fake.advance(29)
    fake.write_recurring([int(MOBILE)])
    assert [e["counter"] for e in manifest(fake.manifest_path(MOBILE).parent)["exports"]] == [
        1,
        2,
        3,
    ]
    fake.advance(1)
    fake.write_recurring([int(MOBILE)])
    assert [e["counter"] for e in manifest(fake.manifest_path(MOBILE).parent)["exports"]] == [3, 4]
    assert fake.lost_exports() == {APP: [2], MOBILE: [1, 2]}
    assert fake.lost_exports(after={APP: 2, MOBILE: 1}) == {MOBILE: [2]}


# -- S3, damage, the big file, the command line ---------------------------------------


def test_the_tree_round_trips_through_motos_s3_server(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "not-to-be-used")
    fake = small_tree(tmp_path, days=1, steps=0)
    with S3Store(fake.root) as store:
        assert store.url == "s3://acme-datasync/pendo/exports"
        fs, path = fsspec.core.url_to_fs(store.url, **store.storage_options)
        remote = sorted(fs.find(path))
        local = sorted(p for p in Path(fake.root).rglob("*") if p.is_file())
        assert [name.split("/pendo/exports/", 1)[1] for name in remote] == [
            p.relative_to(fake.root).as_posix() for p in local
        ]
        for local_path in local[:5]:
            with fs.open(
                f"{path}/{local_path.relative_to(fake.root).as_posix()}", "rb"
            ) as remote_in:
                assert remote_in.read() == local_path.read_bytes()
        fake.write_changes(["account"])
        assert store.upload() == 4  # the new export's 2 Avro files, its bill, the manifest
        fs.invalidate_cache()
        with fs.open(f"{path}/datasync/5650/account/exportmanifest.json") as remote_in:
            assert [e["counter"] for e in json.load(remote_in)["exports"]] == [1, 2]
        deleted = damage.delete_listed_file(fake.root)
        store.upload()
        fs.invalidate_cache()
        assert not fs.exists(f"{path}/{deleted.relative_to(fake.root).as_posix()}")


def test_a_truncated_avro_file_no_longer_reads(tmp_path):
    fake = small_tree(tmp_path)
    size = {p: p.stat().st_size for p in avro_files(tmp_path)}
    path = damage.truncate_avro(tmp_path)
    assert path.stat().st_size < size[path] and not damage.reads(path)
    assert path in damage.listed_files(tmp_path) and fake.export_dir(APP, 2) in path.parents


def test_a_corrupted_avro_file_keeps_its_size_and_no_longer_reads(tmp_path):
    small_tree(tmp_path)
    size = {p: p.stat().st_size for p in avro_files(tmp_path)}
    path = damage.corrupt_avro(tmp_path, folder="visitor")
    assert path.stat().st_size == size[path] and not damage.reads(path)
    assert path.parent.parent.name == "visitor"


def test_a_broken_manifest_is_not_json(tmp_path):
    small_tree(tmp_path)
    path = damage.break_manifest(tmp_path, MOBILE)
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text(encoding="utf-8"))


def test_a_deleted_file_is_still_named_by_its_manifest(tmp_path):
    small_tree(tmp_path)
    path = damage.delete_listed_file(tmp_path)
    assert not path.exists() and path in damage.listed_files(tmp_path)


def test_a_root_without_datasync(tmp_path):
    small_tree(tmp_path)
    root = damage.remove_datasync(tmp_path)
    assert root == tmp_path and not (root / "datasync").exists()


@pytest.mark.parametrize("codec", ["snappy", "deflate", "null"])
def test_the_big_file_reads_back_as_its_rows(tmp_path, codec):
    big = write_big(tmp_path, rows=1_200, codec=codec, block_rows=500)
    entry = manifest(tmp_path / "datasync" / "5650" / APP)["exports"][0]
    assert entry["timeDependent"] == [
        {"periodId": "2026-11-30T00:00:00Z", "allEvents": {"files": ["allevents.avro"]}}
    ]
    assert export_dir(tmp_path / "datasync" / "5650" / APP, entry) / "allevents.avro" == big.path
    assert codec_of(big.path) == codec
    read = read_records(big.path, {"export_counter": 1, "app_id": -323232})
    assert read == list(big.iter_records())
    assert len({r["event_id"] for r in read}) == 1_200
    with open(big.path, "rb") as avro_in:
        assert [block.num_records for block in fastavro.block_reader(avro_in)] == [500, 500, 200]


def test_the_command_line_writes_a_tree_and_a_big_file(tmp_path, capsys):
    command_line(
        ["write", str(tmp_path / "tree"), "--days", "2", "--recurring", "1", "--scale", "0.3"]
    )
    out, err = capsys.readouterr()
    summary = json.loads(out)["folders"]
    assert [summary[f]["listed"] for f in (APP, MOBILE, "account", "visitor")] == [
        [1, 2, 3],
        [1, 2],
        [1, 2],
        [1, 2],
    ]
    assert "retroactive" in err and "Avro files" in err
    command_line(["big", str(tmp_path / "big"), "--rows", "1000"])
    out, err = capsys.readouterr()
    assert json.loads(out)["rows"] == 1000 and "1000 rows" in err
    with pytest.raises(SystemExit):
        command_line(["big", str(tmp_path / "big"), "--rows", "10"])
