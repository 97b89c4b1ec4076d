"""Crashes: kill -9 the tap at a dozen seeded points of a sync (at its default of 4
requests in flight, streams interleaving), resume each time from the last STATE it
printed, and compare with a clean run.

- The union of every run's output holds every row of the clean run, with its value
  (by primary key, the last version winning), and nothing else.
- A resumed run emits again only rows printed after the last STATE, plus the re-reads
  any incremental run makes of streams that were already done (undated entity rows and
  ties at the bookmark, the late-data lookback of events and of visitor history, the
  metadata documents).

The tap's stdout is a 4 KB pipe that the test reads line by line: when the test stops
reading, the tap blocks in its next write, so each kill lands right where the test
chose, not a pipe's length later. Some points are drawn by a seeded RNG (a number of
bytes of stdout); others are chosen: inside a page (pages of guide events are larger
than the tap's 64 KB output buffer, which therefore flushes in the middle of them),
inside an event window that already had a page, and inside visitor_history. Every
one of the 13 kills must happen, or the test fails.

Pinned clock (tests/support/moments.py): US_DST_WEEK, Wednesday 4 November 2026 in New
York: the runs' windows hold Sunday 1 November, the 25-hour day.
"""

import json
import random
import re
from dataclasses import dataclass, field

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.records import ALL_STREAMS, assert_same_records, merged, primary_key
from tests.support.resume import (
    assert_resume_repeats_only_rereads,
    normalized_state,
    records_after_last_state,
    records_before_last_state,
)
from tests.support.tap import TapProcess, select, sync

SEED = 20261126
RECORD_LIMIT = 100  # 1-2 pages per event window; a page of guide events is ~75 KB
PIPE_BYTES = 4096
RECORD_PREFIX = re.compile(rb'^\{"type":"RECORD","stream":"([a-z_]+)"')


@dataclass
class Reading:
    """What the test has read of one run so far."""

    bytes: int = 0
    state: dict = None
    since_state: dict = field(default_factory=dict)  # stream -> records since the last STATE
    rows: dict = field(default_factory=dict)  # stream -> records in this run

    def read(self, line: bytes) -> None:
        self.bytes += len(line)
        match = RECORD_PREFIX.match(line)
        if match:
            stream = match.group(1).decode()
            self.since_state[stream] = self.since_state.get(stream, 0) + 1
            self.rows[stream] = self.rows.get(stream, 0) + 1
        elif line.startswith(b'{"type":"STATE"'):
            self.state = json.loads(line)["value"]
            self.since_state = {}

    def bookmark(self, stream: str) -> dict:
        return ((self.state or {}).get("bookmarks") or {}).get(stream) or {}


# Kill rules: a name and a predicate over the Reading; checked after every line.
def after_bytes(n):
    return f"after {n} bytes", lambda r: r.bytes >= n


def mid_page(stream):
    """Records of `stream` read past its last STATE: the page they belong to is not done."""
    return (
        f"mid-page {stream}",
        lambda r: r.since_state.get(stream, 0) >= 10 and r.rows.get(stream, 0) > 200,
    )


def mid_window(stream):
    """Inside an event window: the last STATE has the stream under way (`window_start`,
    and `after` once a page of the window is written), and records of it were read since."""
    return (
        f"mid-window {stream}",
        lambda r: (
            r.bookmark(stream).get("window_start") is not None and r.since_state.get(stream, 0) >= 1
        ),
    )


def mid_history(rows):
    return (
        f"mid-history after {rows} rows",
        lambda r: (
            r.rows.get("visitor_history", 0) >= rows
            and r.since_state.get("visitor_history", 0) >= 1
        ),
    )


def kill_rules(rng: random.Random) -> list:
    def drawn():
        return after_bytes(rng.randint(20_000, 400_000))

    return [
        after_bytes(1),  # before any STATE: the resume is a fresh start
        drawn(),
        mid_window("feature_events"),
        drawn(),
        mid_page("guide_events"),
        drawn(),
        mid_history(50),
        drawn(),
        mid_history(400),
        drawn(),
        drawn(),
        drawn(),
        drawn(),
    ]


NOW = moments.US_DST_WEEK


@pytest.fixture(scope="module")
def fake():
    # Latency keeps history requests in flight, so kills there land among them.
    with pinned_fake(NOW, seed=31, scale=0.3, days=8, latency=0.004) as server:
        yield server


def test_kill_9_at_seeded_points_then_resume_loses_and_repeats_nothing(fake, catalogs, tmp_path):
    config = base_config(fake, record_limit=RECORD_LIMIT)
    catalog = select(catalogs(), ALL_STREAMS)
    clean = sync(fake, tmp_path / "clean", config, catalog)

    rules = kill_rules(random.Random(SEED))
    state = None
    runs = []  # (rule name or None, the run, the state it started from)
    for number, (name, rule) in enumerate(rules):
        run = _run_until(tmp_path / f"run{number}", config, catalog, state, rule)
        runs.append((name if run.returncode == -9 else None, run, state))
        if run.states:
            state = run.state
        if run.returncode != -9:
            assert run.returncode == 0, run.stderr[-3000:]
    final = sync(fake, tmp_path / "final", config, catalog, state=state)
    runs.append((None, final, state))

    kills = [name for name, _, _ in runs if name]
    assert kills == [name for name, _ in rules], f"{len(kills)} of {len(rules)} kills: {kills}"

    # Each kill: what the next run emits again.
    for (name, killed, _), (_, resumed, _) in zip(runs, runs[1:]):
        if name:
            before, state_then = records_before_last_state(killed)
            if state_then is not None:  # else nothing was confirmed: the next run starts over
                assert_resume_repeats_only_rereads(f"kill '{name}'", before, state_then, resumed)
    # The mid-page kill really cut a page: rows of it came out, its STATE did not.
    mid_page_run = next(run for name, run, _ in runs if name == "mid-page guide_events")
    assert records_after_last_state(mid_page_run).get("guide_events"), "no row after the STATE"

    # Together, the runs wrote every row of the clean run, with its value; nothing else.
    for stream in ALL_STREAMS:
        together = merged([run for _, run, _ in runs], stream)
        expected = clean.records[stream]
        assert_same_records(
            f"kill -9 and resume: {stream}", together, expected, primary_key(stream)
        )
    assert normalized_state(final.state, NOW) == normalized_state(clean.state, NOW)


def _run_until(tmp_path, config, catalog, state, rule):
    """One run, killed -9 as soon as `rule` holds for what has been read."""
    tap = TapProcess(tmp_path, config, catalog, now_ms=NOW, state=state, pipe_bytes=PIPE_BYTES)
    reading = Reading()
    try:
        for line in tap.lines():
            reading.read(line)
            if rule(reading):
                tap.kill()
                break
        return tap.finish()
    except BaseException:
        tap.abandon()
        raise
