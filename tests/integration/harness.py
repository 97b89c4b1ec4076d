"""Run the installed `tap-pendo` command against a FakePendo, and read what it wrote."""

import glob
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_pendo.truth import EVENT_STREAMS, PRIMARY_KEYS

TAP = str(Path(sys.executable).parent / "tap-pendo")
ALL_STREAMS = list(PRIMARY_KEYS)  # every stream: Stitch's 15 first, then those beyond them
EVENTS = list(EVENT_STREAMS)
FAKETIME_LIBS = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
# The subscription time zones of the end-to-end tests: days of 23 and 25 hours, a
# half-hour offset, and days of 23.5 and 24.5 hours.
ZONES = ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


def zone_id(tz: str) -> str:
    """`Kolkata` for `Asia/Kolkata`: a test id."""
    return tz.split("/")[1]


@dataclass
class TapRun:
    """One finished run: exit code, stderr, and the messages on stdout."""

    returncode: int
    stdout: str
    stderr: str
    messages: list = field(default_factory=list)

    @property
    def records(self) -> dict:
        """stream -> records, in output order."""
        out: dict = {}
        for message in self.messages:
            if message["type"] == "RECORD":
                out.setdefault(message["stream"], []).append(message["record"])
        return out

    @property
    def schemas(self) -> dict:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def states(self) -> list:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self):
        states = self.states
        return states[-1] if states else None

    def ok(self) -> "TapRun":
        assert self.returncode == 0, f"tap-pendo failed ({self.returncode}):\n{self.stderr[-4000:]}"
        return self


def base_config(fake, **overrides) -> dict:
    """A config pointing at `fake`, starting with its data."""
    start = fake.dataset.now_ms - (fake.dataset.days + 2) * 86_400_000
    config = {
        "x_pendo_integration_key": fake.key,
        "api_url": fake.url,
        "start_date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1000)),
        "period": "dayRange",
    }
    config.update(overrides)
    return config


def clock_env(fake) -> dict:
    """Environment that sets the tap's clock to the fake's, when the fake's has moved on."""
    offset = (fake.dataset.now_ms / 1000) - time.time()
    if offset < 60:
        return {}
    assert FAKETIME_LIBS, "libfaketime is missing: `make test` installs the faketime package"
    return {
        "LD_PRELOAD": FAKETIME_LIBS[0],
        # Monotonic clocks are shifted too: with them left alone, this
        # libfaketime makes time.sleep() fail with EINVAL.
        "FAKETIME": f"+{int(offset)}",
    }


def run_tap(
    fake,
    tmp_path,
    config,
    catalog=None,
    state=None,
    discover=False,
    timeout=900,
    extra_args=(),
    env=None,
    parse=True,
) -> TapRun:
    """Run tap-pendo as a subprocess; its stdout is parsed as Singer messages (unless
    `parse` is false: `--plan` prints text)."""
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    args = [TAP, "--config", _write(tmp_path / "config.json", config)]
    if discover:
        args.append("--discover")
    if catalog is not None:
        args += ["--catalog", _write(tmp_path / "catalog.json", catalog)]
    if state is not None:
        args += ["--state", _write(tmp_path / "state.json", state)]
    run_env = {**os.environ, **(clock_env(fake) if fake is not None else {}), **(env or {})}
    done = subprocess.run(
        list(args) + list(extra_args), capture_output=True, text=True, timeout=timeout, env=run_env
    )
    run = TapRun(done.returncode, done.stdout, done.stderr)
    if parse and not discover:
        run.messages = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return run


def discover(fake, tmp_path, config) -> dict:
    """The catalog tap-pendo discovers."""
    run = run_tap(fake, tmp_path, config, discover=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def select(catalog: dict, streams, fields=None) -> dict:
    """Select `streams` (every field, or only `fields` besides the automatic ones)."""
    catalog = json.loads(json.dumps(catalog))
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] in streams
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
            elif fields is not None and chosen:
                item["metadata"]["selected"] = item["breadcrumb"][1] in fields
    return catalog


def metric_points(stderr: str, metric=None) -> list:
    """The singer-python METRIC lines of a run's stderr, parsed (only `metric`'s when given)."""
    points = []
    for line in stderr.splitlines():
        _, marker, payload = line.partition("METRIC: ")
        if marker:
            point = json.loads(payload)
            if metric is None or point["metric"] == metric:
                points.append(point)
    return points


def key_of(record: dict, key_properties) -> tuple:
    return tuple(record.get(k) for k in key_properties)


def by_key(records, key_properties) -> dict:
    """Records by primary key; the later of two with one key wins (an upsert)."""
    return {key_of(r, key_properties): r for r in records}


def _write(path: Path, value) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def pinned_clock_env(fake) -> dict:
    """Environment that sets the tap's clock to the fake's, earlier or later than the real
    one: a fake pinned to a date in the past (`FakePendo(start_ms=...)`) has its tap run
    then too, so that the result does not depend on the day the tests run."""
    offset = int((fake.dataset.now_ms / 1000) - time.time())
    if abs(offset) < 60:
        return {}
    assert FAKETIME_LIBS, "libfaketime is missing: `make test` installs the faketime package"
    return {"LD_PRELOAD": FAKETIME_LIBS[0], "FAKETIME": f"{offset:+d}"}


def assert_same_records(what: str, got: list, expected: list, key_properties) -> None:
    """`got` holds every record of `expected` exactly once (by key), with its values, and
    nothing else; the message counts (and shows a few) missing, extra and changed keys."""
    mine = by_key(got, key_properties)
    theirs = by_key(expected, key_properties)
    twice = len(got) - len(mine)
    missing = [k for k in theirs if k not in mine]
    extra = [k for k in mine if k not in theirs]
    changed = [k for k in theirs if k in mine and mine[k] != theirs[k]]
    assert not (twice or missing or extra or changed), (
        f"{what}: {len(got)} records for {len(theirs)} expected; {twice} keys emitted twice, "
        f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]}), "
        f"{len(changed)} with other values "
        f"(e.g. {[(mine[k], theirs[k]) for k in changed[:1]]})"
    )
