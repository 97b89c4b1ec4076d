"""The "limit" pipeline: the least any Python tap has to do with Pendo's event responses.

It reads the same rows as the tap, with the same windowing, and does nothing
else with them:

- `hourRange`: windows of 24 whole UTC hours, `{"period": "hourRange",
  "first": F, "last": L}`, F the start date rounded down to a whole hour at
  first, then the previous L; L = min(F + 24 h, end).
- `dayRange`: one day per request, `{"period": "dayRange", "first": P,
  "count": 1}`. Pendo rounds P down to the start of the day that contains it,
  in the subscription's time zone. The first P is the start date; the answer's
  `startTime` (or a row's `day`) gives the day's start S, and the next P is
  S + 25 h, always inside the next day whatever DST does. It stops once the
  next day cannot start before the end (S + 23 h >= end, a day lasting 23 to
  25 hours), and drops a day that starts at or after the end.

No filter, no sort, no limit. `appId: expandAppIds("*")`. For every row:

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

HOUR_MS = 3_600_000
WINDOW_MS = 24 * HOUR_MS  # hourRange: 24 hours a request
NEXT_DAY_MS = 25 * HOUR_MS  # from a day's start, always inside the next day
SHORTEST_DAY_MS = 23 * HOUR_MS
PERIOD_FIELDS = {"dayRange": "day", "hourRange": "hour"}
ALL_APPS = 'expandAppIds("*")'
BUFFER_BYTES = 1 << 16
HEAD_BYTES = 4096  # where `startTime` is looked for
START_TIME = re.compile(rb'"startTime"\s*:\s*(-?\d+)')
FIRST_DAY = re.compile(rb'"day"\s*:\s*(-?\d+)')


class SnakeNames(dict):
    """camelCase -> snake_case, computed once per name; a lookup afterwards."""

    def __missing__(self, name):
        snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
        snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
        self[name] = snake
        return snake


class Replayed:
    """A response whose first bytes were read already: `read` gives them back first."""

    def __init__(self, head: bytes, rest):
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if self.head and size != 0:  # ijson reads 0 bytes first, to learn the type
            head, self.head = self.head, b""
            return head
        return self.rest.read(size)


def hour_windows(start_ms: int, end_ms: int):
    """hourRange: 24 whole UTC hours a request, from the hour holding the start date."""
    first = start_ms - start_ms % HOUR_MS
    while first < end_ms:
        last = min(first + WINDOW_MS, end_ms)
        yield {"period": "hourRange", "first": first, "last": last}
        first = last


def day_start_of(start_time, point: int):
    """`startTime` as the start of the day holding `point`, or None where it cannot be.

    Until the fake sends the start of the request's first period there (it
    sent its clock), a `startTime` after `point` is no day start.
    """
    if start_time is None or not start_time <= point < start_time + NEXT_DAY_MS:
        return None
    return start_time


def request_body(source: str, time_series: dict) -> bytes:
    """One aggregation body: every row of `source` in those periods; no filter, sort or limit."""
    pipeline = [{"source": {source: {"appId": ALL_APPS}, "timeSeries": time_series}}]
    return orjson.dumps(
        {
            "response": {"mimeType": "application/json"},
            "request": {"requestId": "limit", "pipeline": pipeline},
        }
    )


class Limit:
    """The requests, and the rows written; `window` reads one answer."""

    def __init__(self, args: argparse.Namespace, out):
        url = urlsplit(args.url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        self.headers = {"x-pendo-integration-key": args.key, "content-type": "application/json"}
        self.source, self.discard, self.out = args.source, args.discard, out
        self.prefix = b'{"type":"RECORD","stream":' + orjson.dumps(args.stream) + b',"record":'
        self.names = SnakeNames()
        self.rows = self.requests = 0

    def send(self, time_series: dict):
        body = request_body(self.source, time_series)
        self.connection.request("POST", "/api/v1/aggregation", body=body, headers=self.headers)
        response = self.connection.getresponse()
        self.requests += 1
        if response.status != 200:
            raise SystemExit(f"limit: HTTP {response.status}: {response.read()[:300]!r}")
        return response

    def window(self, time_series: dict, day_end_ms=None):
        """Read one answer; the start of its first period where it tells it, else None.

        With `day_end_ms`, a day that starts at or after it is read and dropped.
        """
        response = self.send(time_series)
        head = response.read(HEAD_BYTES)
        found = START_TIME.search(head)
        results_at = head.find(b'"results"')
        start_time = None
        if found and (results_at < 0 or found.start() < results_at):
            start_time = day_start_of(int(found.group(1)), time_series["first"])
        if self.discard:
            # Nothing parsed: the first row's `day` is taken from the first bytes.
            found = FIRST_DAY.search(head) if start_time is None else None
            drain(response)
            return int(found.group(1)) if found else start_time
        rows = ijson.items(Replayed(head, response), "results.item", use_float=True)
        first = next(rows, None)
        if start_time is None and first is not None:
            start_time = first.get(PERIOD_FIELDS[time_series["period"]])
        late = day_end_ms is not None and start_time is not None and start_time >= day_end_ms
        if first is None or late:
            drain(response)
            return start_time
        names, dumps, write, prefix = self.names, orjson.dumps, self.out.write, self.prefix
        write(prefix + dumps({names[k]: v for k, v in first.items()}) + b"}\n")
        count = 1
        for row in rows:
            write(prefix + dumps({names[k]: v for k, v in row.items()}) + b"}\n")
            count += 1
        self.rows += count
        drain(response)  # the tail of the body, so that the connection can be reused
        return start_time


def drain(response) -> None:
    while response.read(1 << 16):
        pass


def read_days(limit: Limit, start_ms: int, end_ms: int) -> None:
    """dayRange: one day a request, each found from the start of the one before."""
    point = start_ms
    while True:
        day_start = limit.window({"period": "dayRange", "first": point, "count": 1}, end_ms)
        if day_start is None:
            # No start told (an empty day, before the fake sends startTime): a
            # point 24 h on lies in the next day, or in this one if it lasts 25 h.
            point += 24 * HOUR_MS
            if point >= end_ms:
                return
            continue
        if day_start + SHORTEST_DAY_MS >= end_ms:
            return
        point = day_start + NEXT_DAY_MS


def run(args: argparse.Namespace, out) -> dict:
    limit = Limit(args, out)
    end_ms = args.end_ms or int(time.time() * 1000)
    if args.period == "hourRange":
        for time_series in hour_windows(args.start_ms, end_ms):
            limit.window(time_series)
    else:
        read_days(limit, args.start_ms, end_ms)
    out.flush()
    limit.connection.close()
    return {"rows": limit.rows, "requests": limit.requests}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.limit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
