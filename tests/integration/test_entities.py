"""Entity streams, end to end: accounts, visitors, features, pages, guides, track types,
the guides' steps and polls, segments and reports, and the metadata documents,
against the fake's truth.

One module fixture makes a first run of the ten entity streams from far back, and a
second one from its state with nothing changed; a third of the guides, segments and
reports have no `lastUpdatedAt` (the fake serves, and its truth gives, the same
undated rows). The tests below read those runs; a few make small runs of their own.
What a run after the clock moved brings is test_time_zones.py's.

Pinned clock (tests/support/moments.py): US_SPRING_WEEK, the week New York springs
forward. Entities have no periods: the clock only fixes which rows exist and when
they were last updated.
"""

from dataclasses import dataclass

import pytest

from tests.support import moments
from tests.support.bookmarks import (
    KEYSET_STREAMS,
    bookmark_value_ms,
    entity_rows_after,
    newest_position,
    position,
)
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import ms
from tests.support.records import assert_truth, by_key, primary_key
from tests.support.tap import TapRun, select, sync

ENTITIES = ["accounts", "visitors", "features", "pages", "guides", "track_types"]
GUIDE_PARTS = ["guide_steps", "polls"]  # rows inside the guides' rows, read with them
SAVED = ["segments", "reports"]
STREAMS = ENTITIES + GUIDE_PARTS + SAVED
METADATA = ["metadata_accounts", "metadata_visitors"]
START_DATE = "2020-01-01T00:00:00Z"  # before every item: the whole of each list is read
PAGE = 10  # rows per request: fewer than the rows that share one date, or have none
UNDATED_EVERY = 3  # every third guide, segment and report has no lastUpdatedAt


def strip_dates(rows: list) -> list:
    """Every UNDATED_EVERY-th row (from the second) without its lastUpdatedAt."""
    return [
        {k: v for k, v in row.items() if k != "lastUpdatedAt"} if i % UNDATED_EVERY == 1 else row
        for i, row in enumerate(rows)
    ]


def leave_some_rows_undated(dataset) -> None:
    """The dataset's guides, segments and reports, some undated, for the server and the truth."""
    entities, segments, reports = dataset.entities, dataset.segments, dataset.reports
    dataset.entities = lambda source: (
        strip_dates(entities(source)) if source == "guides" else entities(source)
    )
    dataset.segments = lambda: strip_dates(segments())
    dataset.reports = lambda: strip_dates(reports())


@pytest.fixture(scope="module")
def fake():
    """Some guides, segments and reports undated; read only: no test moves its clock."""
    with pinned_fake(moments.US_SPRING_WEEK, seed=3, scale=0.5, days=10) as server:
        leave_some_rows_undated(server.dataset)
        yield server


@dataclass
class Reruns:
    config: dict
    first: TapRun
    second: TapRun
    log: dict  # the fake's log of the first run


@pytest.fixture(scope="module")
def reruns(fake, catalogs, tmp_path_factory) -> Reruns:
    tmp = tmp_path_factory.mktemp("entities")
    config = base_config(fake, start_date=START_DATE, record_limit=PAGE)
    catalog = select(catalogs(), STREAMS)
    fake.reset_log()
    first = sync(fake, tmp / "first", config, catalog)
    log = fake.log
    second = sync(fake, tmp / "second", config, catalog, state=first.state)
    return Reruns(config, first, second, log)


def test_a_first_run_is_every_row_exactly_once(fake, reruns):
    assert_truth(reruns.first, fake, STREAMS, start_ms=ms(START_DATE))
    for stream in STREAMS:
        assert reruns.first.schemas[stream]["key_properties"] == primary_key(stream)


def test_a_second_run_with_nothing_changed_emits_only_what_its_bookmark_cannot_skip(reruns):
    """Rows without a date (which cannot be tracked) come again; so do the ties at the
    bookmark of segments and reports, which keep no keyset position. Nothing else does."""
    undated = ties = 0
    for stream in STREAMS:
        first, second = reruns.first, reruns.second
        bookmark = first.state["bookmarks"][stream]
        # Steps and polls stand where the guides' listing stands: at its newest guide.
        listed = "guides" if stream in GUIDE_PARTS else stream
        newest = newest_position(listed, first.records[listed])
        assert bookmark_value_ms(stream, bookmark) == newest[0], stream
        if stream in KEYSET_STREAMS:
            assert tuple(bookmark["newest"]) == newest, f"{stream}: {bookmark}"
        expected = by_key(
            entity_rows_after(stream, first.records[stream], bookmark), primary_key(stream)
        )
        again = second.records.get(stream, [])
        assert len(by_key(again, primary_key(stream))) == len(again), f"{stream}: a key came twice"
        assert by_key(again, primary_key(stream)) == expected, stream
        assert second.state["bookmarks"][stream] == bookmark, stream
        undated += sum(1 for r in expected.values() if position(stream, r) is None)
        ties += sum(1 for r in expected.values() if position(stream, r) is not None)
    assert undated > PAGE and ties > 0, (undated, ties)


def test_step_and_poll_ids_repeat_across_guides_so_the_key_needs_the_guide(reruns):
    for stream in GUIDE_PARTS:
        ids = [r["id"] for r in reruns.first.records[stream]]
        assert len(set(ids)) < len(ids), f"{stream}: the fake's repeated ids are missing"


def nested_keys(value):
    """Every key of nested objects, also inside lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from nested_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from nested_keys(item)


def test_segment_and_report_queries_are_kept_verbatim(fake, reruns):
    """A segment's pipeline and a report's definition are Pendo queries: their keys stay
    camelCase, while the keys around them are snake_case."""
    for stream, query, served in (
        ("segments", "pipeline", fake.dataset.segments()),
        ("reports", "definition", fake.dataset.reports()),
    ):
        pendo = {row["id"]: row[query] for row in served}
        records = reruns.first.records[stream]
        assert all(record[query] == pendo[record["id"]] for record in records), stream
        kept = {key for record in records for key in nested_keys(record[query])}
        assert any(key != key.lower() for key in kept), f"{stream}: no camelCase key in {query}"
        around = {key for record in records for key in nested_keys(record) if key != query}
        around -= kept
        assert "created_at" in around and all(key == key.lower() for key in around), stream


def test_guide_steps_and_polls_cost_no_request_beyond_the_guides_listing(
    fake, catalogs, reruns, tmp_path
):
    fake.reset_log()
    parts = sync(fake, tmp_path, reruns.config, select(catalogs(), GUIDE_PARTS))
    log = fake.log
    assert set(parts.records) == set(GUIDE_PARTS), "only the selected streams are written"
    # Read alone, the steps and polls cost the guides listing, as many pages as the
    # first run's, which read the guides, their steps and polls at once.
    assert log["total"] == log["sources"]["guides"] == reruns.log["sources"]["guides"] > 1


def test_segments_and_reports_cost_one_get_each(reruns):
    requests = reruns.log["requests"]
    assert requests["segment"] == requests["report"] == 1


@pytest.mark.parametrize("first_streams", [["guides"], GUIDE_PARTS], ids=["guides", "parts"])
def test_streams_on_the_guides_listing_keep_their_own_bookmarks(
    fake, catalogs, tmp_path, first_streams
):
    """A stream added to the catalog later reads everything, while the streams that share
    its listing and already have a bookmark read only past it (and undated rows)."""
    streams = ["guides"] + GUIDE_PARTS
    config = base_config(fake, start_date=START_DATE, record_limit=PAGE)
    first = sync(fake, tmp_path / "1", config, select(catalogs(), first_streams))
    assert set(first.records) == set(first_streams)
    fake.reset_log()
    second = sync(fake, tmp_path / "2", config, select(catalogs(), streams), state=first.state)
    listing = fake.log
    assert listing["total"] == listing["sources"]["guides"], "one listing serves the three"
    for stream in streams:
        got = second.records.get(stream, [])
        assert len(by_key(got, primary_key(stream))) == len(got), f"{stream}: a key came twice"
        if stream in first_streams:
            bookmark = first.state["bookmarks"][stream]
            expected = entity_rows_after(stream, first.records[stream], bookmark)
            assert by_key(got, primary_key(stream)) == by_key(expected, primary_key(stream)), (
                f"{stream}: past its bookmark"
            )
            assert second.state["bookmarks"][stream] == bookmark
        else:
            assert_truth(second, fake, [stream], start_ms=ms(START_DATE))


def test_anonymous_visitors_and_app_ids_select_exactly_their_rows(fake, catalogs, tmp_path):
    apps = fake.dataset.apps[1:]  # the two apps other than the default one
    config = base_config(
        fake,
        start_date=START_DATE,
        record_limit=PAGE,
        include_anonymous_visitors=True,
        app_ids=",".join(str(a) for a in apps),
    )
    streams = ENTITIES + METADATA
    run = sync(fake, tmp_path, config, select(catalogs(), streams))
    assert_truth(run, fake, streams, start_ms=ms(START_DATE), include_anonymous=True, app_ids=apps)
    # The rows that make paging hard really were there.
    ids = [r["visitor_id"] for r in run.records["visitors"]]
    assert any('"' in i or "\\" in i or "/" in i for i in ids)
    assert any(i.startswith("_PENDO_T_") for i in ids)
    assert {r["app_id"] for r in run.records["features"]} == set(apps)
