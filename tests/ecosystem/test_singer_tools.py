"""A full sync of every stream through singer-check-tap and into target-jsonl.

Pinned clock (tests/support/moments.py): MONTH_END_KOLKATA, 1 June 2026 in a Kolkata
subscription: the sync's windows hold a local day that began in May in UTC.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import ms
from tests.support.records import ALL_STREAMS, primary_key
from tests.support.tap import select, sync
from tests.support.targets import pipe, project, tool


@pytest.fixture(scope="module")
def synced(catalogs, tmp_path_factory):
    """One full sync of every stream: (fake, config, catalog, run, output file)."""
    tmp = tmp_path_factory.mktemp("full")
    with pinned_fake(
        moments.MONTH_END_KOLKATA, seed=21, scale=0.3, days=10, tz="Asia/Kolkata"
    ) as fake:
        config = base_config(fake)
        catalog = select(catalogs(), ALL_STREAMS)
        run = sync(fake, tmp / "sync", config, catalog)
        assert set(run.records) == set(ALL_STREAMS), "every stream has rows"
        output = tmp / "tap_output.jsonl"
        output.write_text(run.stdout)
        yield fake, config, catalog, run, output


def test_singer_check_tap_accepts_a_full_sync_of_every_stream(synced, tmp_path):
    _, _, _, run, output = synced
    done = pipe([tool("singer-tools", "singer-check-tap")], output, cwd=tmp_path)
    assert "The output is valid." in done.stdout
    assert f"for {len(ALL_STREAMS)} streams" in done.stdout
    # Its per-stream table counts what the tap wrote, stream by stream.
    counted = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^\|\s*(\w+)\s*\|\s*(\d+)\s*\|\s*\d+\s*\|$", done.stdout, re.M)
    }
    assert counted == {stream: len(rows) for stream, rows in run.records.items()}


def test_singer_check_tap_rejects_a_record_that_breaks_its_schema(synced, tmp_path):
    """The check is real: one record with a wrong type fails it."""
    _, _, _, _, output = synced
    lines = output.read_text().splitlines()
    for i, line in enumerate(lines):
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "feature_events":
            message["record"]["num_events"] = "many"
            lines[i] = json.dumps(message)
            break
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(AssertionError, match="singer-check-tap failed"):
        pipe([tool("singer-tools", "singer-check-tap")], broken, cwd=tmp_path)


def test_target_jsonl_files_hold_one_line_per_truth_row(synced, tmp_path):
    fake, config, catalog, run, output = synced
    destination = tmp_path / "out"
    done = pipe(
        [tool("target-jsonl", "target-jsonl")],
        output,
        cwd=tmp_path,
        config={"destination_path": str(destination), "do_timestamp_file": False},
    )
    # The target hands back the tap's last state.
    assert json.loads(done.stdout.strip().splitlines()[-1]) == run.state
    assert sorted(p.name for p in destination.iterdir()) == sorted(
        f"{s}.jsonl" for s in ALL_STREAMS
    )
    schemas = {entry["tap_stream_id"]: entry["schema"] for entry in catalog["streams"]}
    for stream in ALL_STREAMS:
        lines = (destination / f"{stream}.jsonl").read_text().splitlines()
        written = [json.loads(line) for line in lines]
        expected = fake.truth(stream, start_ms=ms(config["start_date"]))
        assert len(written) == len(expected) > 0, stream
        key = primary_key(stream)
        if not key:
            assert written == expected, stream
            continue
        got_keys = Counter(project(written, key, schemas[stream]))
        assert max(got_keys.values()) == 1, f"{stream}: a key is on two lines"
        assert set(got_keys) == set(project(expected, key, schemas[stream])), stream
        # And each line is the truth's row, field for field.
        truth_by_key = dict(zip(project(expected, key, schemas[stream]), expected))
        for k, row in zip(project(written, key, schemas[stream]), written):
            assert row == truth_by_key[k], f"{stream} {k}"
