"""The Data Sync streams end to end: the installed `tap-pendo` against a fake Data Sync
export tree (tests/fake_pendo/datasync), in a folder and in S3 (moto's server, s3fs),
its output compared with the fake's truth (docs/DATA-CONTRACT.md, "Data Sync streams").

One story per module, shared by the tests: a historical export in each folder,
discovery and sync 1; two days of recurring and change exports (which add the
nullable `frustrationType` to events and a custom field to accounts and visitors)
and a retroactive page export; discovery again, sync 2 from sync 1's state, and sync
3 from sync 2's, with nothing new. Discovery and sync 1 run with every HTTP(S) proxy
pointing at a listener that counts connections: with only `datasync_url`, Pendo is
never asked.

No clock plays a part: the runs read files only (now_ms=None).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from tests.fake_pendo.datasync import FakeDataSync, S3Store
from tests.support.datasync import (
    STREAMS,
    NoPendo,
    assert_emitted,
    assert_no_storage_secret,
    assert_run_emitted,
    datasync_config,
    expected_bookmarks,
    select_datasync,
)
from tests.support.secret import SECRET_KEY, SECRET_MARK
from tests.support.tap import run_tap

APP = "-323232"
DEFINITION_STREAMS = [
    "datasync_pages",
    "datasync_features",
    "datasync_track_types",
    "datasync_guides",
    "datasync_accounts",
    "datasync_visitors",
    "datasync_account_metadata_schema",
    "datasync_visitor_metadata_schema",
]
DATED_STREAMS = [stream for stream in STREAMS if stream not in DEFINITION_STREAMS]


def discover(tmp_path, config, env=None) -> dict:
    """The catalog tap-pendo discovers; the Data Sync streams selected, the others not."""
    run = run_tap(tmp_path, config, now_ms=None, discover=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return select_datasync(json.loads(run.stdout))


def entries(catalog: dict) -> dict:
    """tap_stream_id -> catalog entry, Data Sync streams only."""
    return {
        entry["tap_stream_id"]: entry
        for entry in catalog["streams"]
        if entry["tap_stream_id"].startswith("datasync_")
    }


def warnings(stderr: str) -> list:
    return [line for line in stderr.splitlines() if line.startswith("WARNING ")]


@dataclass
class Story:
    fake: FakeDataSync
    config: dict
    connections: int  # to the proxy, in discovery 1 and sync 1
    catalog1: dict
    columns1: dict  # stream -> the fake's columns when catalog1 was discovered
    truth1: dict  # stream -> what sync 1 must emit
    bookmarks1: dict
    read1: dict  # folder -> the counter sync 1 read last
    sync1: object
    catalog2: dict
    sync2: object
    sync3: object


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Story:
    tmp = tmp_path_factory.mktemp("datasync")
    fake = FakeDataSync(tmp / "tree", seed=1, days=10)
    history = fake.write_history()
    config = datasync_config(fake.url)
    with NoPendo() as no_pendo:
        catalog1 = discover(tmp / "discover1", config, env=no_pendo.env)
        sync1 = run_tap(tmp / "sync1", config, now_ms=None, catalog=catalog1, env=no_pendo.env)
    columns1 = {stream: fake.columns(stream) for stream in STREAMS}
    truth1 = {stream: fake.emitted(stream) for stream in STREAMS}
    bookmarks1 = expected_bookmarks(fake)
    read1 = {folder: max(counters) for folder, counters in history.counters.items()}

    fake.next_day()
    fake.next_day()
    fake.write_retroactive("Page")
    catalog2 = discover(tmp / "discover2", config)
    sync2 = run_tap(tmp / "sync2", config, now_ms=None, catalog=catalog2, state=sync1.state)
    sync3 = run_tap(tmp / "sync3", config, now_ms=None, catalog=catalog2, state=sync2.state)
    return Story(
        fake,
        config,
        no_pendo.connections,
        catalog1,
        columns1,
        truth1,
        bookmarks1,
        read1,
        sync1.ok(),
        catalog2,
        sync2.ok(),
        sync3.ok(),
    )


def test_discovery_with_only_datasync_url_lists_the_13_streams_and_asks_pendo_nothing(story):
    found = entries(story.catalog1)
    assert sorted(found) == sorted(STREAMS)
    for stream, entry in found.items():
        key = story.fake.primary_key(stream)
        assert entry["key_properties"] == key, stream
        (top,) = [m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == []]
        assert top["table-key-properties"] == key, stream
        assert entry["schema"]["properties"] == story.columns1[stream], stream
    assert "app_id" in found["datasync_events"]["schema"]["properties"]
    assert "app_id" not in found["datasync_accounts"]["schema"]["properties"]
    assert story.connections == 0, "discovery or sync 1 connected to the network (Pendo)"


def test_sync_1_emits_every_row_of_every_export_once_verbatim(story):
    run = story.sync1
    assert sorted(run.records) == sorted(STREAMS)
    for stream in STREAMS:
        assert_emitted(stream, run.records.get(stream, []), story.truth1[stream], "sync 1: ")
        assert run.schemas[stream]["key_properties"] == story.fake.primary_key(stream)
    assert run.state["bookmarks"] == story.bookmarks1
    assert warnings(run.stderr) == []


def test_sync_2_from_sync_1s_state_emits_exactly_the_newer_exports(story):
    fake = story.fake
    new_columns = {
        stream: set(entry["schema"]["properties"])
        - set(entries(story.catalog1)[stream]["schema"]["properties"])
        for stream, entry in entries(story.catalog2).items()
    }
    # Later exports add fields: discovery again finds them, as the fake's truth has them.
    assert "frustration_type" in new_columns["datasync_events"]
    assert new_columns["datasync_accounts"] and new_columns["datasync_visitors"]
    for stream, entry in entries(story.catalog2).items():
        assert entry["schema"]["properties"] == fake.columns(stream), stream

    assert story.read1 == {folder: 1 for folder in fake.folders}
    expected = assert_run_emitted(story.sync2, fake, "sync 2: ", after=story.read1)
    # Sync 2 covers several exports of a folder: the finalized days, the retroactive
    # export's emptied partitions, definitions given again.
    counters = {r["export_counter"] for r in expected["datasync_page_events"]}
    assert counters == {2, 3, 4}, counters
    retroactive = [
        r for r in expected["datasync_periods"] if r["export_counter"] == 4 and r["app_id"] < 0
    ]
    assert len(retroactive) >= 10
    assert story.sync2.state["bookmarks"] == expected_bookmarks(fake)
    assert warnings(story.sync2.stderr) == []


def test_sync_3_without_a_new_export_emits_nothing(story):
    assert story.sync3.records == {}
    assert story.sync3.state["bookmarks"] == expected_bookmarks(story.fake)


def test_start_and_end_date_leave_out_event_and_period_rows_not_definitions(story, tmp_path):
    fake = story.fake
    start, end = "2026-11-25T13:00:00Z", "2026-11-28T00:00:00Z"
    config = datasync_config(fake.url, start_date=start, end_date=end)
    run = run_tap(tmp_path, config, now_ms=None, catalog=story.catalog2).ok()
    assert_run_emitted(run, fake, "bounded: ", start_date=start, end_date=end)
    # The period that holds start_date is kept whole; the one that starts at end_date not.
    for stream in DATED_STREAMS:
        days = {record["period_id"] for record in run.records[stream]}
        assert days == {"2026-11-25", "2026-11-26", "2026-11-27"}, (stream, sorted(days))
    early = [r for r in run.records["datasync_events"] if r["browser_timestamp"] < start]
    assert early, "no row of the period that holds start_date from before start_date"
    for stream in DEFINITION_STREAMS:
        assert_emitted(stream, run.records.get(stream, []), fake.emitted(stream), "bounded: ")


def test_lost_exports_are_named_in_one_warning_and_the_rest_is_emitted(story, tmp_path):
    fake = FakeDataSync(tmp_path / "tree", seed=4, days=3, scale=0.3)
    fake.write_history()
    for _ in range(3):
        fake.next_day()
    fake.drop_exports(APP, [2, 3])
    after = {folder: 1 for folder in fake.folders}
    assert fake.lost_exports(after=after) == {APP: [2, 3]}
    for stream, entry in entries(story.catalog2).items():
        assert set(fake.columns(stream)) <= set(entry["schema"]["properties"]), stream
    config = datasync_config(fake.url)

    # sync 1's state says: counter 1 read in every folder.
    assert story.sync1.state["bookmarks"] == story.bookmarks1
    assert {c for b in story.bookmarks1.values() for c in b["export_counter"].values()} == {1}
    run = run_tap(
        tmp_path / "run", config, now_ms=None, catalog=story.catalog2, state=story.sync1.state
    ).ok()
    (warning,) = warnings(run.stderr)
    assert APP in warning and re.search(r"\b2\b", warning) and re.search(r"\b3\b", warning), warning
    assert_run_emitted(run, fake, "after the loss: ", after=after)
    counters = {
        r["export_counter"] for r in run.records["datasync_events"] if str(r["app_id"]) == APP
    }
    assert counters == {4}, counters
    assert run.state["bookmarks"] == expected_bookmarks(fake)

    again = run_tap(
        tmp_path / "again", config, now_ms=None, catalog=story.catalog2, state=run.state
    ).ok()
    assert warnings(again.stderr) == [] and again.records == {}


def test_s3_sync_and_incremental_sync_equal_the_truth(story, tmp_path):
    fake = FakeDataSync(tmp_path / "tree", seed=5, days=2, scale=0.3)
    history = fake.write_history()
    # The story's first catalog has this tree's columns (discovery is checked above).
    for stream in STREAMS:
        assert fake.columns(stream) == story.columns1[stream], stream
    catalog = story.catalog1
    with S3Store(fake.root, bucket="datasync-integration") as store:
        # moto takes any credentials: these hold the secret mark, which no output may hold.
        options = {
            **store.storage_options,
            "key": f"AKIA{SECRET_MARK.upper()}FAKE",
            "secret": SECRET_KEY,
        }
        config = datasync_config(store.url, options)
        first = run_tap(tmp_path / "sync1", config, now_ms=None, catalog=catalog).ok()
        assert_run_emitted(first, fake, "s3 sync 1: ")
        assert first.state["bookmarks"] == expected_bookmarks(fake)

        # One change export (a whole day's exports would double the run's S3 requests).
        fake.advance()
        changes = fake.write_changes(kinds=("account",))
        assert store.upload() > 0
        second = run_tap(
            tmp_path / "sync2", config, now_ms=None, catalog=catalog, state=first.state
        ).ok()
    assert changes.counters == {"account": [2]}
    read = {folder: max(counters) for folder, counters in history.counters.items()}
    account_streams = ["datasync_accounts", "datasync_account_metadata_schema"]
    assert_run_emitted(second, fake, "s3 sync 2: ", streams=account_streams, after=read)
    assert second.state["bookmarks"] == expected_bookmarks(fake)
    for run in (first, second):
        assert_no_storage_secret(run, options, tmp_path)
