"""Settings, end to end, against the fake Pendo's truth: lookback_window, app_ids, a state
file written by singer-io's tap-pendo, `--properties` (the legacy name of
`--catalog`), and user_agent and request_timeout as sent to a scripted Pendo.

Pinned clocks (tests/support/moments.py):
- US_DST_WEEK (New York, Wednesday 4 November 2026): a lookback of 3 days from that
  day's bookmark reaches back into Sunday 1 November, the 25-hour day; app_ids and
  `--properties` read that week.
- YEAR_END_NEW_YORK (31 December 2026 in New York, 2027 in UTC) and 30 hours on:
  singer-io's bookmarks lie on both sides of the year end.
- The scripted Pendo's runs stand at US_DST_WEEK too: its answers are empty, so the
  clock only sets the days the tap asks for.
"""

import json

import pytest

from tests.support import moments
from tests.support.failures import assert_clean_failure
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import DAY_MS, HOUR_MS, ms, rfc3339
from tests.support.records import EVENTS, assert_truth
from tests.support.scripted import Answer, ScriptedPendo
from tests.support.secret import SECRET_KEY
from tests.support.tap import discover, run_tap, select, sync

PAGE = 41  # rows per request: several pages in every window
NOW = moments.US_DST_WEEK
TZ = "America/New_York"


def bookmark_ms(run, stream: str) -> int:
    ((_, value),) = run.state["bookmarks"][stream].items()
    return ms(value)


@pytest.fixture(scope="module")
def fake():
    """Read only: no test here moves its clock."""
    with pinned_fake(NOW, seed=47, scale=0.3, days=6, tz=TZ) as server:
        yield server


# ------------------------------------------------------------------- lookback_window


def test_lookback_window_rereads_the_periods_of_the_days_before_the_bookmark(
    fake, catalogs, tmp_path
):
    streams = EVENTS + ["visitor_history"]
    config = base_config(fake, lookback_window=3, record_limit=PAGE)
    catalog = select(catalogs(), streams)
    first = sync(fake, tmp_path / "1", config, catalog)
    second = sync(fake, tmp_path / "2", config, catalog, state=first.state)
    reaches = {}
    for stream in streams:
        # From the period that holds the bookmark minus 3 days, whole; nothing older.
        # History: 24-hour slices from that instant.
        reach = bookmark_ms(first, stream) - 3 * DAY_MS
        if stream != "visitor_history":
            reach = moments.day_start(reach, TZ)
        assert reach > ms(config["start_date"]) + DAY_MS, stream  # the lookback is what bounds
        assert_truth(second, fake, [stream], start_ms=reach, what="second run: ")
        reaches[stream] = reach
    # The events' reach is the start of Sunday 1 November, the 25-hour day.
    assert reaches["events"] == ms("2026-11-01T04:00:00Z")
    # The earliest row re-read lies at the reach (the densest streams have rows there).
    assert min(ms(r["day"]) for r in second.records["events"]) == reaches["events"]
    earliest = min(ms(r["browser_time"]) for r in second.records["guide_events"])
    assert reaches["guide_events"] <= earliest < reaches["guide_events"] + DAY_MS
    earliest = min(ms(r["ts"]) for r in second.records["visitor_history"])
    assert reaches["visitor_history"] <= earliest < reaches["visitor_history"] + DAY_MS


# --------------------------------------------------------------------------- app_ids


def test_app_ids_keep_exactly_the_rows_of_those_apps(fake, catalogs, tmp_path):
    apps = fake.dataset.apps[:2]  # the default app and one other, of three
    streams = EVENTS + ["visitor_history"]
    config = base_config(fake, app_ids=apps, record_limit=PAGE)
    run = sync(fake, tmp_path, config, select(catalogs(), streams))
    start = ms(config["start_date"])
    assert_truth(run, fake, streams, start_ms=start, app_ids=apps)
    for stream in streams:
        everything = fake.truth(stream, start_ms=start)
        assert {r["app_id"] for r in everything} == set(fake.dataset.apps), stream
        assert {r["app_id"] for r in run.records[stream]} == set(apps), stream


# ------------------------------------------------- a state file of singer-io's tap-pendo


def test_a_state_written_by_singer_io_tap_pendo_goes_on_from_its_bookmarks(catalogs, tmp_path):
    with pinned_fake(moments.YEAR_END_NEW_YORK, seed=59, scale=0.4, days=8) as fake:
        fake.advance(30)  # accounts and features updated at many times
        now = fake.dataset.now_ms
        config = base_config(fake, record_limit=PAGE)
        start = ms(config["start_date"])
        middle = {}  # the middle time of a stream's replication key: rows on both sides
        for stream, field in (("features", "last_updated_at"), ("accounts", "lastupdated")):
            values = sorted({r[field] for r in fake.truth(stream, start_ms=start) if r.get(field)})
            middle[stream] = values[len(values) // 2]
        day = moments.day_start(now - 4 * DAY_MS, TZ)
        marks = {  # singer-io's keys and formats
            "features": ("lastUpdatedAt", middle["features"]),
            "accounts": ("lastupdated", middle["accounts"]),
            "feature_events": ("day", rfc3339(day)),
            "guide_events": ("browser_time", rfc3339(now - 3 * DAY_MS - 5 * HOUR_MS)),
            "visitor_history": ("modified_ts", rfc3339(now - 2 * DAY_MS - 7 * HOUR_MS)),
        }
        state = {
            "bookmarks": {stream: {key: value} for stream, (key, value) in marks.items()},
            "currently_syncing": None,
        }
        run = sync(fake, tmp_path, config, select(catalogs(), list(marks)), state=state)
        since = {stream: ms(value) for stream, (_, value) in marks.items()}
        # Entities: rows dated at or after the bookmark (ties again), and undated ones.
        # Events and history: from the bookmark minus a day, the period holding it whole.
        reach = {
            "features": since["features"],
            "accounts": since["accounts"],
            "feature_events": since["feature_events"] - DAY_MS,
            "guide_events": moments.day_start(since["guide_events"] - DAY_MS, TZ),
            "visitor_history": since["visitor_history"] - DAY_MS,
        }
        for stream in marks:
            assert_truth(run, fake, [stream], start_ms=reach[stream])
            everything = fake.truth(stream, start_ms=start)
            assert len(everything) > len(run.records[stream]), f"{stream}: the bookmark was ignored"
    bookmarks = run.state["bookmarks"]
    assert set(bookmarks) == set(marks)
    assert ms(bookmarks["feature_events"]["day"]) > since["feature_events"]
    assert ms(bookmarks["guide_events"]["browser_time"]) > since["guide_events"]


# ---------------------------------------------------------------- --properties


def test_properties_is_the_legacy_name_of_catalog(fake, catalogs, tmp_path):
    streams = ["accounts", "features", "feature_events", "guide_events"]
    config = base_config(fake, record_limit=500)
    path = tmp_path / "properties.json"
    path.write_text(json.dumps(select(catalogs(), streams)))
    run = run_tap(
        tmp_path / "run", config, now_ms=fake.dataset.now_ms, args=["--properties", str(path)]
    ).ok()
    assert set(run.records) == set(streams)
    assert_truth(run, fake, streams, start_ms=ms(config["start_date"]))


# ------------------------------------------------------ user_agent, request_timeout


def empty_pendo(never: bool = False):
    """A scripted Pendo of a UTC subscription with no data: every aggregation and every
    list is empty. With `never`, an aggregation is never answered."""

    def script(method, path, query, body):
        if path == "/api/v1/aggregation":
            if never:
                return Answer(never=True)
            source = next(iter(json.loads(body)["request"]["pipeline"][0]["source"].values()))
            series = (source or {}).get("timeSeries") or {}
            first = int(series.get("first", 0))  # a day or an hour of a UTC subscription
            start = first - first % (HOUR_MS if series.get("period") == "hourRange" else DAY_MS)
            return Answer(200, json.dumps({"startTime": start, "results": []}))
        if path.startswith("/api/v1/metadata/schema/"):
            return Answer(200, json.dumps({"custom": {}}))
        return Answer(200, "[]")

    return ScriptedPendo(script)


def scripted_config(server, **overrides) -> dict:
    config = {
        "x_pendo_integration_key": SECRET_KEY,
        "api_url": server.url,
        "start_date": rfc3339(NOW - 3 * DAY_MS),
    }
    config.update(overrides)
    return config


@pytest.mark.parametrize("agent", [None, "acme-elt/2.1 (+https://acme.example/bot)"])
def test_user_agent_is_sent_with_every_request(agent, tmp_path):
    streams = ["accounts", "visitors", "features", "feature_events", "visitor_history"]
    streams += ["segments", "metadata_accounts"]
    with empty_pendo() as server:
        config = scripted_config(server, **({"user_agent": agent} if agent else {}))
        catalog = discover(tmp_path / "d", config, NOW)
        run = run_tap(tmp_path, config, now_ms=NOW, catalog=select(catalog, streams)).ok()
        assert run.state is not None
    sent = [{k.lower(): v for k, v in h.items()}.get("user-agent") for _, _, h in server.requests]
    assert len(sent) >= len(streams) + 2  # discovery's two metadata requests, and the sync's
    assert set(sent) == {agent or "tap-pendo"}


def test_request_timeout_is_applied_to_each_try(catalogs, tmp_path):
    """A Pendo that never answers: each try is abandoned after request_timeout, retried
    once, and the run stops with a line that names the timeout applied."""
    with empty_pendo(never=True) as server:
        config = scripted_config(server, max_retries=1, request_timeout=1)
        run = run_tap(tmp_path, config, now_ms=NOW, catalog=select(catalogs(), ["features"]))
    line = assert_clean_failure(run, problem=r"timed out.*timeout=1(\.0)?\b", fix=None)
    assert "features" in line and "2 tries" in line
    assert len(server.requests) == 2  # the try and its one retry
    assert not run.records
