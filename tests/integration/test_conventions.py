"""Singer and Meltano conventions, end to end: `--about`, METRIC lines, `time_extracted`,
`--plan`, and exit codes.

Pinned clock (tests/support/moments.py): YEAR_END_NEW_YORK, 31 December 2026 at 22:00
in New York, 2027 in UTC: the full sync's windows and every `time_extracted` lie
across a year end. The tap's clock starts where the fake's stands, so a record
extracted during the run is timed between that moment and the longest a run may take.
"""

import json
from collections import Counter
from importlib.metadata import version

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import ms
from tests.support.records import ALL_STREAMS, EVENTS
from tests.support.singer import critical_lines, metric_points
from tests.support.tap import TIMEOUT, run_tap, select, sync

CAPABILITIES = {"catalog", "discover", "state", "about", "properties"}
NOW = moments.YEAR_END_NEW_YORK


@pytest.fixture(scope="module")
def fake():
    with pinned_fake(NOW, seed=2, scale=0.3, days=10) as server:
        yield server


# ------------------------------------------------------------------------ --about


def about(tmp_path, *args):
    """`tap-pendo --about ARGS` in an empty directory: no config anywhere."""
    return run_tap(tmp_path, now_ms=None, args=["--about", *args])


def test_about_json_describes_every_setting_without_a_config(tmp_path):
    done = about(tmp_path)
    assert done.returncode == 0, done.stderr
    described = json.loads(done.stdout)
    assert described["name"] == "tap-pendo"
    assert described["description"]
    assert described["version"] == version("tap-pendo")
    assert CAPABILITIES <= set(described["capabilities"])
    settings = described["settings"]
    assert settings["type"] == "object"
    properties = settings["properties"]
    for name, prop in properties.items():
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        assert types and prop["description"], name
        if "default" in prop:  # a default of the declared type, and one of the options
            json_type = {bool: "boolean", int: "integer", float: "number", str: "string"}
            kind = json_type[type(prop["default"])]
            assert kind in types or (kind == "integer" and "number" in types), name
            assert prop["default"] in prop.get("enum", [prop["default"]]), name
    assert set(settings["required"]) <= set(properties)
    assert "start_date" in settings["required"]
    assert properties["x_pendo_integration_key"]["secret"] is True
    assert properties["start_date"]["format"] == properties["end_date"]["format"] == "date-time"
    assert properties["period"]["enum"] == ["dayRange", "hourRange"]
    assert properties["period"]["default"] == "dayRange"


def test_about_markdown_names_every_setting_as_the_json_does(tmp_path):
    described = json.loads(about(tmp_path / "json").stdout)
    done = about(tmp_path / "markdown", "--format", "markdown")
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
    properties = described["settings"]["properties"]
    assert list(rows) == list(properties)
    for name, prop in properties.items():
        row = rows[name]
        assert prop["description"] in row, name
        if "default" in prop:
            assert json.dumps(prop["default"]) in row, name
        assert ("Secret" in row) is prop.get("secret", False), name


# ------------------------------------------------------- a full sync: METRIC lines


@pytest.fixture(scope="module")
def full_sync(fake, catalogs, tmp_path_factory):
    """Every stream, from start_date, against a small fake: (the fake's log, the run)."""
    tmp = tmp_path_factory.mktemp("full_sync")
    fake.reset_log()
    run = sync(fake, tmp, base_config(fake), select(catalogs(), ALL_STREAMS))
    assert set(run.records) == set(ALL_STREAMS), "every stream has rows"
    return fake.log, run


def test_one_http_request_duration_metric_per_request_pendo_answered(full_sync):
    log, run = full_sync
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
    others = ("segments", "reports", "metadata_accounts", "metadata_visitors", "visitor_history")
    aggregated = sum(per_stream.values()) - sum(per_stream[s] for s in others)
    assert aggregated == requests["aggregation"]
    assert per_stream["feature_events"] == log["sources"]["featureEvents"]
    assert per_stream["guides"] == log["sources"]["guides"]


def test_record_count_metrics_add_up_to_the_records_of_each_stream(full_sync):
    _, run = full_sync
    counters = metric_points(run.stderr, "record_count")
    assert all(c["type"] == "counter" for c in counters)
    counted = Counter()
    for counter in counters:
        counted[counter["tags"]["endpoint"]] += counter["value"]
    assert dict(counted) == {stream: len(records) for stream, records in run.records.items()}


def test_every_record_has_a_time_extracted_within_the_run(full_sync):
    _, run = full_sync
    records = [m for m in run.messages if m["type"] == "RECORD"]
    assert records
    extracted = set()
    for message in records:
        text = message["time_extracted"]
        assert text.endswith("Z") and "T" in text, text
        extracted.add(ms(text))
    low, high = NOW - 1000, NOW + TIMEOUT * 1000
    assert low <= min(extracted) <= max(extracted) <= high, (
        f"time_extracted from {min(extracted)} to {max(extracted)}, the run from {low} at most "
        f"to {high}"
    )


# --------------------------------------------------------------------------- --plan


def test_plan_names_every_stream_and_makes_no_request(fake, catalogs, tmp_path):
    fake.reset_log()
    run = run_tap(
        tmp_path,
        base_config(fake),
        now_ms=fake.dataset.now_ms,
        catalog=select(catalogs(), ALL_STREAMS),
        args=["--plan"],
    )
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


def test_a_wrong_key_exits_1_with_one_critical_line(fake, catalogs, tmp_path):
    wrong = fake.key.replace("integration", "wrong")
    config = base_config(fake, x_pendo_integration_key=wrong)
    run = run_tap(
        tmp_path,
        config,
        now_ms=fake.dataset.now_ms,
        catalog=select(catalogs(), ["accounts", "segments"]),
    )
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
    run = run_tap(tmp_path, now_ms=None, args=args)
    assert run.returncode == 2, run.stderr
    assert "usage: tap-pendo" in run.stderr
    assert run.stdout == ""


# A bug, injected where no tap module is touched: sitecustomize (on PYTHONPATH) makes
# every HTTP request of `requests` fail as a bug does, with the integration key it
# carries in the exception's message.
INJECTED_BUG = """
import requests


def send(self, request, **kwargs):
    raise RuntimeError("injected bug, key " + request.headers["x-pendo-integration-key"])


requests.Session.send = send
"""


def test_an_internal_error_exits_70_with_a_traceback_without_the_key(fake, tmp_path):
    (tmp_path / "inject").mkdir()
    (tmp_path / "inject" / "sitecustomize.py").write_text(INJECTED_BUG)
    run = run_tap(
        tmp_path / "run",
        base_config(fake),
        now_ms=fake.dataset.now_ms,
        discover=True,
        env={"PYTHONPATH": str(tmp_path / "inject")},
    )
    assert run.returncode == 70, run.stderr
    assert "Traceback" in run.stderr and "RuntimeError: injected bug" in run.stderr
    assert fake.key not in run.stderr + run.stdout
    assert "<integration key>" in run.stderr
