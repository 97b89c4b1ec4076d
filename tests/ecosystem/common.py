"""Helpers of the ecosystem tests: the programs in .venvs/, the fake, the truth, full syncs."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tap_pendo.timefmt import parse_datetime_ms
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import ALL_STREAMS, base_config, discover, run_tap, select

REPO = Path(__file__).resolve().parents[2]
VENVS = REPO / ".venvs"
# Small, so that the whole suite stays within a few minutes; every trap the
# comparisons below rely on (awkward ids, ties, three apps) is still there.
SCALE = 0.3


def tool(venv: str, executable: str) -> str:
    """The path of a program installed by `make ecosystem-deps`; fails the test when missing."""
    path = VENVS / venv / "bin" / executable
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make ecosystem-deps` (make test does)")
    return str(path)


def start_ms(config: dict) -> int:
    return parse_datetime_ms(config["start_date"])


def full_sync(fake, tmp_path: Path, streams=ALL_STREAMS, **overrides):
    """Discover, select `streams` (all 15), sync them from the start: (config, catalog, TapRun)."""
    config = base_config(fake, **overrides)
    catalog = select(discover(fake, tmp_path / "discover", config), streams)
    assert len(catalog["streams"]) == len(ALL_STREAMS)
    run = run_tap(fake, tmp_path / "sync", config, catalog).ok()
    assert set(run.records) == set(streams), (
        f"streams without rows: {set(streams) - set(run.records)}"
    )
    return config, catalog, run


def write_output(run, path: Path) -> Path:
    """The tap's stdout, as a file to pipe into a target."""
    path.write_text(run.stdout)
    return path


def pipe(
    command: list, input_path: Path, cwd: Path, config: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run `command` (a target or checker) with `input_path` on stdin; its config written beside."""
    args = list(command)
    if config is not None:
        config_path = cwd / "target_config.json"
        config_path.write_text(json.dumps(config))
        args += ["--config", str(config_path)]
    with open(input_path, "rb") as stdin:
        done = subprocess.run(
            args, stdin=stdin, capture_output=True, text=True, cwd=cwd, timeout=timeout
        )
    assert done.returncode == 0, (
        f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )
    return done


def truth(fake, stream: str, config: dict) -> list:
    return fake.truth(stream, period=config.get("period", "dayRange"), start_ms=start_ms(config))


def key_columns(stream: str, config: dict) -> list:
    return primary_key(stream, config.get("period", "dayRange"))


def schema_of(catalog: dict, stream: str) -> dict:
    return next(s["schema"] for s in catalog["streams"] if s["tap_stream_id"] == stream)


def normalize(value, prop: dict):
    """One value as a target may give it back: date-times as naive UTC datetimes."""
    if value is None:
        return None
    if prop.get("format") == "date-time" and isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        return parsed
    return value


def project(rows, columns: list, schema: dict) -> list:
    """Rows (dicts) as tuples of `columns`, normalized."""
    props = schema["properties"]
    return [tuple(normalize(row.get(c), props.get(c, {})) for c in columns) for row in rows]
