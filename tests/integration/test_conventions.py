"""Singer and Meltano conventions, end to end (issue 14): `--about`, METRIC lines,
`time_extracted`, `--plan`, exit codes, and `max_concurrent_requests` against the fake."""

import json
import subprocess
import threading
import time
from collections import Counter
from importlib.metadata import version

import pytest

from tap_pendo.config import SETTINGS
from tap_pendo.timefmt import parse_datetime_ms
from tests.fake_pendo import FakePendo
from tests.fake_pendo.truth import primary_key
from tests.integration.harness import (
    ALL_STREAMS,
    EVENTS,
    TAP,
    base_config,
    by_key,
    discover,
    metric_points,
    run_tap,
    select,
)

CAPABILITIES = {"catalog", "discover", "state", "about", "properties"}
# The JSON types that fit each kind of setting.
KIND_TYPES = {
    "string": "string",
    "date-time": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "options": "string",
    "app-ids": "string",
}


def run_about(tmp_path, *args) -> subprocess.CompletedProcess:
    """`tap-pendo --about ARGS` in an empty directory: no config anywhere."""
    return subprocess.run(
        [TAP, "--about", *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )


def critical_lines(stderr: str) -> list:
    return [line for line in stderr.splitlines() if line.startswith("CRITICAL")]


# ------------------------------------------------------------------------ --about


def test_about_json_describes_every_setting_without_a_config(tmp_path):
    done = run_about(tmp_path)
    assert done.returncode == 0, done.stderr
    about = json.loads(done.stdout)
    assert about["name"] == "tap-pendo"
    assert about["description"]
    assert about["version"] == version("tap-pendo")
    assert CAPABILITIES <= set(about["capabilities"])
    settings = about["settings"]
    assert settings["type"] == "object"
    properties = settings["properties"]
    assert list(properties) == [s.name for s in SETTINGS]
    for setting in SETTINGS:
        prop = properties[setting.name]
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        assert KIND_TYPES[setting.kind] in types, setting.name
        assert prop["description"] == setting.description, setting.name
        if setting.default is None:
            assert "default" not in prop, setting.name
        else:
            assert prop["default"] == setting.default, setting.name
            assert type(prop["default"]) is type(setting.default), setting.name
        if setting.kind == "date-time":
            assert prop["format"] == "date-time", setting.name
        if setting.options:
            assert prop["enum"] == list(setting.options), setting.name
        assert prop.get("secret", False) is setting.secret, setting.name
    assert properties["x_pendo_integration_key"]["secret"] is True
    assert settings["required"] == [s.name for s in SETTINGS if s.required]
    assert set(settings["required"]) == {"x_pendo_integration_key", "start_date"}


def test_about_markdown_names_every_setting_and_marks_the_key_secret(tmp_path):
    done = run_about(tmp_path, "--format", "markdown")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("# tap-pendo " + version("tap-pendo"))
    for capability in CAPABILITIES:
        assert f"`{capability}`" in text
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in text.splitlines()
        if line.startswith("| `")
    }
    assert list(rows) == [s.name for s in SETTINGS]
    for setting in SETTINGS:
        row = rows[setting.name]
        assert setting.kind in row, setting.name
        assert setting.description in row, setting.name
        if setting.default is not None:
            assert json.dumps(setting.default) in row, setting.name
        assert ("Secret" in row) is setting.secret, setting.name
    assert "Secret" in rows["x_pendo_integration_key"]


# ------------------------------------------------------- a full sync: METRIC lines


@pytest.fixture(scope="module")
def full_sync(tmp_path_factory):
    """Every stream, from start_date, against a small fake: (fake's log, run, start, end)."""
    tmp = tmp_path_factory.mktemp("full_sync")
    with FakePendo(seed=2, scale=0.3, days=10) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp / "discover", config), ALL_STREAMS)
        fake.reset_log()
        started = time.time()
        run = run_tap(fake, tmp / "sync", config, catalog)
        ended = time.time()
        log = fake.log
    run.ok()
    assert set(run.records) == set(ALL_STREAMS), "every stream has rows"
    return log, run, started, ended


def test_one_http_request_duration_metric_per_request_pendo_answered(full_sync):
    log, run, _, _ = full_sync
    timers = metric_points(run.stderr, "http_request_duration")
    assert all(t["type"] == "timer" for t in timers)
    assert len(timers) == log["total"] == sum(log["responses"].values()) > 0
    for timer in timers:
        tags = timer["tags"]
        assert tags["endpoint"] in ALL_STREAMS, tags
        assert tags["http_status_code"] == 200, tags
        assert tags["status"] == "succeeded", tags
        assert isinstance(timer["value"], float) and timer["value"] >= 0
    # Each request is tagged with the stream it read for.
    per_stream = Counter(t["tags"]["endpoint"] for t in timers)
    requests = log["requests"]
    assert per_stream["segments"] == requests["segment"] == 1
    assert per_stream["reports"] == requests["report"] == 1
    assert per_stream["metadata_accounts"] + per_stream["metadata_visitors"] == requests["metadata"]
    assert per_stream["visitor_history"] == requests["history"] > 0
    aggregated = sum(per_stream.values()) - sum(
        per_stream[s]
        for s in (
            "segments",
            "reports",
            "metadata_accounts",
            "metadata_visitors",
            "visitor_history",
        )
    )
    assert aggregated == requests["aggregation"]
    assert per_stream["feature_events"] == log["sources"]["featureEvents"]
    assert per_stream["guides"] == log["sources"]["guides"]


def test_record_count_metrics_add_up_to_the_records_of_each_stream(full_sync):
    _, run, _, _ = full_sync
    counters = metric_points(run.stderr, "record_count")
    assert all(c["type"] == "counter" for c in counters)
    counted = Counter()
    for counter in counters:
        counted[counter["tags"]["endpoint"]] += counter["value"]
    written = {stream: len(records) for stream, records in run.records.items()}
    assert dict(counted) == written


def test_every_record_has_a_time_extracted_within_the_run(full_sync):
    _, run, started, ended = full_sync
    low, high = int(started * 1000), int(ended * 1000) + 1
    records = [m for m in run.messages if m["type"] == "RECORD"]
    assert records
    extracted = set()
    for message in records:
        text = message["time_extracted"]
        assert text.endswith("Z") and "T" in text, text
        extracted.add(parse_datetime_ms(text))
    assert low <= min(extracted) <= max(extracted) <= high, (
        f"time_extracted from {min(extracted)} to {max(extracted)}, run from {low} to {high}"
    )


# --------------------------------------------------------------------------- --plan


def test_plan_names_every_stream_and_makes_no_request(tmp_path):
    with FakePendo(seed=2, scale=0.3, days=10) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp_path / "d", config), ALL_STREAMS)
        fake.reset_log()
        run = run_tap(fake, tmp_path, config, catalog, extra_args=["--plan"], parse=False)
        assert fake.log["total"] == 0, "--plan made a request"
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("plan at ") and f"{len(ALL_STREAMS)} streams" in lines[0]
    named = [line.strip().split(":")[0] for line in lines[1:-1]]
    assert named == ALL_STREAMS
    for stream in EVENTS:
        assert " windows " in next(line for line in lines if line.strip().startswith(stream + ":"))
    assert lines[-1].startswith("requests: at least ")
    assert int(lines[-1].split()[3].rstrip(",")) > 0
    assert '"type"' not in run.stdout, "no Singer message"


# ----------------------------------------------------------------------- exit codes


def test_a_wrong_key_exits_1_with_one_critical_line(tmp_path):
    with FakePendo(seed=2, scale=0.3, days=10) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp_path / "d", config), ["accounts", "segments"])
        wrong = "wrong-key-" + fake.key[::-1]
        run = run_tap(fake, tmp_path, dict(config, x_pendo_integration_key=wrong), catalog)
    assert run.returncode == 1
    (line,) = critical_lines(run.stderr)
    assert "key" in line and "refused" in line
    assert "Traceback" not in run.stderr
    assert wrong not in run.stderr + run.stdout
    assert not run.records


@pytest.mark.parametrize(
    "args",
    [[], ["--format", "markdown"], ["--about", "--format", "xml"], ["--no-such-flag"]],
    ids=["no-config", "no-config-with-format", "bad-format", "unknown-flag"],
)
def test_a_usage_error_exits_2(tmp_path, args):
    done = subprocess.run([TAP, *args], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "usage: tap-pendo" in done.stderr
    assert done.stdout == ""


# A bug, injected: sitecustomize (on PYTHONPATH) replaces the tap's sync with one that
# fails the way a bug does, with the integration key in its message.
INJECTED_BUG = """
import tap_pendo


def sync(config, *args, **kwargs):
    raise RuntimeError("injected bug, key " + config.integration_key)


tap_pendo.sync = sync
"""


def test_an_internal_error_exits_70_with_a_traceback_without_the_key(tmp_path):
    (tmp_path / "inject").mkdir()
    (tmp_path / "inject" / "sitecustomize.py").write_text(INJECTED_BUG)
    with FakePendo(seed=2, scale=0.3, days=10) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp_path / "d", config), ["segments"])
        env = {"PYTHONPATH": str(tmp_path / "inject")}
        run = run_tap(fake, tmp_path / "run", config, catalog, env=env)
    assert run.returncode == 70, run.stderr
    assert "Traceback" in run.stderr and "RuntimeError: injected bug" in run.stderr
    assert fake.key not in run.stderr + run.stdout
    assert "<integration key>" in run.stderr


# ---------------------------------------------------------------------- concurrency


class InFlight:
    """The fake's latency sleep, counting the requests that wait in it at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(seconds)
        finally:
            with self._lock:
                self.now -= 1


@pytest.fixture(scope="module")
def slow_fake():
    """Every answer after 50 ms."""
    with FakePendo(seed=9, scale=0.5, days=7, latency=0.05) as fake:
        yield fake


@pytest.mark.parametrize("workers", [1, 4])
def test_event_streams_equal_the_truth_at_any_max_concurrent_requests(slow_fake, tmp_path, workers):
    fake = slow_fake
    config = base_config(fake, max_concurrent_requests=workers, record_limit=300)
    catalog = select(discover(fake, tmp_path / "d", config), EVENTS)
    fake.reset_log()
    in_flight = InFlight()
    fake.server.sleep = in_flight.sleep
    try:
        run = run_tap(fake, tmp_path, config, catalog).ok()
    finally:
        fake.server.sleep = time.sleep
    assert fake.log["total"] > len(EVENTS) * 8  # several windows, and pages, per stream
    assert f"at most {workers} requests in flight" in run.stderr
    # The setting bounds the requests in flight, and 4 are used when 4 are allowed.
    assert in_flight.most == workers
    start = parse_datetime_ms(config["start_date"])
    for stream in EVENTS:
        key = primary_key(stream)
        got = run.records.get(stream, [])
        expected = fake.truth(stream, start_ms=start)
        assert len(by_key(got, key)) == len(got), f"{stream}: a key came twice"
        assert len(got) == len(expected) > 0, stream
        assert by_key(got, key) == by_key(expected, key), f"{stream} differs from the truth"


def test_a_retried_request_gets_a_metric_per_try(tmp_path):
    """Faults: every try has its timer; a reset (no answer) is tagged with status 0."""
    faults = {"p429": 0.01, "p5xx": 0.015, "preset": 0.01, "ptruncate": 0.01, "retry_after": 0}
    with FakePendo(seed=2, scale=0.3, days=10, faults=faults) as fake:
        config = base_config(fake)
        catalog = select(discover(fake, tmp_path / "d", config), ALL_STREAMS)
        fake.reset_log()
        run = run_tap(fake, tmp_path, config, catalog).ok()
        log = fake.log
    timers = metric_points(run.stderr, "http_request_duration")
    assert len(timers) == log["total"]
    statuses = Counter(t["tags"]["http_status_code"] for t in timers)
    assert statuses[0] == log["faults"]["reset"] > 0
    assert statuses[429] == log["faults"]["429"] > 0
    assert sum(n for s, n in statuses.items() if s >= 500) == log["faults"]["5xx"] > 0
    assert statuses[200] == log["responses"]["2xx"]
    assert all(
        (t["tags"]["status"] == "succeeded") == (t["tags"]["http_status_code"] == 200)
        for t in timers
    )
    counted = Counter()
    for counter in metric_points(run.stderr, "record_count"):
        counted[counter["tags"]["endpoint"]] += counter["value"]
    assert dict(counted) == {stream: len(rows) for stream, rows in run.records.items()}
