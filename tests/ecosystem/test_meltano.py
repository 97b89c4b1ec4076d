"""The repo's meltano.yml: `meltano run tap-pendo target-jsonl`, offline, twice, and
`meltano run tap-pendo target-postgres` (MeltanoLabs'), twice, into a throwaway server.

The project is copied into a temporary directory with the executables pointed at
the installed ones (so nothing is installed or fetched), and a system database
of its own. The first run writes every selected stream in full and leaves a
state in Meltano's database; the second run's tap is handed that state and
writes only what is new.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tap_pendo.timefmt import DAY_MS, HOUR_MS, parse_datetime_ms
from tests.ecosystem.common import REPO, SCALE, quote_ident, tool, truth
from tests.fake_pendo import FakePendo
from tests.integration.harness import TAP, base_config, clock_env

STATE_ID = "dev:tap-pendo-to-target-jsonl"
EXECUTABLES = {
    "tap-pendo": lambda: TAP,
    "target-jsonl": lambda: tool("target-jsonl", "target-jsonl"),
    "target-postgres": lambda: tool("target-postgres", "target-postgres"),
}


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
    checked against the tap's own table in tests/integration/test_meltano_settings.py."""
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


def meltano(project: Path, *args, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [tool("meltano", "meltano"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **os.environ,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_DISABLE_TRACKING": "true",
            "MELTANO_DATABASE_URI": f"sqlite:///{project / 'system.db'}",
            **env,
        },
    )
    assert done.returncode == 0, f"meltano {' '.join(args)} failed:\n{done.stderr[-5000:]}"
    return done


def read_output(directory: Path) -> dict:
    return {
        p.stem: [json.loads(line) for line in p.read_text().splitlines()]
        for p in directory.glob("*.jsonl")
    }


def windows(log: str, stream: str) -> int:
    """The number of windows the tap planned for `stream`, from its log lines in Meltano's."""
    found = re.findall(rf"{stream}: window \d+/(\d+)", log)
    assert found, f"no window of {stream} in the log"
    return int(found[-1])


def test_meltano_run_twice_hands_the_state_over(meltano_project):
    project = meltano_project
    with FakePendo(seed=41, scale=SCALE) as fake:
        config = base_config(fake)
        env = {
            "TAP_PENDO_X_PENDO_INTEGRATION_KEY": fake.key,
            "TAP_PENDO_API_URL": fake.url,
            "TAP_PENDO_START_DATE": config["start_date"],
        }
        # The key is taken from the environment and never shown.
        listed = meltano(project, "config", "list", "tap-pendo", env=env)
        assert fake.key not in listed.stdout + listed.stderr

        run1 = meltano(
            project,
            "run",
            "--no-install",
            "tap-pendo",
            "target-jsonl",
            env={**env, "TARGET_JSONL_DESTINATION_PATH": str(project / "out1")},
        )
        first = read_output(project / "out1")
        streams = selected_streams()
        assert set(first) == streams
        for stream in streams:
            assert len(first[stream]) == len(truth(fake, stream, config)) > 0, stream
        # The select example's exclusions took effect.
        assert not any("latitude" in r or "longitude" in r for r in first["guide_events"])
        assert any("country" in r for r in first["guide_events"])

        saved = json.loads(meltano(project, "state", "get", STATE_ID, env=env).stdout)
        bookmarks = saved["singer_state"]["bookmarks"]
        assert set(bookmarks) == streams

        run2 = meltano(
            project,
            "run",
            "--no-install",
            "tap-pendo",
            "target-jsonl",
            env={**env, "TARGET_JSONL_DESTINATION_PATH": str(project / "out2")},
        )
        second = read_output(project / "out2")

    # Had the state not reached the tap, it would have read every day and written
    # everything again: it read the last two days.
    assert windows(run1.stderr, "feature_events") >= 30
    assert windows(run2.stderr, "feature_events") <= 3
    assert sum(map(len, second.values())) < sum(map(len, first.values())) / 10
    for stream, rows in second.items():
        ((field, bookmark),) = bookmarks[stream].items()
        # Entities come again from their bookmark; periods and guide events from the
        # last (partial) day, or the day before the bookmark's.
        reach = 0 if field in ("lastupdated", "last_updated_at") else DAY_MS + 25 * HOUR_MS
        for row in rows:
            value = row.get(field)  # entities without a date come every time
            if value is not None:
                assert parse_datetime_ms(value) >= parse_datetime_ms(bookmark) - reach, (
                    stream,
                    row,
                )
    after = json.loads(meltano(project, "state", "get", STATE_ID, env=env).stdout)
    for stream, bookmark in bookmarks.items():
        ((field, value),) = bookmark.items()
        assert after["singer_state"]["bookmarks"][stream][field] >= value, stream


def test_meltano_run_into_postgres_twice_upserts(meltano_project, postgres):
    """`meltano run tap-pendo target-postgres` with the project's loader config (only the
    connection given, as environment variables): every selected stream is a table with one
    row per key, empty account ids stay '', and the second run updates rows in place."""
    project = meltano_project
    schema = "meltano_pendo"
    with FakePendo(seed=43, scale=SCALE) as fake:
        config = base_config(fake)
        env = {
            "TAP_PENDO_X_PENDO_INTEGRATION_KEY": fake.key,
            "TAP_PENDO_API_URL": fake.url,
            "TAP_PENDO_START_DATE": config["start_date"],
            "TAP_PENDO_LOOKBACK_WINDOW": "1",
            "TARGET_POSTGRES_HOST": postgres.host,
            "TARGET_POSTGRES_PORT": str(postgres.port),
            "TARGET_POSTGRES_USER": postgres.user,
            "TARGET_POSTGRES_PASSWORD": postgres.password,
            "TARGET_POSTGRES_DATABASE": postgres.dbname,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        }
        listed = meltano(project, "config", "list", "target-postgres", env=env)
        assert postgres.password not in listed.stdout + listed.stderr
        streams = selected_streams()
        counts = []
        for run in range(2):
            if run:
                fake.advance(26)  # and the clocks of Meltano, the tap and the target with it
            clock = clock_env(fake)
            meltano(
                project, "run", "--no-install", "tap-pendo", "target-postgres", env={**env, **clock}
            )
            counts.append({})
            for stream in streams:
                table = f'{schema}."{stream}"'
                key = ", ".join(map(quote_ident, postgres.primary_key(schema, stream)))
                assert key, stream  # every selected stream has a key
                counts[-1][stream] = postgres.value(f"SELECT count(*) FROM {table}")
                distinct = postgres.value(
                    f"SELECT count(*) FROM (SELECT DISTINCT {key} FROM {table}) d"
                )
                assert counts[-1][stream] == distinct == len(truth(fake, stream, config)), (
                    run,
                    stream,
                )
        tables = postgres.rows(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'"
        )
        assert {t["table_name"] for t in tables} == streams
        assert counts[1]["accounts"] > counts[0]["accounts"]
        empty = postgres.value(
            f"SELECT count(*) FROM {schema}.feature_events WHERE account_id = ''"
        )
        assert empty > 0
        # The guide_events exclusions of the select example: no value arrived. (The tap's
        # SCHEMA message still declares them, so the target may create empty columns.)
        columns = postgres.rows(
            "SELECT column_name FROM information_schema.columns"
            f" WHERE table_schema = '{schema}' AND table_name = 'guide_events'"
        )
        excluded = {"latitude", "longitude"} & {c["column_name"] for c in columns}
        for column in excluded:
            filled = f"SELECT count({column}) FROM {schema}.guide_events"
            assert postgres.value(filled) == 0, column
