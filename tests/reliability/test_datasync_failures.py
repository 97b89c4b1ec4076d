"""The Data Sync streams when things go wrong: kill -9 in the middle of a sync, and
inputs a reader must refuse (docs/DATA-CONTRACT.md, "Data Sync streams", State;
../shared/pendo-datasync.md, "What a correct reader emits").

- kill -9 at several points of a sync of every Data Sync stream, four files in flight,
  each run resumed from the last STATE printed so far: the runs' claims (what each
  printed before its last STATE; the last run, everything) add up to exactly the
  fake's truth, every row of every export once; nothing printed before a killed run's
  last STATE comes again in its resumed run (a Data Sync STATE claims whole files and
  exports: no re-read is allowed); merged by key as a loader upserts, the runs hold
  each key's newest export.
- A truncated Avro file, a corrupted one, a manifest that is not JSON, a file the
  manifest lists but the store lacks, an unknown scheme, wrong and missing S3
  credentials, a datasync_url without datasync/: exit 1, one CRITICAL line that names
  the file or the URL, no traceback, the last STATE claiming nothing it did not write
  (after the damage is repaired, a run resumed from it emits exactly the rest), and no
  credential of the storage options anywhere.

The tap's stdout is a 4 KB pipe read line by line: when the test stops reading, the tap
blocks in its next write, so a kill lands where the test chose. No clock plays a part.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fake_pendo.datasync import FakeDataSync, S3Store, damage
from tests.support.datasync import (
    STREAMS,
    ChainRun,
    after_bytes,
    after_claims,
    after_first_state,
    assert_chain_exact,
    assert_no_storage_secret,
    claimed,
    datasync_config,
    expected_bookmarks,
    kill_chain,
    mid_stream,
    select_datasync,
    stream_of_file,
)
from tests.support.failures import assert_clean_failure
from tests.support.secret import SECRET_KEY, SECRET_MARK
from tests.support.tap import run_tap

SEED = 20261201


def discover(tmp_path, config) -> dict:
    run = run_tap(tmp_path, config, now_ms=None, discover=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return select_datasync(json.loads(run.stdout))


# -- the trees and the catalog -------------------------------------------------------


def assert_same_columns(fake: FakeDataSync, catalog: dict) -> None:
    """The catalog was discovered on a tree with the columns of `fake`'s."""
    properties = {e["tap_stream_id"]: e["schema"]["properties"] for e in catalog["streams"]}
    for stream in STREAMS:
        assert properties[stream] == fake.columns(stream), stream


def small_tree(path) -> FakeDataSync:
    """A history and one day of exports: what a failing run reads."""
    fake = FakeDataSync(path, seed=2, days=2, scale=0.3)
    fake.write_history()
    fake.next_day()
    return fake


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("datasync-catalog")
    fake = small_tree(tmp / "tree")
    return discover(tmp / "discover", datasync_config(fake.url))


# -- kill -9 and resume -------------------------------------------------------------


def test_kill_9_at_several_points_then_resume_loses_and_repeats_nothing(catalog, tmp_path):
    fake = FakeDataSync(tmp_path / "tree", seed=3, days=10)
    fake.write_history()
    fake.next_day()
    fake.write_retroactive("Page")
    assert_same_columns(fake, catalog)
    config = datasync_config(fake.url, max_concurrent_requests=4)
    rng = random.Random(SEED)
    rules = [
        mid_stream("datasync_events", rows=30),  # inside the largest stream's files
        after_first_state(),
        after_claims(rows=20),
        after_bytes(rng, 100_000, 400_000),
    ]
    chain = kill_chain(tmp_path / "runs", config, catalog, rules)
    assert_chain_exact(chain, fake)
    assert chain[-1].run.state["bookmarks"] == expected_bookmarks(fake)
    # The kills cut the sync: the killed runs claimed part of it, and left work undone.
    claimed_before = sum(len(r) for link in chain[:-1] for r in claimed(link).values())
    assert claimed_before > 0
    assert sum(len(records) for records in chain[-1].run.records.values()) > 0


# -- bad inputs ---------------------------------------------------------------------


def restore(fake: FakeDataSync, pristine: Path) -> None:
    """The tree as written, its damage undone."""
    for name in ("datasync", "datasync-old"):
        shutil.rmtree(fake.root / name, ignore_errors=True)
    shutil.copytree(pristine / "datasync", fake.root / "datasync")


DAMAGE = {
    "truncated Avro file": (damage.truncate_avro, "damaged|truncated"),
    "corrupted Avro file": (damage.corrupt_avro, "damaged|corrupt"),
    "manifest not JSON": (damage.break_manifest, "JSON"),
    "listed file missing": (damage.delete_listed_file, "not in the store|missing|not found"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_export_stops_the_run_cleanly_and_claims_nothing_after_it(case, catalog, tmp_path):
    fake = small_tree(tmp_path / "tree")
    pristine = tmp_path / "pristine"
    shutil.copytree(fake.root / "datasync", pristine / "datasync")
    harm, problem = DAMAGE[case]
    path = harm(fake.root)
    config = datasync_config(fake.url, max_concurrent_requests=4)
    failed = run_tap(tmp_path / "failed", config, now_ms=None, catalog=catalog)
    line = assert_clean_failure(failed, problem, fix=None)
    assert str(path) in line, f"the error does not name {path}: {line}"

    if path.suffix == ".avro":
        # The stream that reads the file does not count its export as read.
        stream = stream_of_file(fake, path)
        folder = path.relative_to(fake.root / "datasync").parts[1]
        counter = next(
            e.counter
            for e in fake.exports[folder]
            if fake.export_dir(folder, e.counter) in path.parents
        )
        bookmark = (failed.state or {}).get("bookmarks", {}).get(stream) or {}
        assert bookmark.get("export_counter", {}).get(folder, 0) < counter, (stream, bookmark)
    if not failed.states or case == "corrupted Avro file":
        # Nothing claimed (the manifests are read before any file); or the file and the
        # stream of the truncated case, whose resume stands for this one's.
        return
    # Repaired, a run from the last STATE emits exactly what that STATE did not claim.
    restore(fake, pristine)
    resumed = run_tap(
        tmp_path / "resumed", config, now_ms=None, catalog=catalog, state=failed.state
    ).ok()
    chain = [ChainRun(case, failed, None), ChainRun(None, resumed, failed.state)]
    assert_chain_exact(chain, fake)


def test_datasync_url_without_a_datasync_folder_or_with_an_unknown_scheme(catalog, tmp_path):
    fake = small_tree(tmp_path / "tree")
    root = damage.remove_datasync(fake.root)
    for name, url, problem in (
        ("no-datasync", str(root), "no datasync/ folder|datasync/"),
        ("ftp2", "ftp2://x", "scheme"),
    ):
        run = run_tap(tmp_path / name, datasync_config(url), now_ms=None, catalog=catalog)
        line = assert_clean_failure(run, problem, fix=None)
        assert url in line, f"the error does not name {url}: {line}"
        assert run.records == {} and run.states == []


@contextmanager
def moto_checks_credentials(store: S3Store):
    """moto's server refuses requests whose keys it does not know, inside the block (its
    switch is moto's own, process-wide: set back on the way out)."""

    def set_auth(count: str) -> str:
        request = urllib.request.Request(
            f"{store.endpoint_url}/moto-api/reset-auth",
            data=count.encode(),
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]

    previous = set_auth("0")
    try:
        yield
    finally:
        set_auth(previous)


def test_wrong_or_missing_s3_credentials_stop_the_run_cleanly_and_leak_nothing(catalog, tmp_path):
    # A history alone, and small: the runs stop at the first request.
    fake = FakeDataSync(tmp_path / "tree", seed=2, days=1, scale=0.1)
    fake.write_history()
    no_credentials = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with S3Store(fake.root, bucket="datasync-credentials") as store:
        endpoint = {k: v for k, v in store.storage_options.items() if k not in ("key", "secret")}
        wrong = {
            **endpoint,
            "key": f"AKIA{SECRET_MARK.upper()}WRONG",
            "secret": f"{SECRET_KEY}-wrong-secret",
        }
        with moto_checks_credentials(store):
            refused = run_tap(
                tmp_path / "wrong",
                datasync_config(store.url, wrong),
                now_ms=None,
                catalog=catalog,
                env=no_credentials,
            )
        missing = run_tap(
            tmp_path / "missing",
            datasync_config(store.url, endpoint),
            now_ms=None,
            catalog=catalog,
            env=no_credentials,
        )
    for run, problem in ((refused, "refused|denied|credential"), (missing, "credential")):
        line = assert_clean_failure(run, problem, fix="datasync_storage_options")
        assert re.search(re.escape(store.url), line), f"the error does not name the URL: {line}"
        assert run.records == {} and run.states == []
    assert_no_storage_secret(refused, wrong, tmp_path / "wrong")


def test_an_unknown_aws_profile_in_the_storage_options_stops_the_run_cleanly(catalog, tmp_path):
    # The README offers {"profile": ...} for S3: a profile that the AWS files lack is an
    # error the user made, so it ends like the others (never reaches the closed port).
    options = {"profile": "no-such-profile", "endpoint_url": "http://127.0.0.1:9"}
    env = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    config = datasync_config("s3://datasync-profile/pendo", options)
    run = run_tap(tmp_path, config, now_ms=None, catalog=catalog, env=env)
    line = assert_clean_failure(run, "profile", fix="datasync_storage_options|profile")
    assert "s3://datasync-profile/pendo" in line, line
    assert run.records == {} and run.states == []
