"""The programs downstream of the tap (`make ecosystem-deps` puts each in .venvs/NAME):
where they are, the tap piped into one as a user pipes it, and values as a target
gives them back."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import pytest

from .singer import parse_messages
from .tap import TAP, TIMEOUT, TapRun, clock_env, environment, input_files

REPO = Path(__file__).resolve().parents[2]
VENVS = REPO / ".venvs"


def tool(venv: str, executable: str) -> str:
    """The path of a program installed by `make ecosystem-deps`; fails the test when missing."""
    path = VENVS / venv / "bin" / executable
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make ecosystem-deps` (make test does)")
    return str(path)


def quote_ident(name: str) -> str:
    """A name as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def pipe(command: list, input_path: Path, cwd: Path, config: dict | None = None):
    """Run `command` (a target or a checker) with `input_path` on stdin, its config written
    beside; it must succeed."""
    args = list(command)
    if config is not None:
        config_path = cwd / "target_config.json"
        config_path.write_text(json.dumps(config))
        args += ["--config", str(config_path)]
    with open(input_path, "rb") as stdin:
        done = subprocess.run(
            args, stdin=stdin, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT
        )
    assert done.returncode == 0, (
        f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )
    return done


def tap_to_target(
    directory: Path,
    config: dict,
    catalog: dict,
    target: list,
    target_config: dict,
    *,
    now_ms: int,
    state: dict | None = None,
) -> tuple:
    """`tap-pendo ... | tee tap_output.jsonl | TARGET --config ...`: three processes, one pipe,
    as a user runs them, the tap on a clock that starts at `now_ms`. Returns the tap's run
    (its messages read from the tee'd copy) and the target's stdout."""
    directory.mkdir(parents=True, exist_ok=True)
    work = directory / "work"
    work.mkdir(exist_ok=True)
    tap_args = [TAP, *input_files(directory, config, catalog, state)]
    target_config_path = directory / "target_config.json"
    target_config_path.write_text(json.dumps(target_config))
    target_args = [*target, "--config", str(target_config_path)]
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
            cwd=work,
            env=environment(work, now_ms, None),
        )
        tee = subprocess.Popen(["tee", str(output)], stdin=tap.stdout, stdout=subprocess.PIPE)
        tap.stdout.close()  # tee holds the pipe now: the tap sees it closed if tee dies
        loader = subprocess.Popen(
            target_args, stdin=tee.stdout, stdout=target_out, stderr=target_err, cwd=directory
        )
        tee.stdout.close()
        processes = (tap, tee, loader)
        try:
            codes = [p.wait(timeout=TIMEOUT) for p in processes]
        finally:
            for p in processes:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    if codes != [0, 0, 0]:
        tails = "".join(f"\n--- {name}:\n{path.read_text()[-4000:]}" for name, path in logs.items())
        pytest.fail(f"tap | tee | target exited with {codes}{tails}")
    run = TapRun(codes[0], output.read_text(), logs["tap.err"].read_text())
    run.messages = parse_messages(run.stdout)
    return run, logs["target.out"].read_text()


def meltano_env(now_ms: int | None = None) -> dict:
    """Environment of a `meltano` command: no telemetry; Meltano, the tap and the target on
    a clock that starts at `now_ms`, when given."""
    env = {
        **os.environ,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_DISABLE_TRACKING": "true",
    }
    if now_ms is not None:
        env.update(clock_env(now_ms))
    return env


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
