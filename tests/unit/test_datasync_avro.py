"""Data Sync Avro files: writer schemas from headers, JSON Schemas, rows as records, errors.

Files are written here with fastavro, from the contract's field tables
(../shared/pendo-datasync.md), not copied from any fake.
"""

import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import fastavro
import fsspec
import pytest

from tap_pendo.datasync import (
    DataSyncError,
    json_schema,
    open_store,
    read_header,
    rows,
    writer_schema,
)
from tap_pendo.datasync import avro as avro_module
from tap_pendo.timefmt import ms_to_rfc3339

# The columns the tap adds to the rows of an application folder (docs/DATA-CONTRACT.md).
ADDED = {"app_id": {"type": ["integer"]}, "export_counter": {"type": ["integer"]}}

SECRET = "s3cr3t-key-value"
TS = {"type": "long", "logicalType": "timestamp-millis"}
DATE = {"type": "int", "logicalType": "date"}
SCHEMAS = Path(__file__).resolve().parents[2] / "tap_pendo" / "schemas"


def record_schema(fields, name="Event"):
    return {
        "type": "record",
        "name": name,
        "namespace": "io.pendo.datasync",
        "fields": [{"name": field, "type": kind} for field, kind in fields],
    }


# The events of the contract's table (allevents and matched files share it).
EVENT_FIELDS = [
    ("periodId", DATE),
    ("eventId", "string"),
    ("browserTimestamp", TS),
    ("visitorId", "string"),
    ("accountId", "string"),
    ("eventType", "string"),
    ("eventClass", "string"),
    ("eventSource", "string"),
    *[
        (name, ["null", "string"])
        for name in "server url remoteIp userAgent country region language elementPath".split()
    ],
    ("latitude", ["null", "double"]),
    ("longitude", ["null", "double"]),
    *[
        (name, ["null", "string"])
        for name in (
            "uiElementId uiElementType uiElementText uiElementActions guideId guideStepId "
            "guideSessionId guideSeenReason destinationStepId"
        ).split()
    ],
    *[
        (name, ["null", "long"])
        for name in "guideSeenTimeoutMs guideSnoozeDurationMs loadDurationMs".split()
    ],
    *[
        (name, ["null", "string"])
        for name in "pollId pollType pollResponse oldVisitorId trackTypeName propertiesJson".split()
    ],
]
EVENTS = record_schema(EVENT_FIELDS)
MATCHED = record_schema([*EVENT_FIELDS, ("matchableId", "string")])


def event(index=0, **values):
    row = {name: None for name, _ in EVENT_FIELDS}
    row.update(
        periodId=20787,  # 2026-11-30
        eventId=f"e{index}",
        browserTimestamp=1796058191120 + index,  # 2026-11-30T17:03:11.120000Z
        visitorId="v1",
        accountId="",
        eventType="click",
        eventClass="web",
        eventSource="browser",
    )
    row.update(values)
    return row


def write_avro(path: Path, schema, records, codec="null", sync_interval=16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        fastavro.writer(out, schema, records, codec=codec, sync_interval=sync_interval)
    return path


@pytest.fixture
def store(tmp_path):
    (tmp_path / "datasync").mkdir()
    return open_store(str(tmp_path), {"client_kwargs": {"token": SECRET}})


def path_of(store, file: Path) -> str:
    return store.join(store.root, str(file.relative_to(store.root)))


def one_line_error(call) -> str:
    with pytest.raises(DataSyncError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message
    assert SECRET not in message
    return message


# --- rows ----------------------------------------------------------------------------------


def test_an_event_row_has_snake_case_names_dates_as_text_and_values_verbatim(store, tmp_path):
    row = event(uiElementActions='[{"action":"click"}]', latitude=37.77, loadDurationMs=0)
    file = write_avro(tmp_path / "allevents.avro", EVENTS, [row])
    (record,) = rows(store, path_of(store, file), {"app_id": -323232, "export_counter": 7})
    assert record["period_id"] == "2026-11-30"
    assert record["browser_timestamp"] == "2026-11-30T17:03:11.120000Z"
    assert record["account_id"] == ""  # verbatim, not null
    assert record["ui_element_actions"] == '[{"action":"click"}]'  # JSON text stays text
    assert record["latitude"] == 37.77 and record["load_duration_ms"] == 0
    assert record["guide_id"] is None and record["properties_json"] is None
    assert list(record)[-2:] == ["app_id", "export_counter"]
    assert (record["app_id"], record["export_counter"]) == (-323232, 7)
    expected = [snake for snake in json_schema(EVENTS, ADDED)["properties"]]
    assert list(record) == expected


def test_every_logical_type_and_null_is_converted(store, tmp_path):
    fields = [
        ("day", DATE),
        ("noDay", ["null", DATE]),
        ("someDay", ["null", DATE]),
        ("at", TS),
        ("wholeSecond", TS),
        ("beforeEpoch", TS),
        ("maybeAt", ["null", TS]),
        ("notAt", ["null", TS]),
        ("atMicros", {"type": "long", "logicalType": "timestamp-micros"}),
        ("timeMillis", {"type": "int", "logicalType": "time-millis"}),
        ("uuid", {"type": "string", "logicalType": "uuid"}),
        ("count", "long"),
        ("ratio", "float"),
        ("isCore", "boolean"),
        ("blob", "bytes"),
        ("kindOf", {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}),
        ("tags", {"type": "array", "items": TS}),
        ("counts", {"type": "map", "values": "long"}),
        (
            "innerThing",
            [
                "null",
                record_schema([("createdAt", TS), ("isOn", "boolean")], name="Inner"),
            ],
        ),
        ("stringOrAt", ["null", "string", TS]),
        ("longOrAt", ["long", TS]),
    ]
    values = {
        "day": 0,
        "noDay": None,
        "someDay": 20787,
        "at": 1796058191120,
        "wholeSecond": 1796058191000,
        "beforeEpoch": -1,
        "maybeAt": 1796058191121,
        "notAt": None,
        "atMicros": 1796058191120123,
        "timeMillis": 3_723_004,
        "uuid": "6f1c2d3e-0000-4000-8000-000000000000",
        "count": 2**40,
        "ratio": 0.5,
        "isCore": False,
        "blob": b"\x00\xff",
        "kindOf": "B",
        "tags": [0, 1796058191120],
        "counts": {"camelKey": 1},
        "innerThing": {"createdAt": 86_400_000, "isOn": True},
        "stringOrAt": "text",
        "longOrAt": 5,
    }
    file = write_avro(tmp_path / "all.avro", record_schema(fields), [values])
    (record,) = rows(store, path_of(store, file))
    assert record == {
        "day": "1970-01-01",
        "no_day": None,
        "some_day": "2026-11-30",
        "at": "2026-11-30T17:03:11.120000Z",
        "whole_second": "2026-11-30T17:03:11.000000Z",
        "before_epoch": "1969-12-31T23:59:59.999000Z",
        "maybe_at": "2026-11-30T17:03:11.121000Z",
        "not_at": None,
        "at_micros": "2026-11-30T17:03:11.120123Z",
        "time_millis": "01:02:03.004000",
        "uuid": "6f1c2d3e-0000-4000-8000-000000000000",
        "count": 2**40,
        "ratio": 0.5,
        "is_core": False,
        "blob": "AP8=",
        "kind_of": "B",
        "tags": ["1970-01-01T00:00:00.000000Z", "2026-11-30T17:03:11.120000Z"],
        "counts": {"camelKey": 1},  # map keys are data: kept
        "inner_thing": {"created_at": "1970-01-02T00:00:00.000000Z", "is_on": True},
        "string_or_at": "text",
        "long_or_at": 5,  # the long branch: fastavro tells it apart, not the value
    }
    for value, text in [(values["at"], record["at"]), (-1, record["before_epoch"])]:
        assert text == ms_to_rfc3339(value)


def test_a_timestamp_of_an_ambiguous_union_is_converted_from_fastavros_object(store, tmp_path):
    schema = record_schema([("when", ["long", TS])])
    # Written through the timestamp branch: a datetime picks it.
    moment = datetime(2026, 11, 30, 17, 3, 11, 120000, timezone.utc)
    file = write_avro(tmp_path / "union.avro", schema, [{"when": moment}])
    (record,) = rows(store, path_of(store, file))
    assert record == {"when": "2026-11-30T17:03:11.120000Z"}
    assert json_schema(schema)["properties"]["when"] == {
        "anyOf": [{"type": ["integer"]}, {"type": ["string"], "format": "date-time"}]
    }


def test_extra_columns_win_over_a_field_of_the_same_name(store, tmp_path):
    file = write_avro(
        tmp_path / "a.avro",
        record_schema([("appId", "long"), ("x", "long")]),
        [{"appId": 1, "x": 2}],
    )
    (record,) = rows(store, path_of(store, file), {"app_id": 9, "export_counter": 3})
    assert record == {"app_id": 9, "x": 2, "export_counter": 3}


def test_columns_not_kept_are_left_out_and_the_extra_columns_stay(store, tmp_path):
    file = write_avro(tmp_path / "a.avro", EVENTS, [event(1), event(2)])
    keep = {"event_id", "period_id", "no_such_column"}
    found = list(rows(store, path_of(store, file), {"export_counter": 4}, keep=keep))
    assert found == [
        {"period_id": "2026-11-30", "event_id": "e1", "export_counter": 4},
        {"period_id": "2026-11-30", "event_id": "e2", "export_counter": 4},
    ]
    assert len(next(rows(store, path_of(store, file)))) == len(EVENT_FIELDS)


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_every_codec_is_read_block_after_block(store, tmp_path, codec):
    events = [event(index) for index in range(300)]
    file = write_avro(tmp_path / f"{codec}.avro", EVENTS, events, codec=codec, sync_interval=2000)
    assert read_header(store, path_of(store, file)).codec == codec
    records = list(rows(store, path_of(store, file), {"export_counter": 1}))
    assert [record["event_id"] for record in records] == [f"e{index}" for index in range(300)]
    assert records[299]["browser_timestamp"] == ms_to_rfc3339(1796058191120 + 299)


def test_names_and_types_come_from_each_files_own_writer_schema(store, tmp_path):
    older = write_avro(tmp_path / "old.avro", EVENTS, [event()])
    newer_fields = [*EVENT_FIELDS, ("frustrationLevel", ["null", "long"])]
    newer = write_avro(
        tmp_path / "new.avro", record_schema(newer_fields), [event(frustrationLevel=3)]
    )
    (old_record,) = rows(store, path_of(store, older))
    (new_record,) = rows(store, path_of(store, newer))
    assert "frustration_level" not in old_record
    assert new_record["frustration_level"] == 3


def test_an_empty_file_has_no_rows(store, tmp_path):
    file = write_avro(tmp_path / "empty.avro", EVENTS, [])
    assert list(rows(store, path_of(store, file))) == []


def test_files_are_read_by_several_threads_at_once(store, tmp_path):
    files = [
        write_avro(
            tmp_path / f"f{n}.avro",
            EVENTS,
            [event(n * 1000 + i) for i in range(200)],
            codec="deflate",
            sync_interval=1000,
        )
        for n in range(4)
    ]
    barrier = threading.Barrier(4)

    def read(file):
        barrier.wait()
        return [
            record["event_id"]
            for record in rows(store, path_of(store, file), {"export_counter": 1})
        ]

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(read, files))
    assert found == [[f"e{n * 1000 + i}" for i in range(200)] for n in range(4)]


def test_rows_are_read_through_an_fsspec_memory_store():
    memory = fsspec.filesystem("memory")
    buffer = io.BytesIO()
    fastavro.writer(buffer, EVENTS, [event(1), event(2)], codec="deflate")
    memory.pipe("/pendo-test-avro/datasync/5650/-1/x/allevents.avro", buffer.getvalue())
    try:
        store = open_store("memory://pendo-test-avro")
        path = store.join(store.datasync, "5650/-1/x/allevents.avro")
        assert [r["event_id"] for r in rows(store, path)] == ["e1", "e2"]
        assert writer_schema(store, path)["name"] == "Event"
    finally:
        memory.rm("/pendo-test-avro", recursive=True)


def test_the_file_is_opened_on_the_first_row_and_closed_when_the_generator_is(store, tmp_path):
    file = write_avro(tmp_path / "a.avro", EVENTS, [event(i) for i in range(5)])
    opened = []
    original = store.open

    def spy(path, block_size):
        handle = original(path, block_size=block_size)
        opened.append(handle)
        return handle

    store.open = spy
    generator = rows(store, path_of(store, file))
    assert opened == []
    next(generator)
    assert len(opened) == 1 and not opened[0].closed
    generator.close()
    assert opened[0].closed


# --- headers and JSON Schemas --------------------------------------------------------------


def test_the_writer_schema_is_read_from_the_header_alone(store, tmp_path):
    file = write_avro(tmp_path / "a.avro", EVENTS, [event(i) for i in range(50)])
    whole = file.read_bytes()
    header_size = read_header(store, path_of(store, file)).size
    file.write_bytes(whole[:header_size] + b"\xff" * 64)  # the rows would not read
    assert writer_schema(store, path_of(store, file)) == json.loads(json.dumps(EVENTS))
    requested = []
    original = store.open
    store.open = lambda path, block_size: requested.append(block_size) or original(path, block_size)
    read_header(store, path_of(store, file))
    assert requested == [avro_module.HEAD_BLOCK_BYTES]


def test_the_json_schema_follows_the_writer_schema():
    schema = record_schema(
        [
            ("browserTimestamp", TS),
            ("maybeAt", ["null", TS]),
            ("periodId", DATE),
            ("count", "long"),
            ("small", "int"),
            ("ratio", ["null", "double"]),
            ("isOn", "boolean"),
            ("text", ["null", "string"]),
            ("nested", record_schema([("innerAt", TS)], name="Nested")),
            ("list", {"type": "array", "items": "string"}),
            ("map", {"type": "map", "values": ["null", "long"]}),
            ("either", ["null", "string", "long"]),
            ("kind", {"type": "enum", "name": "K", "symbols": ["A"]}),
        ]
    )
    properties = json_schema(schema, ADDED)["properties"]
    assert properties == {
        "browser_timestamp": {"type": ["string"], "format": "date-time"},
        "maybe_at": {"type": ["null", "string"], "format": "date-time"},
        "period_id": {"type": ["string"], "format": "date"},
        "count": {"type": ["integer"]},
        "small": {"type": ["integer"]},
        "ratio": {"type": ["null", "number"]},
        "is_on": {"type": ["boolean"]},
        "text": {"type": ["null", "string"]},
        "nested": {
            "type": ["object"],
            "properties": {"inner_at": {"type": ["string"], "format": "date-time"}},
        },
        "list": {"type": ["array"], "items": {"type": ["string"]}},
        "map": {"type": ["object"], "additionalProperties": {"type": ["null", "integer"]}},
        "either": {"type": ["null", "string", "integer"]},
        "kind": {"type": ["string"]},
        "app_id": {"type": ["integer"]},
        "export_counter": {"type": ["integer"]},
    }


def test_the_bundled_schemas_are_those_of_the_contracts_files():
    events = json.loads((SCHEMAS / "datasync_events.json").read_text())
    assert events == json_schema(EVENTS, ADDED)
    for name in ("page", "feature", "track"):
        matched = json.loads((SCHEMAS / f"datasync_{name}_events.json").read_text())
        assert matched == json_schema(MATCHED, ADDED)
    for name in ("accounts", "visitors"):
        properties = json.loads((SCHEMAS / f"datasync_{name}.json").read_text())["properties"]
        assert set(properties) == {"id", "export_counter"}
    periods = json.loads((SCHEMAS / "datasync_periods.json").read_text())["properties"]
    assert set(periods) == {"app_id", "kind", "matchable_id", "period_id", "export_counter"}
    names = {path.stem for path in SCHEMAS.glob("datasync_*.json")}
    assert len(names) == 13
    for name in names:
        properties = json.loads((SCHEMAS / f"{name}.json").read_text())["properties"]
        assert "export_counter" in properties


# --- errors --------------------------------------------------------------------------------


def test_a_file_cut_short_stops_with_one_line_naming_it_after_its_first_rows(store, tmp_path):
    events = [event(index) for index in range(400)]
    file = write_avro(tmp_path / "cut.avro", EVENTS, events, codec="deflate", sync_interval=2000)
    whole = file.read_bytes()
    file.write_bytes(whole[: len(whole) - 300])
    found = []

    def read_all():
        for record in rows(store, path_of(store, file)):
            found.append(record)

    message = one_line_error(read_all)
    assert 0 < len(found) < 400
    assert str(file) in message and "damaged or truncated Avro file" in message


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_a_damaged_file_stops_with_one_line_naming_it(store, tmp_path, codec):
    file = write_avro(
        tmp_path / "bad.avro",
        EVENTS,
        [event(i) for i in range(200)],
        codec=codec,
        sync_interval=2000,
    )
    data = bytearray(file.read_bytes())
    size = read_header(store, path_of(store, file)).size
    data[size + 40 : size + 80] = b"\xff" * 40  # inside the first block
    file.write_bytes(bytes(data))
    message = one_line_error(lambda: list(rows(store, path_of(store, file))))
    assert str(file) in message


def test_a_huge_block_length_is_damage_not_a_huge_read(store, tmp_path):
    file = write_avro(tmp_path / "huge.avro", EVENTS, [event()])
    data = file.read_bytes()
    size = read_header(store, path_of(store, file)).size
    # The first block: its count (one row: 0x02), then its length in bytes, a varint.
    assert data[size] == 0x02
    length_end = size + 1
    while data[length_end] & 0x80:
        length_end += 1
    huge = avro_module._encode_long(2**40)
    file.write_bytes(data[: size + 1] + huge + data[length_end + 1 :])
    message = one_line_error(lambda: list(rows(store, path_of(store, file))))
    assert f"a block of {2**40} bytes" in message and str(file) in message


def test_a_file_that_is_not_avro_stops_with_one_line(store, tmp_path):
    file = tmp_path / "not.avro"
    file.write_text('{"exports": []}')
    for call in (
        lambda: writer_schema(store, path_of(store, file)),
        lambda: list(rows(store, path_of(store, file))),
    ):
        assert "not an Avro file" in one_line_error(call)


def test_a_header_cut_short_stops_with_one_line(store, tmp_path):
    file = write_avro(tmp_path / "a.avro", EVENTS, [event()])
    file.write_bytes(file.read_bytes()[:30])
    message = one_line_error(lambda: writer_schema(store, path_of(store, file)))
    assert "damaged or truncated Avro header" in message and str(file) in message


def test_a_file_the_store_lacks_stops_with_one_line_naming_it(store, tmp_path):
    missing = path_of(store, tmp_path / "datasync" / "gone.avro")
    for call in (lambda: writer_schema(store, missing), lambda: list(rows(store, missing))):
        message = one_line_error(call)
        assert "gone.avro" in message and "not in the store" in message


def test_a_store_error_while_rows_are_read_is_one_line_without_the_options(store, tmp_path):
    file = write_avro(
        tmp_path / "a.avro", EVENTS, [event(i) for i in range(100)], sync_interval=1000
    )
    original = store.open

    class Failing:
        def __init__(self, handle):
            self.handle, self.reads = handle, 0

        def read(self, size=-1):
            self.reads += 1
            if self.reads > 20:
                raise PermissionError(f"AccessDenied for token {SECRET}")
            return self.handle.read(size)

        def close(self):
            self.handle.close()

    store.open = lambda path, block_size: Failing(original(path, block_size=block_size))
    message = one_line_error(lambda: list(rows(store, path_of(store, file))))
    assert "access refused" in message and "***" in message


def test_a_codec_data_sync_does_not_use_is_named(store, tmp_path):
    file = write_avro(tmp_path / "a.avro", EVENTS, [event()], codec="null")
    data = file.read_bytes().replace(b"\x08null", b"\x08zstd")
    file.write_bytes(data)
    assert "codec 'zstd'" in one_line_error(lambda: writer_schema(store, path_of(store, file)))


def test_a_file_of_something_else_than_records_is_named(store, tmp_path):
    file = tmp_path / "strings.avro"
    with open(file, "wb") as out:
        fastavro.writer(out, "string", ["a"])
    message = one_line_error(lambda: list(rows(store, path_of(store, file))))
    assert "does not hold records" in message and str(file) in message
