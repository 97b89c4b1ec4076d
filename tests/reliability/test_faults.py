"""Faults: a full sync of every stream through 429s, 5xx, resets, cut-off bodies and slow
answers gives the clean run's records and state, with a METRIC timer for every try; a
fault that outlasts the retries, put by the fake inside the stream it names, ends in
one clear line naming that stream, and the state it left resumes to the clean run's
rows; a proxy's HTML page ends the run at once.

Pinned clock (tests/support/moments.py): LORD_HOWE_OCTOBER, 7 October 2026 in Lord
Howe: the sync's windows hold 4 October, the 23.5-hour day.
"""

import random
import re
from collections import Counter

import pytest

from tests.support import moments
from tests.support.failures import assert_clean_failure
from tests.support.fakes import base_config, pinned_fake
from tests.support.hooks import FaultFrom
from tests.support.moments import DAY_MS, rfc3339
from tests.support.records import ALL_STREAMS, assert_same_records, merged, primary_key
from tests.support.resume import (
    assert_resume_repeats_only_rereads,
    normalized_state,
    records_before_last_state,
    under_way,
)
from tests.support.singer import metric_points
from tests.support.tap import run_tap, select, sync

# A few of each kind over the run's ~300 requests (the draws are seeded: fault_seed).
FAULTS = {
    "p429": 0.01,
    "retry_after": 1,
    "p5xx": 0.01,
    "preset": 0.01,
    "ptruncate": 0.01,
    "pslow": 0.01,
    "slow_seconds": 0.3,  # shorter than request_timeout: waited for, not retried
}
NO_FAULTS = {"p429": 0, "p5xx": 0, "preset": 0, "ptruncate": 0, "pslow": 0, "phtml": 0}
RECORD_LIMIT = 150  # several pages per event window, and per entity stream
RETRY_LINE = re.compile(r"WARNING retry (\d+)/(\d+) of ")
NOW = moments.LORD_HOWE_OCTOBER


@pytest.fixture(scope="module")
def fake():
    with pinned_fake(
        NOW, seed=23, scale=0.2, days=5, tz="Australia/Lord_Howe", fault_seed=4
    ) as server:
        yield server


@pytest.fixture(scope="module")
def config(fake):
    """From two weeks back: every entity stream has rows changed since (5 days of events)."""
    return base_config(fake, record_limit=RECORD_LIMIT, start_date=rfc3339(NOW - 14 * DAY_MS))


@pytest.fixture(scope="module")
def catalog(catalogs):
    return select(catalogs(), ALL_STREAMS)


@pytest.fixture(scope="module")
def clean(fake, config, catalog, tmp_path_factory):
    """A run without faults, and the fake's log of it."""
    fake.set_faults(**NO_FAULTS)
    fake.reset_log()
    run = sync(fake, tmp_path_factory.mktemp("clean"), config, catalog)
    run.log = fake.log
    assert set(run.records) == set(ALL_STREAMS), "the clean run misses streams"
    assert "retry" not in run.stderr
    return run


def assert_same_rows(got: dict, expected: dict, what: str) -> None:
    """stream -> records, compared by key and value, stream by stream."""
    for stream in sorted(set(got) | set(expected)):
        assert_same_records(
            f"{what}{stream}", got.get(stream, []), expected.get(stream, []), primary_key(stream)
        )


def test_a_sync_under_faults_gives_the_clean_runs_records_and_state(
    fake, config, catalog, clean, tmp_path
):
    fake.set_faults(**FAULTS)
    fake.reset_log()
    try:
        run = sync(fake, tmp_path, config, catalog)
    finally:
        fake.set_faults(**NO_FAULTS)
    log = fake.log
    assert "Traceback" not in run.stderr
    # Every row once, with the clean run's values, and the same state.
    assert_same_rows(run.records, clean.records, "under faults: ")
    assert normalized_state(run.state, NOW) == normalized_state(clean.state, NOW)

    # Every kind of fault happened, and each was retried: bounded, and logged.
    injected = log["faults"]
    assert all(injected[kind] > 0 for kind in ("429", "5xx", "reset", "truncate", "slow")), injected
    retries = [tuple(map(int, m)) for m in RETRY_LINE.findall(run.stderr)]
    assert all(1 <= n <= limit == 8 for n, limit in retries), "retries beyond max_retries"
    must_retry = injected["429"] + injected["5xx"] + injected["reset"] + injected["truncate"]
    # A slow answer is waited for, not retried; a cut-off page may be resumed by a retry
    # of its own.
    assert must_retry <= len(retries) <= must_retry + 5, (len(retries), injected)
    assert f"({len(retries)} retried)" in run.stderr
    # A 429 waits the Retry-After it was given.
    assert re.search(r"retry 1/8 of .* in 1\.0s: 429 Too Many Requests", run.stderr)

    # A METRIC timer for every try; a reset (no answer) is tagged with status 0.
    timers = metric_points(run.stderr, "http_request_duration")
    assert len(timers) == log["total"]
    statuses = Counter(t["tags"]["http_status_code"] for t in timers)
    assert statuses[0] == injected["reset"]
    assert statuses[429] == injected["429"]
    assert sum(n for s, n in statuses.items() if s >= 500) == injected["5xx"]
    assert statuses[200] == log["responses"]["2xx"]
    assert all(
        (t["tags"]["status"] == "succeeded") == (t["tags"]["http_status_code"] == 200)
        for t in timers
    )
    counted = Counter()
    for counter in metric_points(run.stderr, "record_count"):
        counted[counter["tags"]["endpoint"]] += counter["value"]
    assert dict(counted) == {stream: len(rows) for stream, rows in run.records.items()}


# (the stream, how the fake sees its requests: the aggregation source or the endpoint)
NAMED = {"feature_events": "featureEvents", "visitor_history": "history"}


@pytest.mark.parametrize("stream,seed", [("feature_events", 1), ("visitor_history", 2)])
def test_a_fault_that_outlasts_the_retries_fails_clearly_in_its_stream_and_resumes(
    fake, config, catalog, clean, tmp_path, stream, seed
):
    """Every request of `stream` from a seeded one on answers 503: the run gives up after
    max_retries with one line naming that stream; resumed from its last STATE with the
    faults gone, the rows before that STATE and the resumed run's are the clean run's."""
    label = NAMED[stream]
    asked = clean.log["requests"]["history"] if label == "history" else clean.log["sources"][label]
    # From a request in the second half of the stream's, with a few of its requests after
    # it: some of the stream is read before, and its end cannot be.
    first = random.Random(seed).randint(asked // 2, asked - 3)
    config = {**config, "max_retries": 2}
    fault = FaultFrom(label, first)
    with fake.hooked(fault):
        failed = run_tap(tmp_path / "failing", config, now_ms=NOW, catalog=catalog)
    line = assert_clean_failure(
        failed, rf"gave up on {stream}\b.* after 3 tries: 503", r"run again later.*resumes"
    )
    assert fault.hits >= 3, f"the fault hit {fault.hits} requests: {line}"
    assert re.findall(r"retry (\d)/2 of", failed.stderr), "the retries were not logged"

    # The rows before the last STATE, then a resumed run without faults.
    before, state = records_before_last_state(failed)
    # The last STATE has the stream under way: the run stopped inside it.
    assert under_way(state, stream), f"{stream} is not under way at the last STATE: {state}"
    resumed = sync(fake, tmp_path / "resumed", config, catalog, state=state)
    together = {name: merged([before, resumed], name) for name in ALL_STREAMS}
    assert_same_rows(together, clean.records, "failed + resumed: ")
    # What came before the STATE stays done: only an incremental run's re-reads come again.
    assert_resume_repeats_only_rereads(f"{stream} failed", before, state, resumed)


def test_an_html_200_ends_the_run_at_once_with_one_line(fake, config, catalog, tmp_path):
    """A proxy's login page in place of Pendo's answer is not retried: one request, one line."""
    fake.set_faults(phtml=1.0)
    fake.reset_log()
    try:
        run = run_tap(tmp_path, config, now_ms=NOW, catalog=catalog)
    finally:
        fake.set_faults(phtml=0.0)
    assert_clean_failure(
        run, r"answered .* with text/html; charset=utf-8, not Pendo's JSON", r"proxy"
    )
    assert fake.url.split("://")[1] in run.stderr
    # Every worker's first request met the page, and none was tried again.
    assert fake.log["faults"]["html"] == fake.log["total"] <= 4
    assert "retry" not in run.stderr
