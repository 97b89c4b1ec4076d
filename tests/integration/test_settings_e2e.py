"""Settings, end to end, against the fake Pendo's truth: lookback_window, app_ids, a state
file written by singer-io's tap-pendo, user_agent and request_timeout as sent, and
`--properties` (the legacy name of `--catalog`)."""

import json
import threading
import time

import pytest

from tap_pendo.timefmt import DAY_MS, HOUR_MS, ms_to_rfc3339, parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.periods import period_start
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import (
    EVENTS,
    ZONES,
    assert_same_records,
    base_config,
    by_key,
    discover,
    run_tap,
    select,
)
from tests.reliability.common import Answer, ScriptedPendo, assert_clean_failure

AGGREGATED = ["events", "feature_events", "page_events", "track_events"]
PAGE = 41  # rows per request: several pages in every window


def start_of(config) -> int:
    return parse_datetime_ms(config["start_date"])


def assert_truth(what, run, stream, fake, period="dayRange", **settings):
    """The run's records of `stream` are exactly the truth under `settings`."""
    expected = fake.truth(stream, period=period, **settings)
    assert expected, f"{what}{stream}: the truth is empty, so the test proves nothing"
    records = run.records.get(stream, [])
    assert_same_records(f"{what}{stream}", records, expected, primary_key(stream, period))


def union(runs, stream, period="dayRange") -> list:
    merged: dict = {}
    for run in runs:
        merged.update(by_key(run.records.get(stream, []), primary_key(stream, period)))
    return list(merged.values())


def bookmark(run, stream: str) -> int:
    entry = run.state["bookmarks"][stream]
    (value,) = [v for k, v in entry.items() if k in ("day", "hour", "browser_time", "modified_ts")]
    return parse_datetime_ms(value)


@pytest.fixture(scope="module")
def fake():
    """Read only: no test here moves its clock."""
    with FakePendo(seed=47, scale=0.4, days=8) as server:
        yield server


@pytest.fixture(scope="module")
def catalog(fake, tmp_path_factory):
    return discover(fake, tmp_path_factory.mktemp("discover"), base_config(fake))


# ------------------------------------------------------------------- lookback_window


@pytest.mark.parametrize("tz", ZONES)
def test_lookback_window_rereads_the_periods_of_the_days_before_the_bookmark(tz, tmp_path):
    streams = EVENTS + ["visitor_history"]
    with FakePendo(seed=53, scale=0.4, days=10, tz=tz) as fake:
        config = base_config(fake, lookback_window=3, record_limit=PAGE)
        catalog = select(discover(fake, tmp_path / "d", config), streams)
        first = run_tap(fake, tmp_path / "1", config, catalog).ok()
        second = run_tap(fake, tmp_path / "2", config, catalog, state=first.state).ok()
        for stream in streams:
            # From the period that holds the bookmark minus 3 days, whole; nothing older.
            reach = bookmark(first, stream) - 3 * DAY_MS
            if stream != "visitor_history":  # history: 24-hour slices from that instant
                reach = period_start(reach, "dayRange", tz)
            assert reach > start_of(config) + DAY_MS, stream  # the lookback is what bounds
            assert_truth("second run: ", second, stream, fake, start_ms=reach)
        # The earliest row re-read lies at the reach (the densest streams have rows there).
        for stream, field in (("events", "day"), ("guide_events", "browser_time")):
            earliest = min(parse_datetime_ms(r[field]) for r in second.records[stream])
            reach = period_start(bookmark(first, stream) - 3 * DAY_MS, "dayRange", tz)
            assert reach <= earliest < reach + (DAY_MS if field == "browser_time" else 1), stream
        history_reach = bookmark(first, "visitor_history") - 3 * DAY_MS
        earliest = min(parse_datetime_ms(r["ts"]) for r in second.records["visitor_history"])
        assert history_reach <= earliest < history_reach + DAY_MS
        fake.advance(30)
        third = run_tap(fake, tmp_path / "3", config, catalog, state=second.state).ok()
        for stream in streams:
            merged = union([first, second, third], stream)
            expected = fake.truth(stream, start_ms=start_of(config))
            assert_same_records(f"three runs: {stream}", merged, expected, primary_key(stream))


# --------------------------------------------------------------------------- app_ids


@pytest.mark.parametrize("period", ["dayRange", "hourRange"])
def test_app_ids_keep_exactly_the_rows_of_those_apps(fake, period, tmp_path):
    apps = fake.dataset.apps[:2]  # the default app and one other, of three
    streams = EVENTS + ["visitor_history", "accounts", "features", "pages", "track_types"]
    config = base_config(fake, period=period, app_ids=apps, record_limit=PAGE)
    catalog = select(discover(fake, tmp_path / "d", config), streams)
    run = run_tap(fake, tmp_path, config, catalog).ok()
    for stream in streams:
        assert_truth("", run, stream, fake, period, start_ms=start_of(config), app_ids=apps)
    for stream in EVENTS + ["visitor_history"]:
        everything = fake.truth(stream, period=period, start_ms=start_of(config))
        assert {r["app_id"] for r in everything} == set(fake.dataset.apps), stream
        assert {r["app_id"] for r in run.records[stream]} == set(apps), stream


# ------------------------------------------------- a state file of singer-io's tap-pendo


@pytest.fixture
def moved_fake():
    """A fake whose clock moved on: accounts and features updated at many times."""
    with FakePendo(seed=59, scale=0.4, days=8) as server:
        server.advance(30)
        yield server


def test_a_state_written_by_singer_io_tap_pendo_goes_on_from_its_bookmarks(moved_fake, tmp_path):
    fake = moved_fake
    now = fake.dataset.now_ms
    config = base_config(fake, record_limit=PAGE)
    middle = {}  # the middle time of a stream's replication key: rows on both sides
    for stream, field in (("features", "last_updated_at"), ("accounts", "lastupdated")):
        rows = fake.truth(stream, start_ms=start_of(config))
        values = sorted({r[field] for r in rows if r.get(field)})
        middle[stream] = values[len(values) // 2]
    day = period_start(now - 4 * DAY_MS, "dayRange", fake.dataset.tz)
    marks = {
        "features": ("lastUpdatedAt", middle["features"]),
        "accounts": ("lastupdated", middle["accounts"]),
        "feature_events": ("day", ms_to_rfc3339(day)),
        "guide_events": ("browser_time", ms_to_rfc3339(now - 3 * DAY_MS - 5 * HOUR_MS)),
        "visitor_history": ("modified_ts", ms_to_rfc3339(now - 2 * DAY_MS - 7 * HOUR_MS)),
    }
    state = {
        "bookmarks": {stream: {key: value} for stream, (key, value) in marks.items()},
        "currently_syncing": None,
    }
    catalog = select(discover(fake, tmp_path / "d", config), list(marks))
    run = run_tap(fake, tmp_path, config, catalog, state=state).ok()
    since = {stream: parse_datetime_ms(value) for stream, (_, value) in marks.items()}
    # Entities: rows dated at or after the bookmark (ties again), and undated ones.
    # Events and history: from the bookmark minus a day, the period holding it whole.
    reach = {
        "features": since["features"],
        "accounts": since["accounts"],
        "feature_events": since["feature_events"] - DAY_MS,
        "guide_events": period_start(since["guide_events"] - DAY_MS, "dayRange", fake.dataset.tz),
        "visitor_history": since["visitor_history"] - DAY_MS,
    }
    for stream in marks:
        assert_truth("", run, stream, fake, start_ms=reach[stream])
        everything = fake.truth(stream, start_ms=start_of(config))
        assert len(everything) > len(run.records[stream]), f"{stream}: the bookmark was ignored"
    bookmarks = run.state["bookmarks"]
    assert set(bookmarks) == set(marks)
    assert parse_datetime_ms(bookmarks["feature_events"]["day"]) > since["feature_events"]
    assert parse_datetime_ms(bookmarks["guide_events"]["browser_time"]) > since["guide_events"]


# ---------------------------------------------------------------- --properties


def test_properties_is_the_legacy_name_of_catalog(fake, catalog, tmp_path):
    streams = ["accounts", "features", "feature_events", "guide_events"]
    config = base_config(fake, record_limit=500)
    chosen = select(catalog, streams)
    path = tmp_path / "properties.json"
    path.write_text(json.dumps(chosen))
    legacy = run_tap(fake, tmp_path / "p", config, extra_args=["--properties", str(path)]).ok()
    current = run_tap(fake, tmp_path / "c", config, chosen).ok()
    for run in (legacy, current):
        assert set(run.records) == set(streams)
        for stream in streams:
            assert_truth("", run, stream, fake, start_ms=start_of(config))


# ------------------------------------------------------ user_agent, request_timeout


def empty_pendo(delay: float = 0.0, delayed: threading.Event | None = None):
    """A scripted Pendo of a UTC subscription with no data: every aggregation and every
    list is empty. Once `delayed` is set, it answers `delay` seconds late."""

    def script(method, path, query, body):
        if delayed is not None and delayed.is_set():
            time.sleep(delay)
        if path == "/api/v1/aggregation":
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
    three_days_ago = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 3 * 86400))
    config = {
        "x_pendo_integration_key": "scripted-key",
        "api_url": server.url,
        "start_date": three_days_ago,
    }
    config.update(overrides)
    return config


@pytest.mark.parametrize("agent", [None, "acme-elt/2.1 (+https://acme.example/bot)"])
def test_user_agent_is_sent_with_every_request(agent, tmp_path):
    with empty_pendo() as server:
        config = scripted_config(server, **({"user_agent": agent} if agent else {}))
        catalog = discover(None, tmp_path / "d", config)
        streams = ["accounts", "visitors", "features", "feature_events", "visitor_history"]
        streams += ["segments", "metadata_accounts"]
        run = run_tap(None, tmp_path, config, select(catalog, streams)).ok()
        assert run.state is not None
    sent = [{k.lower(): v for k, v in h.items()}.get("user-agent") for _, _, h in server.requests]
    assert len(sent) >= len(streams)
    assert set(sent) == {agent or "tap-pendo"}


def test_request_timeout_is_applied_to_each_try(tmp_path):
    slow = threading.Event()
    with empty_pendo(delay=2.5, delayed=slow) as server:
        config = scripted_config(server, max_retries=1)
        catalog = select(discover(None, tmp_path / "d", config), ["features"])
        slow.set()
        # A timeout longer than the delay: the slow answers are taken.
        patient = run_tap(None, tmp_path / "patient", dict(config, request_timeout=10), catalog)
        assert patient.ok().state is not None
        asked = len(server.requests)
        # A shorter one: each try is abandoned, retried once, and the run stops.
        run = run_tap(None, tmp_path / "hasty", dict(config, request_timeout=1), catalog)
    # Exit 1 and one line, which names the stream, the tries and the timeout applied.
    line = assert_clean_failure(run, problem=r"timed out.*timeout=1(\.0)?\b", fix=None)
    assert "features" in line and "2 tries" in line
    assert len(server.requests) - asked == 2  # the try and its one retry
    assert not run.records


# --------------------------------------------------------------------------- end_date


def test_end_date_bounds_visitor_history(fake, catalog, tmp_path):
    start = fake.dataset.now_ms - 5 * DAY_MS
    end = start + 2 * DAY_MS + 5 * HOUR_MS
    config = base_config(fake, start_date=ms_to_rfc3339(start), end_date=ms_to_rfc3339(end))
    run = run_tap(fake, tmp_path, config, select(catalog, ["visitor_history"])).ok()
    assert_truth("", run, "visitor_history", fake, start_ms=start, end_ms=end)
