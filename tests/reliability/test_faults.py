"""Faults: a full sync of every stream through 429s, 5xx, resets, cut-off bodies and slow
answers gives the clean run's records and state; a fault that outlasts the retries
ends in one clear line, and the state it left resumes to the clean run's rows."""

import json
import random
import re
import time

import pytest

from tests.fake_pendo import FakePendo
from tests.integration.harness import ALL_STREAMS, base_config, select
from tests.reliability.common import (
    SECRET_KEY,
    KillableRun,
    assert_clean_failure,
    assert_resume_repeats_only_rereads,
    assert_same_rows,
    keyed,
    normalized_state,
    records_around_last_state,
    run_isolated,
    under_way,
)

FAULTS = {
    "p429": 0.05,
    "retry_after": 1,
    "p5xx": 0.03,
    "preset": 0.02,
    "ptruncate": 0.02,
    "pslow": 0.01,
    "slow_seconds": 2,
}
NO_FAULTS = {"p429": 0, "p5xx": 0, "preset": 0, "ptruncate": 0, "pslow": 0}
RECORD_LIMIT = 150  # several pages per event window, and per entity stream below
RETRY_LINE = re.compile(r"WARNING retry (\d+)/(\d+) of ")


@pytest.fixture(scope="module")
def fake():
    with FakePendo(key=SECRET_KEY, seed=23, scale=0.3, days=8, fault_seed=4) as server:
        yield server


@pytest.fixture(scope="module")
def config(fake):
    return base_config(fake, record_limit=RECORD_LIMIT)


@pytest.fixture(scope="module")
def catalog(fake, config, tmp_path_factory):
    run = run_isolated(fake, tmp_path_factory.mktemp("discover"), config, discover=True)
    assert run.returncode == 0, run.stderr
    return select(json.loads(run.stdout), ALL_STREAMS)


@pytest.fixture(scope="module")
def clean(fake, config, catalog, tmp_path_factory):
    fake.set_faults(**NO_FAULTS)
    started = time.time() * 1000
    run = run_isolated(fake, tmp_path_factory.mktemp("clean"), config, catalog=catalog).ok()
    run.window = (started, time.time() * 1000)
    assert set(run.records) == set(ALL_STREAMS), "the clean run misses streams"
    assert "retry" not in run.stderr
    return run


def test_a_sync_under_faults_gives_the_clean_runs_records_and_state(
    fake, config, catalog, clean, tmp_path
):
    fake.set_faults(**FAULTS)
    fake.reset_log()
    started = time.time() * 1000
    try:
        run = run_isolated(fake, tmp_path, config, catalog=catalog)
    finally:
        fake.set_faults(**NO_FAULTS)
    log = fake.log
    run.ok()
    assert "Traceback" not in run.stderr
    assert_same_rows(run.records, clean.records, what="under faults: ")
    # Nothing emitted twice either, except the keyless metadata documents (one each).
    for stream, records in run.records.items():
        assert len(keyed(stream, records)) == len(records), f"{stream}: a row came twice"
    window = (min(started, clean.window[0]), time.time() * 1000)
    assert normalized_state(run.state, *window) == normalized_state(clean.state, *window)

    # Every kind of fault happened, and each was retried: bounded, and logged.
    injected = log["faults"]
    assert all(injected[kind] > 0 for kind in ("429", "5xx", "reset", "truncate", "slow")), injected
    retries = [tuple(map(int, m)) for m in RETRY_LINE.findall(run.stderr)]
    assert all(1 <= n <= limit == 8 for n, limit in retries), "retries beyond max_retries"
    must_retry = injected["429"] + injected["5xx"] + injected["reset"] + injected["truncate"]
    # A slow answer is waited for, not retried.
    assert must_retry <= len(retries) <= must_retry + 5, (
        len(retries),
        injected,
    )
    assert f"({len(retries)} retried)" in run.stderr
    # A 429 waits the Retry-After it was given.
    assert re.search(r"retry 1/8 of .* in 1\.0s: 429 Too Many Requests", run.stderr)


@pytest.mark.parametrize("stream,seed", [("feature_events", 1), ("visitor_history", 2)])
def test_a_fault_that_outlasts_the_retries_fails_clearly_and_its_state_resumes(
    fake, config, catalog, clean, tmp_path, stream, seed
):
    """p5xx=1.0 from a seeded point inside `stream`: the run gives up after max_retries with
    one clear line; resumed from its last STATE with the faults gone, the rows before that
    STATE and the resumed run's rows are exactly the clean run's."""
    config = {**config, "max_retries": 2}
    rng = random.Random(seed)
    fail_after = rng.randint(1, max(1, len(clean.records[stream]) // 2))
    fake.set_faults(**NO_FAULTS)
    tap = KillableRun(fake, tmp_path / "failing", config, catalog, pipe_bytes=4096)
    seen = 0
    try:
        for line in tap.lines():
            message = json.loads(line)
            if message["type"] == "RECORD" and message["stream"] == stream:
                seen += 1
                if seen == fail_after:
                    fake.set_faults(p5xx=1.0)
                    break
        failed = tap.finish(timeout=300)
    except BaseException:
        tap.abandon()
        raise
    finally:
        fake.set_faults(**NO_FAULTS)
    assert seen == fail_after, f"the failing run never reached row {fail_after} of {stream}"
    assert_clean_failure(
        failed, r"gave up on .* after 3 tries: 50[0-9]", r"run again later.*resumes"
    )
    assert "Traceback" not in failed.stderr
    assert re.findall(r"retry (\d)/2 of", failed.stderr), "the retries were not logged"

    # The rows before the last STATE, then a resumed run without faults.
    before, state = records_around_last_state(failed)
    # The fault is set once the test has read row `fail_after` of `stream`; the workers may
    # have read the rest of that stream ahead by then, so the run fails in whichever
    # stream is under way, and its STATE must say where to go on.
    assert any(under_way(state, name) for name in ALL_STREAMS), f"nothing under way: {state}"
    resumed = run_isolated(fake, tmp_path / "resumed", config, catalog=catalog, state=state).ok()
    merged: dict = {name: list(records) for name, records in before.items()}
    for name, records in resumed.records.items():
        merged.setdefault(name, []).extend(records)
    assert_same_rows(merged, clean.records, what="failed + resumed: ")
    # What came before the STATE stays done: only an incremental run's re-reads come again.
    assert_resume_repeats_only_rereads(f"{stream} failed", before, state, resumed)


def test_an_html_200_ends_the_run_at_once_with_one_line(fake, config, catalog, tmp_path):
    """A proxy's login page in place of Pendo's answer is not retried: one request, one line."""
    fake.set_faults(phtml=1.0)
    fake.reset_log()
    try:
        run = run_isolated(fake, tmp_path, config, catalog=catalog)
    finally:
        fake.set_faults(phtml=0.0)
    assert_clean_failure(
        run, r"answered .* with text/html; charset=utf-8, not Pendo's JSON", r"proxy"
    )
    host = fake.url.split("://")[1]
    assert host in run.stderr
    # Every worker's first request met the page, and none was tried again.
    assert fake.log["faults"]["html"] == fake.log["total"] <= 4
    assert "retry" not in run.stderr
