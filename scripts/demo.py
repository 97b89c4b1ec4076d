"""`make demo`: the real tap against the bundled fake Pendo, and what arrived.

Starts the fake service, discovers a catalog, selects every stream, syncs,
then syncs again with the state to show an incremental run. Everything lands
in .demo/.
"""

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python scripts/demo.py` puts scripts/ first, not the repository

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


def main():
    DEMO.mkdir(exist_ok=True)
    (DEMO / "tap.log").write_text("")
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
        print(f"\n{'stream':<20}{'full sync':>12}{'incremental':>14}")
        for stream in sorted(first):
            print(f"{stream:<20}{first[stream]:>12,}{second.get(stream, 0):>14,}")
        print(f"{'total':<20}{sum(first.values()):>12,}{sum(second.values()):>14,}")
        print(f"\nfull sync {elapsed:.1f}s, incremental {elapsed2:.1f}s")
        print(f"Singer messages: {DEMO / 'output.jsonl'} and {DEMO / 'output-incremental.jsonl'}")
        print(f"state after the first run: {state_file}; tap logs: {DEMO / 'tap.log'}")
        print(
            "the incremental run re-reads only the last day of events and history (late "
            "data), entity rows dated at the bookmark (ties) or not at all, and new activity"
        )


if __name__ == "__main__":
    main()
