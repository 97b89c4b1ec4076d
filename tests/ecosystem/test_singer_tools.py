"""A full sync of all 15 streams through singer-check-tap and into target-jsonl."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tests.ecosystem.common import (
    ALL_STREAMS,
    SCALE,
    full_sync,
    key_columns,
    pipe,
    project,
    schema_of,
    tool,
    truth,
    write_output,
)
from tests.fake_pendo import FakePendo


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """One full sync of every stream: (fake, config, catalog, run, output file)."""
    tmp = tmp_path_factory.mktemp("full")
    with FakePendo(seed=21, scale=SCALE) as fake:
        config, catalog, run = full_sync(fake, tmp)
        yield fake, config, catalog, run, write_output(run, tmp / "tap_output.jsonl")


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
    _, _, _, run, output = synced
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
    for stream in ALL_STREAMS:
        lines = (destination / f"{stream}.jsonl").read_text().splitlines()
        written = [json.loads(line) for line in lines]
        expected = truth(fake, stream, config)
        assert len(written) == len(expected) > 0, stream
        key = key_columns(stream, config)
        if not key:
            assert written == expected, stream
            continue
        schema = schema_of(catalog, stream)
        got_keys = Counter(project(written, key, schema))
        assert max(got_keys.values()) == 1, f"{stream}: a key is on two lines"
        assert set(got_keys) == set(project(expected, key, schema)), stream
        # And each line is the truth's row, field for field.
        by_key = dict(zip(project(expected, key, schema), expected))
        for k, row in zip(project(written, key, schema), written):
            assert row == by_key[k], f"{stream} {k}"
