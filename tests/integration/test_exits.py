"""How the tap ends, measured from outside: a target that closes the tap's stdout, Ctrl-C,
a damaged resume position in the state, a catalog entry without its metadata object, and
`--plan --format json`, which asks Pendo nothing.

The fake stands on a pinned clock (an ordinary Wednesday, US_DST_WEEK: the day lengths
play no part here beyond being exact)."""

import json
import os
import signal

import pytest

from tests.fake_pendo.truth import primary_key
from tests.support.failures import assert_clean_failure
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import US_DST_WEEK, ms
from tests.support.records import by_key
from tests.support.resume import records_before_last_state
from tests.support.singer import critical_lines
from tests.support.tap import TapProcess, discover, run_tap, select, sync

STREAMS = ["accounts", "feature_events", "visitor_history"]
EXIT_INTERNAL_ERROR = 70  # a bug, with its traceback: none of these exits may be it


@pytest.fixture(scope="module")
def fake():
    # Latency keeps requests in flight, so that a signal lands while the tap works.
    with pinned_fake(US_DST_WEEK, seed=5, scale=0.2, days=5, latency=0.002) as server:
        yield server


@pytest.fixture(scope="module")
def config(fake):
    return base_config(fake, record_limit=200)


@pytest.fixture(scope="module")
def catalog(fake, config, tmp_path_factory):
    return select(discover(tmp_path_factory.mktemp("discover"), config, US_DST_WEEK), STREAMS)


def test_a_target_closing_stdout_ends_the_run_in_one_line_without_a_traceback(
    fake, config, catalog, tmp_path
):
    tap = TapProcess(tmp_path, config, catalog, now_ms=US_DST_WEEK, pipe_bytes=4096)
    lines = tap.lines()
    for _ in range(5):
        next(lines)
    tap.out.close()  # the target exits: the tap's next write meets a closed pipe
    _, status, _ = os.wait4(tap.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    stderr = tap.stderr_path.read_text()
    assert code not in (0, EXIT_INTERNAL_ERROR), f"exit {code}:\n{stderr[-2000:]}"
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr[-2000:]
    (line,) = critical_lines(stderr)
    assert "stdout closed" in line


def test_ctrl_c_exits_130_in_one_line_and_its_last_state_resumes_to_the_whole_truth(
    fake, config, catalog, tmp_path
):
    tap = TapProcess(tmp_path / "interrupted", config, catalog, now_ms=US_DST_WEEK, pipe_bytes=4096)
    try:
        states = 0
        for line in tap.lines():
            states += line.startswith(b'{"type":"STATE"')
            if states == 3:  # well inside the run: streams under way
                os.kill(tap.pid, signal.SIGINT)
                break
        interrupted = tap.finish()
    except BaseException:
        tap.abandon()
        raise
    assert interrupted.returncode == 130, interrupted.stderr[-2000:]
    assert "Traceback" not in interrupted.stderr
    (line,) = critical_lines(interrupted.stderr)
    assert "interrupted" in line and "resume" in line
    # The README's promise: rerun with the last STATE, and nothing is missing.
    before, state = records_before_last_state(interrupted)
    resumed = sync(fake, tmp_path / "resumed", config, catalog, state=state)
    for stream in STREAMS:
        truth = fake.truth(stream, start_ms=ms(config["start_date"]), period="dayRange")
        key = primary_key(stream)
        got = by_key(before.get(stream, []) + resumed.records.get(stream, []), key)
        assert got == by_key(truth, key), f"{stream}: interrupted + resumed is not the truth"


DAMAGED = [
    ("accounts", {"lastupdated": "2026-11-01T00:00:00.000000Z", "after": [1]}, "too short"),
    ("accounts", {"lastupdated": "2026-11-01T00:00:00.000000Z", "after": "acme"}, "not a list"),
    (
        "accounts",
        {"lastupdated": "2026-11-01T00:00:00.000000Z", "newest": [1, {"id": "acme"}]},
        "holds an object",
    ),
    (
        "feature_events",
        {"window_start": "2026-11-01T04:00:00.000000Z", "after": [1, "v", "a"]},
        "too short",
    ),
    ("visitor_history", {"run_started": "2026-11-01T04:00:00Z", "visitor": [[1], 5]}, "short"),
]


@pytest.mark.parametrize("stream,bookmark,damage", DAMAGED, ids=[f"{s}-{d}" for s, _, d in DAMAGED])
def test_a_damaged_resume_position_exits_1_in_one_line_naming_the_stream(
    fake, config, catalog, tmp_path, stream, bookmark, damage
):
    fake.reset_log()
    state = {"bookmarks": {stream: bookmark}, "currently_syncing": stream}
    run = run_tap(tmp_path, config, now_ms=US_DST_WEEK, catalog=catalog, state=state)
    line = assert_clean_failure(run, rf"state bookmark '{stream}\.", r"remove")
    assert stream in line
    assert fake.log["total"] == 0, "a request was made before the state was checked"


def test_catalog_metadata_without_its_object_exits_1_in_one_line(fake, config, catalog, tmp_path):
    broken = json.loads(json.dumps(catalog))
    entry = next(e for e in broken["streams"] if e["tap_stream_id"] == "accounts")
    root = next(item for item in entry["metadata"] if item["breadcrumb"] == [])
    del root["metadata"]
    run = run_tap(tmp_path, config, now_ms=US_DST_WEEK, catalog=broken)
    line = assert_clean_failure(run, r"catalog .*'accounts'", r"discover")
    assert "metadata" in line


def test_plan_as_json_names_every_selected_stream_and_asks_pendo_nothing(
    fake, config, catalog, tmp_path
):
    fake.reset_log()
    run = run_tap(
        tmp_path, config, now_ms=US_DST_WEEK, catalog=catalog, args=["--plan", "--format", "json"]
    )
    assert run.returncode == 0, run.stderr
    plan = json.loads(run.stdout)
    assert [s["stream"] for s in plan["streams"]] == STREAMS
    assert {s["kind"] for s in plan["streams"]} == {"listing", "windows", "history"}
    windows = next(s for s in plan["streams"] if s["stream"] == "feature_events")
    assert windows["bounds"]["from"] < windows["bounds"]["to"]
    assert windows["units"] and windows["estimated_requests"] >= 5
    assert plan["estimated_requests"] == sum(s["estimated_requests"] for s in plan["streams"])
    assert fake.log["total"] == 0
