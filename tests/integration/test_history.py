"""visitor_history, end to end, against the fake's truth in three time zones: complete,
keyed, incremental, and few requests."""

import pytest

from tap_pendo.timefmt import DAY_MS, HOUR_MS, ms_to_rfc3339, parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.truth import active_visitor_days, primary_key
from tests.integration.harness import (
    ZONES,
    assert_same_records,
    base_config,
    by_key,
    discover,
    run_tap,
    select,
    zone_id,
)

KEY = primary_key("visitor_history")
LONG_AGO = "2020-01-01T00:00:00Z"  # before the fake's oldest history, which Pendo no longer keeps


def history_truth(fake, config, include_anonymous=False) -> list:
    return fake.truth(
        "visitor_history",
        start_ms=parse_datetime_ms(config["start_date"]),
        include_anonymous=include_anonymous,
    )


@pytest.fixture(scope="module", params=ZONES, ids=zone_id)
def fake(request):
    """Read only: tests that move the clock make their own."""
    with FakePendo(seed=13, scale=0.3, days=20, tz=request.param) as server:
        yield server


@pytest.fixture(scope="module")
def one_zone_fake():
    """For tests in which time plays no part."""
    with FakePendo(seed=13, scale=0.3, days=20) as server:
        yield server


@pytest.mark.parametrize("anonymous", [False, True])
def test_every_history_row_of_the_180_days_exactly_once(fake, tmp_path, anonymous):
    config = base_config(
        fake, start_date=LONG_AGO, include_anonymous_visitors=anonymous, record_limit=40
    )
    catalog = select(discover(fake, tmp_path / "d", config), ["visitor_history"])
    run = run_tap(fake, tmp_path, config, catalog).ok()
    rows = run.records["visitor_history"]
    assert all(all(r.get(k) is not None for k in KEY) for r in rows)
    assert_same_records("visitor_history", rows, history_truth(fake, config, anonymous), KEY)
    assert any(r["visitor_id"].startswith("_PENDO_T_") for r in rows) == anonymous
    state = run.state["bookmarks"]["visitor_history"]
    assert set(state) == {"modified_ts"}  # small: no entry per visitor


def test_visitors_and_history_share_one_listing(one_zone_fake, tmp_path):
    fake = one_zone_fake
    config = base_config(fake, record_limit=40)
    start = parse_datetime_ms(config["start_date"])
    catalog = discover(fake, tmp_path / "d", config)
    fake.reset_log()
    alone = run_tap(fake, tmp_path / "alone", config, select(catalog, ["visitor_history"])).ok()
    listing_alone = fake.log["sources"]["visitors"]
    fake.reset_log()
    both = run_tap(
        fake, tmp_path / "both", config, select(catalog, ["visitors", "visitor_history"])
    ).ok()
    assert fake.log["sources"]["visitors"] <= listing_alone + 1
    for run in (alone, both):
        history = run.records["visitor_history"]
        assert_same_records("visitor_history", history, history_truth(fake, config), KEY)
    visitors = both.records["visitors"]
    truth = fake.truth("visitors", start_ms=start)
    assert_same_records("visitors", visitors, truth, ["visitor_id"])
    assert set(both.state["bookmarks"]) == {"visitors", "visitor_history"}


@pytest.mark.parametrize("tz", ZONES, ids=zone_id)
def test_second_run_emits_only_the_last_day_and_a_third_picks_up_everything(tz, tmp_path):
    with FakePendo(seed=17, scale=0.3, days=10, tz=tz) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp_path / "d", config), ["visitor_history"])
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        bookmark = parse_datetime_ms(first.state["bookmarks"]["visitor_history"]["modified_ts"])
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        again = second.records.get("visitor_history", [])
        assert len(again) < len(first.records["visitor_history"]) / 5
        # Only the lookback day (Pendo's history arrives late) comes again, all of it.
        reread = fake.truth("visitor_history", start_ms=bookmark - DAY_MS)
        assert_same_records("second run", again, reread, KEY)
        fake.advance(20)
        third = run_tap(fake, tmp_path / "3", config, catalog, state=second.state).ok()
        merged = by_key(first.records["visitor_history"], KEY)
        for run in (second, third):
            merged.update(by_key(run.records.get("visitor_history", []), KEY))
        assert_same_records("three runs", list(merged.values()), history_truth(fake, config), KEY)
        assert len(third.records["visitor_history"]) > len(again)


def test_requests_stay_within_active_visitor_days(fake, tmp_path):
    start_ms = fake.dataset.now_ms - 2 * DAY_MS - 5 * HOUR_MS
    config = base_config(fake, start_date=ms_to_rfc3339(start_ms))
    catalog = select(discover(fake, tmp_path / "d", config), ["visitor_history"])
    bound = active_visitor_days(fake.dataset, start_ms)
    for workers in (2, 8):
        fake.reset_log()
        run = run_tap(
            fake, tmp_path / str(workers), dict(config, max_concurrent_requests=workers), catalog
        ).ok()
        log = fake.log
        truth = fake.truth("visitor_history", start_ms=start_ms)
        assert_same_records("visitor_history", run.records["visitor_history"], truth, KEY)
        assert 0 < log["requests"]["history"] <= bound
        assert log["sources"]["visitors"] <= 2  # one listing page (and an empty one)
