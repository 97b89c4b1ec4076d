"""The Data Sync streams end to end: a Data Sync-only config, a run that must ask Pendo
nothing, records compared with the fake Data Sync's truth export by export, the
bookmarks a finished run leaves, and kill -9 chains resumed from the last STATE.

The truth is `tests.fake_pendo.datasync` (FakeDataSync.emitted, .view, .columns); the
rules are docs/DATA-CONTRACT.md's "Data Sync streams": every row of every file of every
export newer than a folder's bookmark once per run, values verbatim, each folder's
exports in counter order; a STATE claims exactly the rows written before it (for Data
Sync: whole files and exports, so a resumed run repeats none of them).

Records are compared whole (their canonical JSON, `export_counter` included), as
multisets: a row that a run emits twice from one export, or leaves out, or changes, is
found, and rows that several exports give (a finalized day, the definitions of every
recurring export) count once per export.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_pendo.datasync import PRIMARY_KEYS, STREAMS

from .resume import records_before_last_state
from .tap import TapProcess, TapRun, run_tap, select

__all__ = [
    "APP_FOLDER_STREAMS",
    "EVENT_STREAMS",
    "STREAMS",
    "ChainRun",
    "NoPendo",
    "Reading",
    "after_bytes",
    "after_claims",
    "after_first_state",
    "assert_chain_exact",
    "assert_emitted",
    "assert_no_storage_secret",
    "assert_run_emitted",
    "canonical",
    "claimed",
    "datasync_config",
    "expected_bookmarks",
    "folder_of",
    "folders_of",
    "kill_chain",
    "mid_stream",
    "run_until",
    "select_datasync",
    "stream_of_file",
]

EVENT_STREAMS = {
    "datasync_events": "allEvents",
    "datasync_page_events": "Page",
    "datasync_feature_events": "Feature",
    "datasync_track_events": "TrackType",
}
ENTITY_FOLDERS = {
    "datasync_accounts": "account",
    "datasync_account_metadata_schema": "account",
    "datasync_visitors": "visitor",
    "datasync_visitor_metadata_schema": "visitor",
}
APP_FOLDER_STREAMS = [stream for stream in STREAMS if stream not in ENTITY_FOLDERS]
# Before every period of every fake tree (the fake's clock is December 2026).
START_DATE = "2026-01-01T00:00:00Z"
# Option names whose values are credentials (s3fs, gcsfs, adlfs).
SECRET_OPTIONS = {"key", "secret", "token", "account_key", "connection_string", "sas_token"}


def datasync_config(url: str, storage_options: dict | None = None, **settings) -> dict:
    """A config that runs the Data Sync streams only: no integration key, a start_date
    before every period of the fake's trees unless `settings` give one."""
    config = {"datasync_url": url, "start_date": START_DATE, **settings}
    if storage_options is not None:
        config["datasync_storage_options"] = storage_options
    return config


def select_datasync(catalog: dict, streams=STREAMS) -> dict:
    """A copy of `catalog` with the Data Sync `streams` selected, every field, and the
    other streams not."""
    return select(catalog, streams)


# -- Pendo must not be asked --------------------------------------------------------


class NoPendo:
    """A loopback listener that counts the connections made to it, and the environment
    that makes it every HTTP(S) proxy: a run with this environment that asks Pendo (or
    anything on the network) anything connects here first. Each connection is closed
    at once."""

    def __init__(self):
        self.connections = 0
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            connection.close()

    @property
    def env(self) -> dict:
        proxy = "http://{}:{}".format(*self._socket.getsockname())
        names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
        return {
            **{name: proxy for name in names},
            **{name.lower(): proxy for name in names},
            "NO_PROXY": "",
            "no_proxy": "",
        }

    def __enter__(self) -> NoPendo:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


# -- records against the truth ------------------------------------------------------


def canonical(record: dict) -> str:
    """A record as comparable text: its canonical JSON."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def folder_of(stream: str, record: dict) -> str:
    """The export folder a record of `stream` came from: its application, or the account
    or visitor folder."""
    return ENTITY_FOLDERS.get(stream) or str(record["app_id"])


def folders_of(fake, stream: str) -> list:
    """The folders whose exports `stream` reads."""
    if stream in ENTITY_FOLDERS:
        return [ENTITY_FOLDERS[stream]]
    return [str(app) for app in fake.apps]


def _examples(counter: Counter, count: int = 2) -> list:
    return [json.loads(text) for text in list(counter)[:count]]


def assert_emitted(
    stream: str, got: list, expected: list, what: str = "", ordered: bool = True
) -> None:
    """`got` (records of `stream`) holds exactly the records of `expected`, each as often
    (once per export that gives it), whole; with `ordered`, each folder's records come in
    counter order (an upserting loader then keeps each key's newest export)."""
    what = f"{what}{stream}"
    mine, theirs = Counter(map(canonical, got)), Counter(map(canonical, expected))
    missing, extra = theirs - mine, mine - theirs
    twice = Counter({text: n for text, n in mine.items() if n > 1 and n > theirs.get(text, 0)})
    assert not missing and not extra, (
        f"{what}: {len(got)} records for {len(expected)} expected; "
        f"{sum(missing.values())} missing (e.g. {_examples(missing)}); "
        f"{sum(extra.values())} not expected (e.g. {_examples(extra)}), of which "
        f"{sum(twice.values())} emitted more often than their exports give them "
        f"(e.g. {_examples(twice, 1)})"
    )
    if ordered:
        newest: dict = {}
        for number, record in enumerate(got):
            folder = folder_of(stream, record)
            counter = record["export_counter"]
            assert counter >= newest.get(folder, counter), (
                f"{what}: record #{number} of folder {folder} comes from export {counter} "
                f"after a record of export {newest[folder]}: not in counter order"
            )
            newest[folder] = counter


def assert_run_emitted(
    records: dict,
    fake,
    what: str = "",
    streams=STREAMS,
    may_be_empty=(),
    **truth,
) -> dict:
    """Every stream's records (stream -> records, or a TapRun) are exactly
    `fake.emitted(stream, **truth)`, in counter order per folder; a stream whose truth
    is empty fails unless named in `may_be_empty` (it would prove nothing). Returns
    stream -> the expected records."""
    records = getattr(records, "records", records)
    unknown = set(records) - set(streams)
    assert not unknown, f"{what}records of streams not selected: {sorted(unknown)}"
    expected_by_stream = {}
    for stream in streams:
        expected = fake.emitted(stream, **truth)
        assert expected or stream in may_be_empty, (
            f"{what}{stream}: the truth is empty, so the test proves nothing"
        )
        assert_emitted(stream, records.get(stream, []), expected, what)
        expected_by_stream[stream] = expected
    return expected_by_stream


def expected_bookmarks(fake, streams=STREAMS) -> dict:
    """The bookmarks a finished run over every listed export leaves: per stream, its
    folders' newest listed counters."""
    return {
        stream: {
            "export_counter": {
                folder: max(fake.listed[folder]) for folder in folders_of(fake, stream)
            }
        }
        for stream in streams
    }


def stream_of_file(fake, path) -> str:
    """The Data Sync stream that reads the Avro file at `path` of `fake`'s tree, from the
    manifest entry of the export that names it."""
    path = Path(path)
    for folder, exports in fake.exports.items():
        for export in exports:
            export_dir = Path(fake.export_dir(folder, export.counter))
            if export_dir not in path.parents:
                continue
            name = path.relative_to(export_dir).as_posix()
            entry = export.entry
            for stream, key in (
                ("datasync_pages", "pageDefinitionsFile"),
                ("datasync_features", "featureDefinitionsFile"),
                ("datasync_track_types", "trackTypeDefinitionsFile"),
                ("datasync_guides", "guideDefinitionsFile"),
                (f"datasync_{folder}_metadata_schema", "metadataSchemaFile"),
            ):
                names = entry.get(key) or []
                if name in ([names] if isinstance(names, str) else names):
                    return stream
            for kind in ("accounts", "visitors"):
                if name in (entry.get(kind) or {}).get("files", []):
                    return f"datasync_{kind}"
            for period in entry.get("timeDependent", []):
                if name in (period.get("allEvents") or {}).get("files", []):
                    return "datasync_events"
                for matched in period.get("matchedEvents", []):
                    if name in matched["files"]:
                        kind = matched["id"].split("/", 1)[0]
                        return next(s for s, k in EVENT_STREAMS.items() if k == kind)
    raise KeyError(f"no export of the fake names {path}")


def assert_no_storage_secret(run: TapRun, options: dict, directory: Path | None = None) -> None:
    """No credential of the storage options (`key`, `secret`, tokens, account keys; the
    nested ones too) is in the run's stdout or stderr, nor in a file it wrote."""
    secrets = []

    def collect(value, name=None):
        if isinstance(value, dict):
            for key, item in value.items():
                collect(item, key)
        elif isinstance(value, str) and name in SECRET_OPTIONS:
            secrets.append(value)

    collect(options)
    assert secrets, "the storage options hold no credential: the check would prove nothing"
    files = [p for p in Path(directory).rglob("*") if p.is_file()] if directory else []
    for secret in secrets:
        for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            at = text.find(secret)
            assert at < 0, (
                f"a storage credential leaked into {name}: ...{text[max(0, at - 200) : at + 40]}"
            )
        for path in files:
            if path.name not in {"config.json", "catalog.json", "state.json"}:
                assert secret.encode() not in path.read_bytes(), f"a credential leaked into {path}"


# -- kill -9 and resume -------------------------------------------------------------


@dataclass
class Reading:
    """What a test has read of one run's stdout so far."""

    bytes: int = 0
    states: int = 0
    state: dict | None = None
    rows: Counter = field(default_factory=Counter)  # stream -> records in this run
    since_state: Counter = field(default_factory=Counter)  # stream -> since the last STATE
    claimed: int = 0  # records before the last STATE

    def read(self, line: bytes) -> None:
        self.bytes += len(line)
        if line.startswith(b'{"type":"STATE"'):
            self.state = json.loads(line)["value"]
            self.states += 1
            self.claimed = sum(self.rows.values())
            self.since_state = Counter()
        elif line.startswith(b'{"type":"RECORD"'):
            stream = json.loads(line)["stream"]
            self.rows[stream] += 1
            self.since_state[stream] += 1

    def under_way(self, stream: str) -> dict:
        """The last STATE's `under_way` of `stream` ({} when it names none)."""
        bookmark = ((self.state or {}).get("bookmarks") or {}).get(stream) or {}
        return bookmark.get("under_way") or {}


def after_first_state():
    return "after the first STATE", lambda reading: reading.states >= 1


def mid_stream(stream: str, rows: int = 20):
    """Inside `stream`'s files: a STATE was read, and `rows` records of `stream` since
    the last one (records that no STATE claims yet)."""
    return (
        f"inside {stream}'s files",
        lambda reading: reading.states >= 1 and reading.since_state[stream] >= rows,
    )


def after_claims(rows: int = 20):
    """After a STATE that claims records, and `rows` records not claimed yet."""
    return (
        f"after a STATE that claims records, {rows} records on",
        lambda reading: reading.claimed > 0 and sum(reading.since_state.values()) >= rows,
    )


def after_bytes(rng: random.Random, low: int, high: int):
    n = rng.randint(low, high)
    return f"after {n} bytes", lambda reading: reading.bytes >= n


def run_until(tmp_path, config, catalog, state, rule, pipe_bytes: int = 4096) -> tuple:
    """Run tap-pendo, reading its stdout line by line through a `pipe_bytes` pipe, and
    kill -9 it as soon as the `rule` ((name, predicate of a Reading)) holds: (TapRun,
    killed?)."""
    _, holds = rule
    tap = TapProcess(tmp_path, config, catalog, now_ms=None, state=state, pipe_bytes=pipe_bytes)
    reading = Reading()
    killed = False
    try:
        for line in tap.lines():
            reading.read(line)
            if holds(reading):
                tap.kill()
                killed = True
                break
        run = tap.finish()
    except BaseException:
        tap.abandon()
        raise
    return run, killed and run.returncode != 0


@dataclass
class ChainRun:
    """One run of a kill chain: the rule that killed it (None: it ran to its end), the
    run, and the state it started from."""

    rule: str | None
    run: TapRun
    state: dict | None


def kill_chain(tmp_path, config, catalog, rules, state=None) -> list:
    """Run tap-pendo, kill -9 it at each rule's point in turn, each run resumed from the
    last STATE printed so far, then once more to its end: the ChainRuns. Every rule must
    kill its run (the tap must not finish first), and the last run must succeed."""
    chain = []
    for number, rule in enumerate(rules):
        name = rule[0]
        run, killed = run_until(Path(tmp_path) / f"run{number}", config, catalog, state, rule)
        assert killed, (
            f"run {number} ended ({run.returncode}) before '{name}': {run.stderr[-2000:]}"
        )
        chain.append(ChainRun(name, run, state))
        state = run.state or state
    final = run_tap(Path(tmp_path) / "final", config, now_ms=None, catalog=catalog, state=state)
    chain.append(ChainRun(None, final.ok(), state))
    return chain


def claimed(chain_run: ChainRun) -> dict:
    """stream -> the records a run claims: those before its last STATE if it was killed,
    all of them if it finished."""
    if chain_run.rule is None:
        return chain_run.run.records
    return records_before_last_state(chain_run.run)[0]


def assert_chain_exact(chain: list, fake, streams=STREAMS, **truth) -> None:
    """A kill chain loses and repeats nothing:

    - the records each run claimed (before its last STATE; a finished run, all) add up
      to exactly `fake.emitted(stream, **truth)`: every row of every export once;
    - no record printed before a killed run's last STATE comes again in the run
      resumed from that STATE (the contract allows no re-read for Data Sync);
    - every run's records, merged by key in run order (as a loader upserts), equal the
      truth merged by key.
    """
    for stream in streams:
        expected = fake.emitted(stream, **truth)
        assert expected, f"{stream}: the truth is empty, so the test proves nothing"
        total = [record for link in chain for record in claimed(link).get(stream, [])]
        assert_emitted(stream, total, expected, "the runs' claims: ", ordered=False)
        key = PRIMARY_KEYS[stream]
        merged, want = {}, {}
        for link in chain:
            for record in link.run.records.get(stream, []):
                merged[tuple(record.get(k) for k in key)] = record
        for record in expected:
            want[tuple(record[k] for k in key)] = record
        changed = [k for k in want if merged.get(k) != want[k]]
        extra = [k for k in merged if k not in want]
        assert not changed and not extra, (
            f"{stream}: merged by key, {len(changed)} keys missing or not their newest "
            f"export's (e.g. {changed[:2]}), {len(extra)} not in the truth (e.g. {extra[:2]})"
        )
    for number, (link, resumed) in enumerate(zip(chain, chain[1:])):
        before, state = records_before_last_state(link.run)
        if state is None:
            continue
        assert resumed.state == state, f"run {number + 1} did not start from run {number}'s STATE"
        for stream, records in before.items():
            again = set(map(canonical, records)) & set(
                map(canonical, resumed.run.records.get(stream, []))
            )
            assert not again, (
                f"{stream}: {len(again)} records printed before run {number}'s last STATE "
                f"({link.rule}) came again in its resumed run, e.g. {json.loads(min(again))}"
            )
