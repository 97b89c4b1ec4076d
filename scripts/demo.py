"""`make demo`: the real tap against the bundled fake Pendo, and what arrived.

Starts the fake service, discovers a catalog, selects every stream, syncs,
then syncs again with the state to show an incremental run. Then the same with
Data Sync: a fake subscription's exports written to a local folder, read with
only `datasync_url` in the config, and read again after a day's exports.
Everything lands in .demo/.
"""

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python scripts/demo.py` puts scripts/ first, not the repository

from tests.fake_pendo.datasync import FakeDataSync  # noqa: E402
from tests.fake_pendo.process import FakeProcess  # noqa: E402

DEMO = ROOT / ".demo"
TAP = str(Path(sys.executable).parent / "tap-pendo")


def write(path: Path, value) -> Path:
    path.write_text(json.dumps(value, indent=2) + "\n")
    return path


def select_all(catalog: dict) -> dict:
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
    return catalog


def sync(config: Path, catalog: Path, out: Path, state=None):
    args = [TAP, "--config", str(config), "--catalog", str(catalog)]
    if state:
        args += ["--state", str(state)]
    started = time.monotonic()
    with out.open("w") as stdout, (DEMO / "tap.log").open("a") as log:
        subprocess.run(args, stdout=stdout, stderr=log, check=True)
    elapsed = time.monotonic() - started
    rows, last_state = Counter(), None
    for line in out.open():
        message = json.loads(line)
        if message["type"] == "RECORD":
            rows[message["stream"]] += 1
        elif message["type"] == "STATE":
            last_state = message["value"]
    return rows, last_state, elapsed


def print_counts(first: Counter, second: Counter, elapsed: float, elapsed2: float) -> None:
    print(f"\n{'stream':<34}{'full sync':>12}{'incremental':>14}")
    for stream in sorted(first):
        print(f"{stream:<34}{first[stream]:>12,}{second.get(stream, 0):>14,}")
    print(f"{'total':<34}{sum(first.values()):>12,}{sum(second.values()):>14,}")
    print(f"\nfull sync {elapsed:.1f}s, incremental {elapsed2:.1f}s")


def main():
    DEMO.mkdir(exist_ok=True)
    (DEMO / "tap.log").write_text("")
    api_demo()
    datasync_demo()


def api_demo() -> None:
    with FakeProcess(scale=1, seed=1, key="demo-key") as fake:
        url, key = fake.url, fake.key
        print(f"fake Pendo listening on {url}")
        config = write(
            DEMO / "config.json",
            {
                "x_pendo_integration_key": key,
                "api_url": url,
                "period": "dayRange",
                "start_date": time.strftime(
                    "%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 40 * 86400)
                ),
            },
        )
        discovered = subprocess.run(
            [TAP, "--config", str(config), "--discover"], check=True, capture_output=True, text=True
        )
        catalog = write(DEMO / "catalog.json", select_all(json.loads(discovered.stdout)))
        print(f"discovered {len(json.loads(discovered.stdout)['streams'])} streams -> {catalog}")
        first, state, elapsed = sync(config, catalog, DEMO / "output.jsonl")
        state_file = write(DEMO / "state.json", state)
        second, _, elapsed2 = sync(config, catalog, DEMO / "output-incremental.jsonl", state_file)
        print_counts(first, second, elapsed, elapsed2)
        print(f"Singer messages: {DEMO / 'output.jsonl'} and {DEMO / 'output-incremental.jsonl'}")
        print(f"state after the first run: {state_file}; tap logs: {DEMO / 'tap.log'}")
        print(
            "the incremental run re-reads only the last day of events and history (late "
            "data), entity rows without a date, and new activity"
        )


def datasync_demo() -> None:
    """Data Sync from a local folder: every export, then the next day's exports only."""
    tree = DEMO / "datasync-store"
    if tree.exists():
        subprocess.run(["rm", "-rf", str(tree)], check=True)
    tree.mkdir()
    exports = FakeDataSync(tree, seed=1, days=10)
    exports.write_history()
    exports.next_day()
    print(f"\nfake Data Sync exports written to {tree}/datasync")
    config = write(
        DEMO / "config-datasync.json",
        {"datasync_url": str(tree), "start_date": "2020-01-01T00:00:00Z"},
    )
    discovered = subprocess.run(
        [TAP, "--config", str(config), "--discover"], check=True, capture_output=True, text=True
    )
    # Without an integration key only the Data Sync streams can run: select just those.
    selected = json.loads(discovered.stdout)
    for entry in selected["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"].startswith("datasync_")
    catalog = write(DEMO / "catalog-datasync.json", selected)
    first, state, elapsed = sync(config, catalog, DEMO / "output-datasync.jsonl")
    state_file = write(DEMO / "state-datasync.json", state)
    exports.next_day()  # a day later: one more export in each folder
    second, _, elapsed2 = sync(
        config, catalog, DEMO / "output-datasync-incremental.jsonl", state_file
    )
    print_counts(first, second, elapsed, elapsed2)
    print(f"state after the first run: {state_file}")
    print("the incremental run reads only the exports written since: one per folder")


if __name__ == "__main__":
    main()
