"""A stalled output (a target that stops reading stdin while it flushes a large batch)
stops the tap's reading after a few units: it does not read the rest of the run into
memory, and once the output flows again the run ends complete.

The bound is on what the tap reads while nobody reads it, so the test holds on a
loaded machine: a slow tap reads less before the test looks, never more.
"""

import time

from tap_pendo.executor import OPEN_UNITS_PER_WORKER
from tap_pendo.timefmt import parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.integration.harness import base_config, discover, select
from tests.reliability.common import KillableRun

STEADY_POLLS = 6  # the fake's request count unchanged this many polls in a row
POLL_SECONDS = 0.5


def requests_once_steady(fake) -> int:
    """The fake's count of aggregation requests, once it stops growing."""
    count, unchanged = -1, 0
    while unchanged < STEADY_POLLS:
        time.sleep(POLL_SECONDS)
        now = fake.log["time_series"]["requests"]
        unchanged = unchanged + 1 if now == count else 0
        count = now
    return count


def test_a_stalled_output_stops_the_reading_after_a_bounded_number_of_windows(tmp_path):
    with FakePendo(seed=7) as fake:
        # One worker: each day window is a unit of one request, small enough to be read
        # whole ahead of its turn, so only the bound on open units stops the reading.
        config = base_config(fake, period="dayRange", max_concurrent_requests=1)
        catalog = select(discover(fake, tmp_path / "discover", config), ["feature_events"])
        fake.reset_log()
        tap = KillableRun(fake, tmp_path / "run", config, catalog, pipe_bytes=4096)
        try:
            next(tap.lines())  # the tap is writing; the test stops reading here
            while_stalled = requests_once_steady(fake)
            run = tap.finish(timeout=300)
        except BaseException:
            tap.abandon()
            raise
        windows = fake.log["time_series"]["requests"]
        truth = fake.truth(
            "feature_events", period="dayRange", start_ms=parse_datetime_ms(config["start_date"])
        )
    assert run.returncode == 0, run.stderr[-2000:]
    assert windows >= 3 * OPEN_UNITS_PER_WORKER, f"{windows} windows: too few to mean much"
    # The open units (the one being written among them), and the few small days that the
    # tap's 64 KB output buffer and the pipe took whole before the stall.
    assert while_stalled <= 2 * OPEN_UNITS_PER_WORKER, (
        f"{while_stalled} of {windows} windows read while the output was stalled"
    )
    records = [m for m in run.messages if m["type"] == "RECORD"]
    assert len(records) == len(truth), "the run did not end complete once the output flowed"
