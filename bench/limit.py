"""The "limit" pipeline: the least any Python tap has to do with Pendo's event responses.

For each window the tap reads (a day of periods, from the start date to now),
it POSTs one aggregation body asking for the same rows the tap gets (same
source, `appId: expandAppIds("*")`, the same timeSeries and the same
`period >= window start` filter; no sort and no limit, which only change the
order the server sends rows in), and then, for every row:

    stream-parse `results.item` (ijson, yajl2_c, use_float=True)
    -> rename keys camelCase -> snake_case through a memo dict
    -> one Singer RECORD line (orjson) on stdout, buffered.

No types, no dates, no selection, no state: whatever a tap does beyond this
is its own cost. `bench.run` runs it as a subprocess, like the tap, and reads
its CPU from wait4, so both are measured the same way on the same responses.

    python -m bench.limit --url URL --key KEY --source featureEvents \
        --period dayRange --start-ms MS [--end-ms MS] [--stream feature_events]

At the end it prints one JSON line to stderr: rows, requests, CPU seconds.
"""

import argparse
import http.client
import json
import re
import resource
import sys
import time
from urllib.parse import urlsplit

import ijson
import orjson

DAY_MS = 86_400_000
PERIOD_FIELDS = {"dayRange": "day", "hourRange": "hour"}
ALL_APPS = 'expandAppIds("*")'
BUFFER_BYTES = 1 << 16


class SnakeNames(dict):
    """camelCase -> snake_case, computed once per name; a lookup afterwards."""

    def __missing__(self, name):
        snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
        snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
        self[name] = snake
        return snake


def windows(start_ms: int, end_ms: int):
    """The tap's windows: a day each from the start date, the last one cut at `end_ms`."""
    for start in range(start_ms, end_ms, DAY_MS):
        yield start, min(start + DAY_MS, end_ms)


def request_body(source: str, period: str, first_ms: int, last_ms: int) -> bytes:
    """One aggregation body: every row of `source` in the periods starting in [first, last)."""
    field = PERIOD_FIELDS[period]
    pipeline = [
        {
            "source": {
                source: {"appId": ALL_APPS},
                "timeSeries": {"period": period, "first": first_ms, "last": last_ms},
            }
        },
        # The period holding `first_ms` began before it and belongs to the window before.
        {"filter": f"{field} >= {first_ms}"},
    ]
    return orjson.dumps(
        {
            "response": {"mimeType": "application/json"},
            "request": {"requestId": "limit", "pipeline": pipeline},
        }
    )


def run(args: argparse.Namespace, out) -> dict:
    url = urlsplit(args.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    headers = {"x-pendo-integration-key": args.key, "content-type": "application/json"}
    names = SnakeNames()
    prefix = b'{"type":"RECORD","stream":' + orjson.dumps(args.stream) + b',"record":'
    write = out.write
    dumps = orjson.dumps
    rows = requests = 0
    end_ms = args.end_ms or int(time.time() * 1000)
    for first, last in windows(args.start_ms, end_ms):
        body = request_body(args.source, args.period, first, last)
        connection.request("POST", "/api/v1/aggregation", body=body, headers=headers)
        response = connection.getresponse()
        requests += 1
        if response.status != 200:
            raise SystemExit(f"limit: HTTP {response.status}: {response.read()[:300]!r}")
        if args.discard:
            while response.read(1 << 16):
                pass
            continue
        for row in ijson.items(response, "results.item", use_float=True):
            write(prefix + dumps({names[k]: v for k, v in row.items()}) + b"}\n")
            rows += 1
        response.read()  # the tail of the body, so that the connection can be reused
    out.flush()
    connection.close()
    return {"rows": rows, "requests": requests}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.limit", description=__doc__)
    parser.add_argument("--url", required=True, help="the fake's base URL")
    parser.add_argument("--key", required=True, help="its integration key")
    parser.add_argument("--source", default="featureEvents", help="aggregation source")
    parser.add_argument("--stream", default="feature_events", help="stream name in the lines")
    parser.add_argument("--period", default="dayRange", choices=sorted(PERIOD_FIELDS))
    parser.add_argument("--start-ms", type=int, required=True, help="the tap's start_date")
    parser.add_argument("--end-ms", type=int, default=None, help="default: now")
    parser.add_argument(
        "--discard", action="store_true", help="read the bodies and drop them (warms the fake)"
    )
    args = parser.parse_args(argv)
    if ijson.backend != "yajl2_c":
        print(f"limit: warning: ijson backend is {ijson.backend}, not yajl2_c", file=sys.stderr)
    out = open(sys.stdout.fileno(), "wb", buffering=BUFFER_BYTES, closefd=False)
    counts = run(args, out)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    counts["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
