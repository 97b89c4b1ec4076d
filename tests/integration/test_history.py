"""visitor_history, end to end, against the fake's truth: every item of Pendo's 180 days
exactly once, with and without anonymous visitors; one visitors listing shared with
the visitors stream; and requests only for the days a visitor can have been active.

Its incremental runs (a day of lookback, then every new item) are test_time_zones.py's.

Pinned clock (tests/support/moments.py): YEAR_END_NEW_YORK, 31 December 2026 at 22:00
in New York and already 2027 in UTC: the 180 days of history and the visitors' days
run across a year end, and the 24-hour slices of history across the UTC one.
"""

import pytest

from tests.fake_pendo.truth import active_visitor_days
from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import DAY_MS, HOUR_MS, ms, rfc3339
from tests.support.records import assert_same_records, assert_truth, primary_key
from tests.support.tap import select, sync

KEY = primary_key("visitor_history")
LONG_AGO = "2020-01-01T00:00:00Z"  # before the fake's oldest history, which Pendo no longer keeps


@pytest.fixture(scope="module")
def fake():
    """Read only: no test here moves its clock."""
    with pinned_fake(moments.YEAR_END_NEW_YORK, seed=13, scale=0.2, days=8) as server:
        yield server


@pytest.mark.parametrize("anonymous", [False, True], ids=["identified", "anonymous"])
def test_every_history_item_of_the_180_days_exactly_once(fake, catalogs, tmp_path, anonymous):
    config = base_config(
        fake, start_date=LONG_AGO, include_anonymous_visitors=anonymous, record_limit=40
    )
    run = sync(fake, tmp_path, config, select(catalogs(), ["visitor_history"]))
    rows = run.records["visitor_history"]
    assert all(all(r.get(k) is not None for k in KEY) for r in rows)
    assert_truth(run, fake, ["visitor_history"], start_ms=ms(LONG_AGO), include_anonymous=anonymous)
    assert any(r["visitor_id"].startswith("_PENDO_T_") for r in rows) == anonymous
    # Nothing older than Pendo's 180 days was there to read.
    oldest = min(ms(r["ts"]) for r in rows)
    assert oldest >= moments.YEAR_END_NEW_YORK - 180 * DAY_MS
    state = run.state["bookmarks"]["visitor_history"]
    assert set(state) == {"modified_ts"}  # small: no entry per visitor


def test_visitors_and_history_share_one_listing(fake, catalogs, tmp_path):
    config = base_config(fake, record_limit=40)
    start = ms(config["start_date"])
    fake.reset_log()
    alone = sync(fake, tmp_path / "alone", config, select(catalogs(), ["visitor_history"]))
    listing_alone = fake.log["sources"]["visitors"]
    fake.reset_log()
    both = sync(
        fake, tmp_path / "both", config, select(catalogs(), ["visitors", "visitor_history"])
    )
    assert fake.log["sources"]["visitors"] <= listing_alone + 1
    for run in (alone, both):
        assert_truth(run, fake, ["visitor_history"], start_ms=start)
    assert_same_records(
        "visitors", both.records["visitors"], fake.truth("visitors", start_ms=start), ["visitor_id"]
    )
    assert set(both.state["bookmarks"]) == {"visitors", "visitor_history"}


def test_requests_stay_within_active_visitor_days(fake, catalogs, tmp_path):
    start_ms = fake.dataset.now_ms - 2 * DAY_MS - 5 * HOUR_MS
    config = base_config(fake, start_date=rfc3339(start_ms), max_concurrent_requests=8)
    bound = active_visitor_days(fake.dataset, start_ms)
    fake.reset_log()
    run = sync(fake, tmp_path, config, select(catalogs(), ["visitor_history"]))
    log = fake.log
    assert_same_records(
        "visitor_history",
        run.records["visitor_history"],
        fake.truth("visitor_history", start_ms=start_ms),
        KEY,
    )
    assert 0 < log["requests"]["history"] <= bound
    assert log["sources"]["visitors"] <= 2  # one listing page (and an empty one)
