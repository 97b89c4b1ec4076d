"""visitor_history, end to end: complete, keyed, incremental, and few, parallel requests."""

import time

import pytest

from tap_pendo.timefmt import DAY_MS, ms_to_rfc3339, parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.truth import active_visitor_days, primary_key
from tests.integration.harness import base_config, by_key, discover, run_tap, select

KEY = primary_key("visitor_history")
LONG_AGO = "2020-01-01T00:00:00Z"  # before the fake's oldest history, which Pendo no longer keeps


def history_truth(fake, config, include_anonymous=False):
    return by_key(
        fake.truth(
            "visitor_history",
            start_ms=parse_datetime_ms(config["start_date"]),
            include_anonymous=include_anonymous,
        ),
        KEY,
    )


@pytest.fixture(scope="module")
def fake():
    with FakePendo(seed=13) as server:
        yield server


@pytest.mark.parametrize("anonymous", [False, True])
def test_every_history_row_of_the_180_days_exactly_once(fake, tmp_path, anonymous):
    config = base_config(
        fake, start_date=LONG_AGO, include_anonymous_visitors=anonymous, record_limit=40
    )
    catalog = select(discover(fake, tmp_path / "d", config), ["visitor_history"])
    run = run_tap(fake, tmp_path, config, catalog).ok()
    rows = run.records["visitor_history"]
    assert len(by_key(rows, KEY)) == len(rows), "a key was emitted twice"
    assert all(all(r.get(k) is not None for k in KEY) for r in rows)
    assert by_key(rows, KEY) == history_truth(fake, config, anonymous)
    assert any(r["visitor_id"].startswith("_PENDO_T_") for r in rows) == anonymous
    state = run.state["bookmarks"]["visitor_history"]
    assert set(state) == {"modified_ts"}  # small: no entry per visitor


def test_visitors_and_history_share_one_listing(fake, tmp_path):
    config = base_config(fake, record_limit=40)
    catalog = discover(fake, tmp_path / "d", config)
    fake.reset_log()
    alone = run_tap(fake, tmp_path / "alone", config, select(catalog, ["visitor_history"])).ok()
    listing_alone = fake.log["sources"]["visitors"]
    fake.reset_log()
    both = run_tap(
        fake, tmp_path / "both", config, select(catalog, ["visitors", "visitor_history"])
    ).ok()
    assert fake.log["sources"]["visitors"] <= listing_alone + 1
    assert by_key(both.records["visitor_history"], KEY) == by_key(
        alone.records["visitor_history"], KEY
    )
    start = parse_datetime_ms(config["start_date"])
    assert by_key(both.records["visitors"], ["visitor_id"]) == by_key(
        fake.truth("visitors", start_ms=start), ["visitor_id"]
    )
    assert set(both.state["bookmarks"]) == {"visitors", "visitor_history"}


def test_second_run_emits_only_the_last_day_and_a_third_picks_up_everything(tmp_path):
    with FakePendo(seed=17) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp_path / "d", config), ["visitor_history"])
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        bookmark = parse_datetime_ms(first.state["bookmarks"]["visitor_history"]["modified_ts"])
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        again = second.records.get("visitor_history", [])
        assert len(again) < len(first.records["visitor_history"]) / 5
        # Only the lookback day (Pendo's history arrives late) comes again.
        assert all(parse_datetime_ms(r["ts"]) >= bookmark - DAY_MS for r in again)
        fake.advance(20)
        third = run_tap(fake, tmp_path / "3", config, catalog, state=second.state).ok()
        merged = by_key(first.records["visitor_history"], KEY)
        for run in (second, third):
            merged.update(by_key(run.records.get("visitor_history", []), KEY))
        assert merged == history_truth(fake, config)
        assert len(third.records["visitor_history"]) > len(again)


def test_requests_stay_within_active_visitor_days_and_parallelism_pays(tmp_path):
    walls = {}
    with FakePendo(seed=19, latency=0.1) as fake:
        start_ms = fake.dataset.now_ms - 2 * DAY_MS
        config = base_config(fake, start_date=ms_to_rfc3339(start_ms))
        catalog = select(discover(fake, tmp_path / "d", config), ["visitor_history"])
        bound = active_visitor_days(fake.dataset, start_ms)
        for workers in (2, 8):
            fake.reset_log()
            begun = time.monotonic()
            run = run_tap(
                fake,
                tmp_path / str(workers),
                dict(config, max_concurrent_requests=workers),
                catalog,
            ).ok()
            walls[workers] = time.monotonic() - begun
            log = fake.log
            assert run.records["visitor_history"]
            assert 0 < log["requests"]["history"] <= bound
            assert log["sources"]["visitors"] <= 2  # one listing page (and an empty one)
    assert walls[8] < walls[2] * 0.6, walls
