"""max_concurrent_requests, end to end: the setting bounds the requests in flight, as many
as it allows are used, and the records are the fake's truth at any setting.

Requests in flight are counted by the fake as they arrive and are answered (a hook,
tests/support/hooks.py); that 4 requests overlap is shown by a barrier in the fake
that holds each request until 4 are in hand, never by timing them.

Pinned clock (tests/support/moments.py): LORD_HOWE_APRIL, the week of Lord Howe's
24.5-hour day: the windows the workers share out are that week's.
"""

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.hooks import InFlight, Overlap
from tests.support.moments import ms
from tests.support.records import EVENTS, assert_truth
from tests.support.tap import select, sync


@pytest.fixture(scope="module")
def fake():
    with pinned_fake(
        moments.LORD_HOWE_APRIL, seed=9, scale=0.3, days=5, tz="Australia/Lord_Howe"
    ) as server:
        yield server


@pytest.mark.parametrize("workers", [1, 4])
def test_event_streams_equal_the_truth_at_any_max_concurrent_requests(
    fake, catalogs, tmp_path, workers
):
    config = base_config(fake, max_concurrent_requests=workers, record_limit=300)
    in_flight, overlap = InFlight(), Overlap(workers)
    fake.reset_log()
    with fake.hooked(in_flight, overlap):
        run = sync(fake, tmp_path, config, select(catalogs(), EVENTS))
    assert fake.log["total"] > len(EVENTS) * 7  # several windows, and pages, per stream
    assert f"at most {workers} requests in flight" in run.stderr
    # The setting bounds the requests in flight, and all of them are used.
    assert overlap.reached, f"never {workers} requests in flight at once"
    assert in_flight.most == workers
    assert_truth(run, fake, EVENTS, start_ms=ms(config["start_date"]))
