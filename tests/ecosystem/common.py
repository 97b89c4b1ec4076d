"""Helpers of the ecosystem tests: the programs in .venvs/, the fake, the truth, full syncs."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tap_pendo.timefmt import parse_datetime_ms
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import (
    ALL_STREAMS,
    TAP,
    TapRun,
    base_config,
    clock_env,
    discover,
    run_tap,
    select,
)

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


def quote_ident(name: str) -> str:
    """A name as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


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


def tap_to_target(
    fake,
    directory: Path,
    config: dict,
    catalog: dict,
    target: list,
    target_config: dict,
    state: dict | None = None,
    timeout: int = 600,
) -> tuple[TapRun, str]:
    """`tap-pendo ... | tee tap_output.jsonl | TARGET --config ...`: three processes, one pipe,
    as a user runs them. Returns the tap's run (its messages read from the tee'd copy) and
    the target's stdout. Only the tap runs on the fake's clock (libfaketime)."""
    directory.mkdir(parents=True, exist_ok=True)

    def written(name: str, value) -> str:
        (directory / name).write_text(json.dumps(value))
        return str(directory / name)

    tap_args = [TAP, "--config", written("config.json", config)]
    tap_args += ["--catalog", written("catalog.json", catalog)]
    if state is not None:
        tap_args += ["--state", written("state.json", state)]
    target_args = [*target, "--config", written("target_config.json", target_config)]
    output = directory / "tap_output.jsonl"
    logs = {name: directory / name for name in ("tap.err", "target.out", "target.err")}
    with ExitStack() as files:
        tap_err, target_out, target_err = (
            files.enter_context(open(path, "w")) for path in logs.values()
        )
        tap = subprocess.Popen(
            tap_args,
            stdout=subprocess.PIPE,
            stderr=tap_err,
            env={**os.environ, **clock_env(fake)},
        )
        tee = subprocess.Popen(["tee", str(output)], stdin=tap.stdout, stdout=subprocess.PIPE)
        tap.stdout.close()  # tee holds the pipe now: the tap sees it closed if tee dies
        loader = subprocess.Popen(
            target_args, stdin=tee.stdout, stdout=target_out, stderr=target_err, cwd=directory
        )
        tee.stdout.close()
        processes = (tap, tee, loader)
        try:
            codes = [p.wait(timeout=timeout) for p in processes]
        finally:
            for p in processes:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    if codes != [0, 0, 0]:
        tails = "".join(f"\n--- {name}:\n{path.read_text()[-4000:]}" for name, path in logs.items())
        pytest.fail(f"tap | tee | target exited with {codes}{tails}")
    run = TapRun(codes[0], output.read_text(), logs["tap.err"].read_text())
    run.messages = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return run, logs["target.out"].read_text()


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
