"""guide_steps, polls, segments and reports, end to end (issue 13): the installed tap,
each stream alone, against the fake Pendo's truth at scale 1.

One module fixture makes every run: for each stream alone, a first run from
start_date, a second with the first's state and nothing changed, then the clock
moves on 2 hours (the fake edits a segment and a report every 20 minutes, and
a guide or more an hour; the tap's clock follows through libfaketime) and a
third run with the second's state. The tests below read those runs.

The fixture runs twice: over the fake's data as generated (every guide, segment
and report has a `lastUpdatedAt`), and with a third of the guides, segments and
reports stripped of it (undated rows, which every run reads again). The fake
serves, and its truth gives, the same stripped rows.
"""

from dataclasses import dataclass, field

import pytest

from tap_pendo.timefmt import parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import (
    TapRun,
    base_config,
    by_key,
    discover,
    pinned_clock_env,
    run_tap,
    select,
)

NEW_STREAMS = ["guide_steps", "polls", "segments", "reports"]
GUIDE_PARTS = ["guide_steps", "polls"]
RK = "last_updated_at"  # the replication key and bookmark key of the four streams
START_DATE = "2020-01-01T00:00:00Z"  # before every item: the whole of each list is read
PAGE = 10  # guides per page: fewer than the guides that share one lastUpdatedAt, or have none
# The fake's clock is pinned, so that what changes in ADVANCE_HOURS does not depend on
# the day the tests run: 2025-11-24 16:17 UTC, then 5 steps, 3 polls, 5 segments and 5
# reports change in 2 hours.
PINNED_MS = 1_764_000_000_000 + 17 * 60_000 + 123
ADVANCE_HOURS = 2
UNDATED_EVERY = 3  # "some-undated": every third guide, segment and report has no date


@dataclass
class Runs:
    """Every run of the module, per stream, and the truth before and after the clock moved."""

    config: dict
    undated: bool  # some guides, segments and reports have no lastUpdatedAt
    first: dict = field(default_factory=dict)
    second: dict = field(default_factory=dict)
    third: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)  # the fake's log of each first run, and more
    truth_before: dict = field(default_factory=dict)
    truth_after: dict = field(default_factory=dict)


def rk_ms(record: dict):
    value = record.get(RK)
    return None if value is None else parse_datetime_ms(value)


def bookmark_ms(run: TapRun, stream: str) -> int:
    return parse_datetime_ms(run.state["bookmarks"][stream][RK])


def keyed(records, stream) -> dict:
    return by_key(records, primary_key(stream))


def assert_no_key_twice(run: TapRun, stream: str) -> None:
    records = run.records.get(stream, [])
    assert len(keyed(records, stream)) == len(records), f"{stream}: a key was emitted twice"


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


@pytest.fixture(scope="module", params=["dated", "some-undated"])
def runs(request, tmp_path_factory) -> Runs:
    tmp = tmp_path_factory.mktemp("new_streams")
    with FakePendo(seed=3, start_ms=PINNED_MS) as fake:
        if request.param == "some-undated":
            leave_some_rows_undated(fake.dataset)
        config = base_config(fake, start_date=START_DATE, record_limit=PAGE)
        catalog = discover(fake, tmp / "discover", config)
        start = parse_datetime_ms(START_DATE)
        result = Runs(config, undated=request.param == "some-undated")
        for stream in NEW_STREAMS:
            result.truth_before[stream] = fake.truth(stream, start_ms=start)
            fake.reset_log()
            result.first[stream] = run_tap(
                fake,
                tmp / f"{stream}-1",
                config,
                select(catalog, [stream]),
                env=pinned_clock_env(fake),
            ).ok()
            result.logs[stream] = fake.log
            result.second[stream] = run_tap(
                fake,
                tmp / f"{stream}-2",
                config,
                select(catalog, [stream]),
                state=result.first[stream].state,
                env=pinned_clock_env(fake),
            ).ok()
        # What the guides listing costs alone, and with its steps and polls riding on it.
        for name, streams in (("guides", ["guides"]), ("guides+parts", ["guides"] + GUIDE_PARTS)):
            fake.reset_log()
            run_tap(
                fake, tmp / name, config, select(catalog, streams), env=pinned_clock_env(fake)
            ).ok()
            result.logs[name] = fake.log
        fake.advance(ADVANCE_HOURS)
        for stream in NEW_STREAMS:
            result.truth_after[stream] = fake.truth(stream, start_ms=start)
            result.third[stream] = run_tap(
                fake,
                tmp / f"{stream}-3",
                config,
                select(catalog, [stream]),
                state=result.second[stream].state,
                env=pinned_clock_env(fake),
            ).ok()
    return result


@pytest.mark.parametrize("stream", NEW_STREAMS)
def test_every_row_exactly_once_when_the_stream_runs_alone(runs, stream):
    run = runs.first[stream]
    assert set(run.records) == {stream}, "only the selected stream is written"
    assert set(run.schemas) == {stream}
    assert set(run.state["bookmarks"]) == {stream}
    assert_no_key_twice(run, stream)
    records = run.records[stream]
    truth = runs.truth_before[stream]
    assert len(records) == len(truth) > 0
    assert keyed(records, stream) == keyed(truth, stream), f"{stream} differs from the truth"
    assert run.schemas[stream]["key_properties"] == primary_key(stream)


@pytest.mark.parametrize("stream", NEW_STREAMS)
def test_the_key_merges_no_rows_of_the_truth(runs, stream):
    for truth in (runs.truth_before[stream], runs.truth_after[stream]):
        assert len(keyed(truth, stream)) == len(truth) > 0
        assert all(None not in key for key in keyed(truth, stream)), "a key column is null"


def test_step_and_poll_ids_repeat_across_guides_so_the_key_needs_the_guide(runs):
    for stream in GUIDE_PARTS:
        ids = [r["id"] for r in runs.first[stream].records[stream]]
        assert len(set(ids)) < len(ids), f"{stream}: the fake's repeated ids are missing"


def test_segment_and_report_queries_are_kept_verbatim(runs):
    for stream, query in (("segments", "pipeline"), ("reports", "definition")):
        text = repr([r[query] for r in runs.first[stream].records[stream]])
        assert any(c.isupper() for c in text), f"{stream}: no camelCase key left in {query}"


@pytest.mark.parametrize("stream", NEW_STREAMS)
def test_second_run_reemits_only_ties_at_the_bookmark_and_undated_rows(runs, stream):
    first, second = runs.first[stream], runs.second[stream]
    bookmark = bookmark_ms(first, stream)
    dated = [rk_ms(r) for r in first.records[stream] if rk_ms(r) is not None]
    assert bookmark == max(dated), "the bookmark is the newest value written"
    expected = {
        key: record
        for key, record in keyed(first.records[stream], stream).items()
        if rk_ms(record) is None or rk_ms(record) == bookmark
    }
    assert any(rk_ms(r) == bookmark for r in expected.values()), "the newest row is a tie"
    undated = [r for r in first.records[stream] if rk_ms(r) is None]
    assert bool(undated) == runs.undated, "undated rows only where the fixture made them"
    assert_no_key_twice(second, stream)
    # At most the ties and the undated rows, and every one of them (ties are never skipped).
    assert keyed(second.records.get(stream, []), stream) == expected
    assert bookmark_ms(second, stream) == bookmark


@pytest.mark.parametrize("stream", NEW_STREAMS)
def test_after_the_clock_moves_every_changed_row_arrives(runs, stream):
    before = keyed(runs.truth_before[stream], stream)
    after = keyed(runs.truth_after[stream], stream)
    changed = {key for key, record in after.items() if before.get(key) != record}
    assert changed, f"the fake changed no {stream} in {ADVANCE_HOURS} hours"
    third = runs.third[stream]
    assert_no_key_twice(third, stream)
    got = keyed(third.records.get(stream, []), stream)
    assert changed <= set(got), f"{stream}: changed rows missing from the third run"
    # Nothing older than the bookmark came again.
    bookmark = bookmark_ms(runs.second[stream], stream)
    assert all(rk_ms(r) is None or rk_ms(r) >= bookmark for r in got.values())
    assert bookmark_ms(third, stream) > bookmark
    merged = keyed(runs.first[stream].records[stream], stream)
    merged.update(keyed(runs.second[stream].records.get(stream, []), stream))
    merged.update(got)
    assert merged == after, f"{stream}: the runs together differ from the new truth"


def test_guide_steps_and_polls_cost_no_request_beyond_the_guides_listing(runs):
    guides_alone = runs.logs["guides"]
    assert guides_alone["sources"]["guides"] == guides_alone["total"] > 1, "pages of guides"
    for name in GUIDE_PARTS + ["guides+parts"]:
        log = runs.logs[name]
        assert log["total"] == log["requests"]["aggregation"] == log["sources"]["guides"], name
        assert log["total"] == guides_alone["total"], name


def test_segments_and_reports_cost_one_get_each(runs):
    for stream, endpoint in (("segments", "segment"), ("reports", "report")):
        log = runs.logs[stream]
        assert log["requests"][endpoint] == log["total"] == 1, stream


def test_row_counts_per_stream_against_the_truth(runs, capsys):
    lines = [f"{'stream':<12} {'run 1':>6} {'truth':>6} {'run 2':>6} {'run 3':>6} {'truth':>6}"]
    for stream in NEW_STREAMS:
        counts = (
            len(runs.first[stream].records.get(stream, [])),
            len(runs.truth_before[stream]),
            len(runs.second[stream].records.get(stream, [])),
            len(runs.third[stream].records.get(stream, [])),
            len(runs.truth_after[stream]),
        )
        lines.append(f"{stream:<12} " + " ".join(f"{n:>6}" for n in counts))
        assert counts[0] == counts[1]
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_feature_events_works_alone(tmp_path):
    with FakePendo(seed=19, days=10) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp_path / "d", config), ["feature_events"])
        fake.reset_log()
        run = run_tap(fake, tmp_path, config, catalog).ok()
        log = fake.log
        truth = fake.truth("feature_events", start_ms=parse_datetime_ms(config["start_date"]))
    assert set(run.records) == {"feature_events"}
    assert_no_key_twice(run, "feature_events")
    assert keyed(run.records["feature_events"], "feature_events") == keyed(truth, "feature_events")
    assert len(truth) > 0
    assert log["total"] == log["sources"]["featureEvents"], "no request for another stream"


@pytest.mark.parametrize("first_streams", [["guides"], GUIDE_PARTS], ids=["guides", "parts"])
def test_streams_on_the_guides_listing_keep_their_own_bookmarks(tmp_path, first_streams):
    """A stream added to the catalog later reads everything, while the streams that share
    its listing and already have a bookmark re-read only their ties (and undated rows)."""
    streams = ["guides"] + GUIDE_PARTS
    with FakePendo(seed=3) as fake:
        config = base_config(fake, start_date=START_DATE, record_limit=PAGE)
        catalog = discover(fake, tmp_path / "d", config)
        first = run_tap(fake, tmp_path / "1", config, select(catalog, first_streams)).ok()
        fake.reset_log()
        second = run_tap(
            fake, tmp_path / "2", config, select(catalog, streams), state=first.state
        ).ok()
        listing = fake.log
        truth = {s: fake.truth(s, start_ms=parse_datetime_ms(START_DATE)) for s in streams}
    assert listing["total"] == listing["sources"]["guides"], "one listing serves the three"
    for stream in streams:
        assert_no_key_twice(second, stream)
        got = keyed(second.records.get(stream, []), stream)
        if stream in first_streams:
            bookmark = bookmark_ms(first, stream)
            expected = {
                key: record
                for key, record in keyed(first.records[stream], stream).items()
                if rk_ms(record) in (None, bookmark)
            }
            assert got == expected, f"{stream}: only ties again"
            assert bookmark_ms(second, stream) == bookmark
        else:
            assert got == keyed(truth[stream], stream), f"{stream}: every row, from start_date"
