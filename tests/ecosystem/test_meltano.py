"""The repo's meltano.yml: how Meltano installs and runs the tap and its loaders, and
`meltano run tap-pendo target-postgres` (MeltanoLabs'), twice, offline, into a
throwaway server: the first run writes every selected stream in full and leaves a
state in Meltano's database; the second run's tap is handed that state, reads only
the days after it, and updates the tables in place.

The project is copied into a temporary directory with the executables pointed at
the installed ones (so nothing is installed or fetched), and a system database of
its own. How target-jsonl loads a full sync is tests/ecosystem/test_singer_tools.py's.

Pinned clock (tests/support/moments.py): US_DST_EVE, Saturday 31 October 2026 in New
York; the second run comes 26 hours later, inside the 25-hour day. Meltano, the tap
and the target run on that clock (libfaketime).
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import DAY_MS, HOUR_MS, ms
from tests.support.tap import TAP, TIMEOUT
from tests.support.targets import REPO, meltano_env, quote_ident, tool

EXECUTABLES = {
    "tap-pendo": lambda: TAP,
    "target-jsonl": lambda: tool("target-jsonl", "target-jsonl"),
    "target-postgres": lambda: tool("target-postgres", "target-postgres"),
}
SCHEMA = "meltano_pendo"


@lru_cache(maxsize=1)
def project_file() -> dict:
    """meltano.yml, parsed by the YAML library of Meltano's own virtualenv."""
    code = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"
    with open(REPO / "meltano.yml") as stdin:
        done = subprocess.run(
            [tool("meltano", "python"), "-c", code],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout)


def plugin(kind: str, name: str) -> dict:
    return next(p for p in project_file()["plugins"][kind] if p["name"] == name)


def selected_streams() -> set:
    return {
        s.split(".")[0]
        for s in plugin("extractors", "tap-pendo")["select"]
        if not s.startswith("!")
    }


def test_meltano_yml_declares_the_tap_as_installed_here():
    """How Meltano installs and runs the extractor; its settings and capabilities are
    checked against the tap's `--about` in tests/integration/test_meltano_settings.py."""
    tap = plugin("extractors", "tap-pendo")
    assert tap["namespace"] == "tap_pendo" and tap["executable"] == "tap-pendo"
    assert tap["pip_url"] == "-e ."
    loader = plugin("loaders", "target-jsonl")
    assert loader["executable"] == "target-jsonl"


def about_target_postgres() -> dict:
    done = subprocess.run(
        [tool("target-postgres", "target-postgres"), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_meltano_yml_declares_the_installed_target_postgres_in_full():
    """The loader is MeltanoLabs' target-postgres at the pin `make ecosystem-deps`
    installs, with every setting its `--about` lists (so no Hub look-up is needed)."""
    loader = plugin("loaders", "target-postgres")
    pinned = re.search(
        r"^ECO_PKG_target-postgres := (\S+)$", (REPO / "make/ecosystem.mk").read_text(), re.M
    )
    assert loader["pip_url"] == pinned.group(1)
    assert loader["pip_url"].startswith("meltanolabs-target-postgres==0.8.")
    assert loader["variant"] == "meltanolabs" and loader["namespace"] == "target_postgres"
    assert loader["executable"] == "target-postgres"
    about = about_target_postgres()
    assert loader["pip_url"] == f"meltanolabs-target-postgres=={about['version']}"
    assert set(loader["capabilities"]) <= set(about["capabilities"])
    settings = {s["name"]: s for s in loader["settings"]}
    properties = about["settings"]["properties"]
    expected = set()
    for name, prop in properties.items():
        nested = prop.get("properties") if name == "ssh_tunnel" else None
        expected |= {f"{name}.{child}" for child in nested} if nested else {name}
    assert set(settings) == expected
    assert all("kind" in s for s in settings.values())
    assert {s for s in settings if settings[s].get("sensitive")} == {
        "password",
        "sqlalchemy_url",
        "ssl_client_private_key",
        "ssh_tunnel.private_key",
        "ssh_tunnel.private_key_password",
    }
    options = {o["value"] for o in settings["load_method"]["options"]}
    assert options == set(properties["load_method"]["enum"])
    config = loader["config"]
    assert config["load_method"] == "upsert" and set(config) <= set(settings)


@pytest.fixture
def meltano_project(tmp_path):
    """The repo's meltano.yml in a temporary project, using the installed executables."""
    text = (REPO / "meltano.yml").read_text()
    for name, path in EXECUTABLES.items():
        line = f"executable: {name}\n"
        assert text.count(line) == 1
        text = text.replace(line, f"executable: {path()}\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "meltano.yml").write_text(text)
    return project


def meltano(project: Path, *args, env: dict, now_ms: int | None = None):
    done = subprocess.run(
        [tool("meltano", "meltano"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={
            **meltano_env(now_ms),
            "MELTANO_DATABASE_URI": f"sqlite:///{project / 'system.db'}",
            **env,
        },
    )
    assert done.returncode == 0, f"meltano {' '.join(args)} failed:\n{done.stderr[-5000:]}"
    return done


def table_counts(postgres, streams) -> dict:
    """stream -> (rows, distinct primary keys) of its table, in one query."""
    keys: dict = {}
    for row in postgres.rows(
        "SELECT c.relname AS stream, a.attname AS name FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        f" WHERE i.indisprimary AND n.nspname = '{SCHEMA}'"
    ):
        keys.setdefault(row["stream"], []).append(quote_ident(row["name"]))
    assert all(keys.get(stream) for stream in streams), f"tables without a key: {keys}"
    parts = [
        f"SELECT '{stream}' AS stream, count(*) AS rows, count(DISTINCT ({', '.join(keys[stream])}))"
        f" AS keys FROM {SCHEMA}.{quote_ident(stream)}"
        for stream in streams
    ]
    return {r["stream"]: (r["rows"], r["keys"]) for r in postgres.rows(" UNION ALL ".join(parts))}


def windows(log: str, stream: str) -> int:
    """The number of windows the tap planned for `stream`, from its log lines in Meltano's."""
    found = re.findall(rf"{stream}: window \d+/(\d+)", log)
    assert found, f"no window of {stream} in the log"
    return int(found[-1])


@pytest.mark.timeout(300)
def test_meltano_run_into_postgres_twice_hands_the_state_over_and_upserts(
    meltano_project, postgres
):
    """`meltano run tap-pendo target-postgres` with the project's loader config (only the
    connection given, as environment variables): every selected stream is a table with one
    row per key, as many as the truth has; empty account ids stay ''; the select example's
    exclusions hold; Meltano keeps the state, and the second run reads only from it (the
    days from the one before its bookmark)."""
    project = meltano_project
    streams = sorted(selected_streams())
    with pinned_fake(moments.US_DST_EVE, seed=43, scale=0.15, days=8) as fake:
        config = base_config(fake)
        start = ms(config["start_date"])
        env = {
            "TAP_PENDO_X_PENDO_INTEGRATION_KEY": fake.key,
            "TAP_PENDO_API_URL": fake.url,
            "TAP_PENDO_START_DATE": config["start_date"],
            "TARGET_POSTGRES_HOST": postgres.host,
            "TARGET_POSTGRES_PORT": str(postgres.port),
            "TARGET_POSTGRES_USER": postgres.user,
            "TARGET_POSTGRES_PASSWORD": postgres.password,
            "TARGET_POSTGRES_DATABASE": postgres.dbname,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
        }
        logs, counts = [], []
        for run in range(2):
            if run:
                fake.advance(26)  # and the clocks of Meltano, the tap and the target with it
            done = meltano(
                project,
                "run",
                "--no-install",
                "tap-pendo",
                "target-postgres",
                env=env,
                now_ms=fake.dataset.now_ms,
            )
            logs.append(done.stderr)
            if not run:  # the newest day of the first run: its feature_events bookmark
                newest = max(ms(r["day"]) for r in fake.truth("feature_events", start_ms=start))
            counts.append(table_counts(postgres, streams))
            for stream in streams:
                rows, keys = counts[-1][stream]
                assert rows == keys == len(fake.truth(stream, start_ms=start)), (run, stream)
        tables = postgres.rows(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{SCHEMA}'"
        )
        assert {t["table_name"] for t in tables} == set(streams)

    # Had the state not reached the tap, it would have read every day again: it read from
    # the day before its bookmark.
    assert windows(logs[0], "feature_events") >= 8
    assert windows(logs[1], "feature_events") <= 3
    assert counts[1]["accounts"][0] > counts[0]["accounts"][0]
    # The rows the second run updated are those from its bookmarks on, less the lookback.
    rewritten = postgres.value(
        f"SELECT count(*) FROM {SCHEMA}.feature_events WHERE _sdc_sync_started_at = "
        f"(SELECT max(_sdc_sync_started_at) FROM {SCHEMA}.feature_events)"
    )
    oldest = postgres.value(
        f"SELECT extract(epoch FROM min(day)) * 1000 FROM {SCHEMA}.feature_events WHERE "
        f"_sdc_sync_started_at = (SELECT max(_sdc_sync_started_at) FROM {SCHEMA}.feature_events)"
    )
    reach = newest - DAY_MS - 25 * HOUR_MS
    assert 0 < rewritten < counts[1]["feature_events"][0] and oldest >= reach
    empty = postgres.value(f"SELECT count(*) FROM {SCHEMA}.feature_events WHERE account_id = ''")
    assert empty > 0
    # The guide_events exclusions of the select example: no value arrived. (The tap's
    # SCHEMA message still declares them, so the target may create empty columns.)
    columns = postgres.rows(
        "SELECT column_name FROM information_schema.columns"
        f" WHERE table_schema = '{SCHEMA}' AND table_name = 'guide_events'"
    )
    for column in {"latitude", "longitude"} & {c["column_name"] for c in columns}:
        assert postgres.value(f"SELECT count({column}) FROM {SCHEMA}.guide_events") == 0, column
    assert postgres.value(f"SELECT count(country) FROM {SCHEMA}.guide_events") > 0
