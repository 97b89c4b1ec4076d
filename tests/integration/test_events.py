"""Event streams, end to end, against the fake's truth: `end_date` slices across a DST
change, a child stream read alone in one request per window, and a changed period
refused before any request.

Every row exactly once in every zone and period, and the incremental runs, are
test_time_zones.py's; date ranges across calendar edges are test_period_edges.py's.

Pinned clocks (tests/support/moments.py):
- US_DST_WEEK (New York, 4 November 2026): the middle slice holds Sunday 1 November,
  the 25-hour day.
- LORD_HOWE_APRIL (8 April 2026): the middle slice holds 5 April, the 24.5-hour day.
- MONTH_END_KOLKATA (1 June 2026): the child stream's windows run across the month end.
"""

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import DAY_MS, HOUR_MS, ms, rfc3339
from tests.support.records import EVENTS, assert_truth, by_key, merged, primary_key
from tests.support.tap import run_tap, select, sync

PER_EVENT = ("guide_events", "poll_events")
SLICED = EVENTS + ["visitor_history"]  # what end_date bounds
SLICES = {
    "New_York-dayRange": ("America/New_York", moments.US_DST_WEEK, "dayRange"),
    "Lord_Howe-hourRange": ("Australia/Lord_Howe", moments.LORD_HOWE_APRIL, "hourRange"),
}


@pytest.mark.parametrize("case", list(SLICES))
def test_end_date_slices_are_each_the_truth_and_together_one_run(case, catalogs, tmp_path):
    tz, now, period = SLICES[case]
    with pinned_fake(now, seed=7, scale=0.2, days=8, tz=tz) as fake:
        config = base_config(fake, period=period, record_limit=1000)
        catalog = select(catalogs(period), SLICED)
        start = ms(config["start_date"])
        # The first cut inside a period (which both slices hold): at half past an hour near
        # local noon, when the hour has rows; the second cut on a period's start, after
        # the DST change.
        noon = moments.day_start(start + 4 * DAY_MS, tz) + 12 * HOUR_MS
        inside = moments.hour_start(noon) + 30 * 60_000
        boundary = moments.period_start(start + 8 * DAY_MS, period, tz)
        bounds = [start, inside, boundary, None]
        slices = []
        for i in range(3):
            part = dict(config, start_date=rfc3339(bounds[i]))
            if bounds[i + 1] is not None:
                part["end_date"] = rfc3339(bounds[i + 1])
            run = sync(fake, tmp_path / f"slice{i}", part, catalog)
            what = f"slice {i}: "
            assert_truth(
                run,
                fake,
                SLICED,
                period=period,
                start_ms=bounds[i],
                end_ms=bounds[i + 1],
                what=what,
            )
            slices.append(run)
        whole = {stream: merged(slices, stream, period) for stream in SLICED}
        assert_truth(whole, fake, SLICED, period=period, start_ms=start, what="the slices: ")
    straddling = rfc3339(moments.period_start(inside, period, tz))
    field = "day" if period == "dayRange" else "hour"
    for stream in EVENTS:
        key = primary_key(stream, period)
        first, second, third = (by_key(run.records.get(stream, []), key) for run in slices)
        # Only the period that straddles the first cut is in two slices, with one key and
        # the same values; nothing is in two slices across the second cut.
        twice = first.keys() & second.keys()
        if stream in PER_EVENT:
            assert not twice, stream
        else:
            assert twice or stream != "events", stream  # the densest has rows in that hour
            assert {first[k][field] for k in twice} <= {straddling}, stream
            assert all(first[k] == second[k] for k in twice), stream
        assert not second.keys() & third.keys(), stream


def test_a_child_stream_alone_needs_no_parent_and_one_request_per_window(catalogs, tmp_path):
    """feature_events alone, with 500 features: no features listing, and one request per
    day window, never one per feature."""
    tz = "Asia/Kolkata"
    with pinned_fake(
        moments.MONTH_END_KOLKATA, seed=2, scale=0.2, days=3, tz=tz, counts={"features": 500}
    ) as fake:
        config = base_config(fake)
        fake.reset_log()
        run = sync(fake, tmp_path, config, select(catalogs(), ["feature_events"]))
        log = fake.log
        assert_truth(run, fake, ["feature_events"], start_ms=ms(config["start_date"]))
    assert set(run.records) == {"feature_events"}
    # The days from the one that holds start_date to the one that holds now, in Kolkata.
    first_day = moments.day_start(ms(config["start_date"]), tz)
    windows = (moments.day_start(moments.MONTH_END_KOLKATA, tz) - first_day) // DAY_MS + 1
    assert windows == 6
    assert log["total"] == log["sources"]["featureEvents"] == windows, log


def test_changing_the_period_stops_before_any_request(catalogs, tmp_path):
    with pinned_fake(moments.US_DST_WEEK, scale=0.05, days=2) as fake:
        config = base_config(fake, period="hourRange")
        fake.reset_log()
        state = {"bookmarks": {"events": {"day": "2026-11-01T04:00:00.000000Z"}}}
        run = run_tap(
            tmp_path,
            config,
            now_ms=fake.dataset.now_ms,
            catalog=select(catalogs("hourRange"), ["events"]),
            state=state,
        )
        assert run.returncode == 1
        assert "rename the bookmark key 'day' to 'hour'" in run.stderr
        assert fake.log["total"] == 0
