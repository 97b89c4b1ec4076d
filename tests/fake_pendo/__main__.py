"""`python -m tests.fake_pendo`: serve the fake Pendo API until SIGTERM or SIGINT.

Prints one JSON line, `{"url": ..., "key": ...}`, once it is listening.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading

from . import FakePendo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_pendo", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--key", default="test-key", help="the integration key it accepts")
    parser.add_argument("--seed", type=int, default=1, help="seed of the dataset")
    parser.add_argument("--scale", type=float, default=1.0, help="size of the dataset")
    parser.add_argument("--days", type=int, default=30, help="days of activity")
    parser.add_argument("--tz", default="America/New_York", help="the subscription's time zone")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    faults = parser.add_argument_group("faults (probabilities per /api/ request)")
    faults.add_argument("--p429", type=float, default=0.0, help="429 Too Many Requests")
    faults.add_argument("--p5xx", type=float, default=0.0, help="500, 502 or 503")
    faults.add_argument("--preset", type=float, default=0.0, help="connection reset")
    faults.add_argument("--ptruncate", type=float, default=0.0, help="JSON body cut off")
    faults.add_argument("--pslow", type=float, default=0.0, help="a slow answer")
    faults.add_argument(
        "--phtml", type=float, default=0.0, help="a 200 with an HTML login page (a proxy)"
    )
    faults.add_argument("--slow-seconds", type=float, default=2.0, help="delay of a slow answer")
    faults.add_argument("--retry-after", type=int, default=1, help="Retry-After of a 429")
    faults.add_argument("--fault-seed", type=int, default=None, help="default: --seed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    faults = {
        "p429": args.p429,
        "p5xx": args.p5xx,
        "preset": args.preset,
        "ptruncate": args.ptruncate,
        "pslow": args.pslow,
        "phtml": args.phtml,
        "slow_seconds": args.slow_seconds,
        "retry_after": args.retry_after,
    }
    fake = FakePendo(
        key=args.key,
        seed=args.seed,
        scale=args.scale,
        days=args.days,
        tz=args.tz,
        latency=args.latency,
        faults=faults,
        port=args.port,
        fault_seed=args.fault_seed,
    )
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with fake:
        print(json.dumps({"url": fake.url, "key": fake.key}), flush=True)
        stopping.wait()


if __name__ == "__main__":
    main()
