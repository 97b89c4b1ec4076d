"""A stalled output (a target that stops reading stdin while it flushes a large batch)
stops the tap's reading: it does not read the rest of the run into memory, and once
the output flows again the run ends complete.

The same sync runs twice. Read as it comes, its peak resident memory (VmHWM, watched
as its lines are read) is the yardstick. Then stalled: the test reads one line and stops, and waits until the
tap is held by its stdout alone, as Linux and the fake both say: a thread of the tap
asleep in write(1, ...), every other one asleep on a lock or a condition, and no
request in the fake's hands, twice in a row with no request between. No sleep
decides it: a tap that has not reached its stall yet is not taken for one. Its peak
memory then must be near the yardstick, far below what holding the rest of the run
would cost; and it must have asked for a small part of the windows.

Pinned clock (tests/support/moments.py): US_DST_WEEK, 4 November 2026 in New York: the
month of windows read holds the end of daylight saving time.
"""

from tests.support import kernel, moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.hooks import InFlight
from tests.support.moments import ms
from tests.support.records import assert_truth
from tests.support.tap import TapProcess, select

NOW = moments.US_DST_WEEK
STREAM = "feature_events"


def wait_until_held_by_stdout(pid: int, in_flight: InFlight) -> None:
    """Return once the tap is held by its stdout alone (see the module's docstring); a tap
    that never is fails on the suite's per-test timeout."""
    seen = None
    while True:
        in_flight.wait_for_change(0.2)
        asked = in_flight.total()
        held = in_flight.now == 0 and kernel.blocked_writing_stdout(pid)
        if held and seen == asked:
            return
        seen = asked if held else None


def test_a_stalled_output_keeps_the_taps_memory_near_a_flowing_runs(catalogs, tmp_path):
    with pinned_fake(NOW, seed=7, scale=2, days=30) as fake:
        # One worker: each day window is a unit of one request, small enough to be read
        # whole ahead of its turn, so only a bound on what is read ahead stops it.
        config = base_config(fake, max_concurrent_requests=1)
        catalog = select(catalogs(), [STREAM])
        flowing = TapProcess(tmp_path / "flowing", config, catalog, now_ms=NOW)
        for _ in flowing.lines():
            pass
        yardstick = flowing.finish().ok()
        windows = fake.log["time_series"]["requests"]

        in_flight = InFlight()
        with fake.hooked(in_flight):
            tap = TapProcess(tmp_path / "stalled", config, catalog, now_ms=NOW, pipe_bytes=4096)
            try:
                next(tap.lines())  # the tap is writing; the test stops reading here
                wait_until_held_by_stdout(tap.pid, in_flight)
                peak_while_stalled = tap.look_at_memory()
                asked_while_stalled = in_flight.total()
                run = tap.finish()
            except BaseException:
                tap.abandon()
                raise
        assert_truth(run.ok(), fake, [STREAM], start_ms=ms(config["start_date"]))
    output_kb = len(yardstick.stdout) // 1024
    print(
        f"\npeak RSS: {yardstick.peak_rss_kb} KiB flowing, {peak_while_stalled} KiB stalled "
        f"({run.peak_rss_kb} KiB over the whole stalled run); output {output_kb} KiB; "
        f"{asked_while_stalled} of {windows} windows asked while stalled"
    )
    # Holding the rest of the run would cost at least its output; a bounded read-ahead
    # costs a few windows' worth.
    assert peak_while_stalled - yardstick.peak_rss_kb < output_kb // 4
    assert windows >= 30
    assert asked_while_stalled <= windows // 3, "the tap read on while nobody read its output"
