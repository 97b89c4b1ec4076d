"""The Data Sync "probe": the least a Python reader has to do with Data Sync's Avro files.

It reads the files it is given, one after the other, and does nothing else with them
than any reader must:

    fastavro.reader on the file (its own writer schema; fastavro's C extension)
    -> rename keys camelCase -> snake_case through a memo dict
    -> add the columns every Data Sync row carries (app_id, export_counter)
    -> one Singer RECORD line (orjson) on stdout, buffered.

Dates are RFC3339: fastavro gives `timestamp-millis` as datetime and `date` as date
objects, and orjson writes them in C (`OPT_UTC_Z`: `2026-11-30T17:03:11.120000Z`, and
`2026-11-30T17:03:11Z` at a whole second, where the tap writes `.000000Z`). No types,
no selection, no state, no manifest: whatever the tap does beyond this is its own cost.
Files are opened with `open()`, or through fsspec when given as URLs (`s3://...`, with
`--storage-options` as JSON), read as a stream either way.

    python -m bench.datasync_probe FILE [FILE ...] [--stream datasync_events]
        [--app-id -323232] [--export-counter 7] [--storage-options '{"endpoint_url": ...}']

At the end it prints one JSON line to stderr: rows, files, CPU seconds, peak RSS (MB).
`make bench` runs it beside the installed tap on the same file (bench/datasync.py).
"""

import argparse
import json
import re
import resource
import sys

import fastavro
import orjson

BUFFER_BYTES = 1 << 16
READ_BYTES = 2 << 20  # fsspec's request size for URLs, as the tap's


class SnakeNames(dict):
    """camelCase -> snake_case, computed once per name; a lookup afterwards."""

    def __missing__(self, name):
        snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
        snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
        self[name] = snake
        return snake


def open_file(path: str, storage_options: dict):
    """A binary file object of a local path or of a URL (fsspec, streamed)."""
    if "://" not in path or path.startswith("file://"):
        return open(path.removeprefix("file://"), "rb")
    import fsspec

    fs, inner = fsspec.core.url_to_fs(path, **storage_options)
    return fs.open(inner, "rb", block_size=READ_BYTES, cache_type="readahead")


def run(args: argparse.Namespace, out) -> dict:
    prefix = b'{"type":"RECORD","stream":' + orjson.dumps(args.stream) + b',"record":'
    names = SnakeNames()
    dumps, write, option = orjson.dumps, out.write, orjson.OPT_UTC_Z
    app_id, counter = args.app_id, args.export_counter
    storage_options = json.loads(args.storage_options)
    rows = 0
    for path in args.files:
        with open_file(path, storage_options) as file:
            for row in fastavro.reader(file):
                record = {names[key]: value for key, value in row.items()}
                record["app_id"] = app_id
                record["export_counter"] = counter
                write(prefix + dumps(record, option=option) + b"}\n")
                rows += 1
    out.flush()
    return {"rows": rows, "files": len(args.files)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.datasync_probe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", help="Avro files: paths or URLs")
    parser.add_argument("--stream", default="datasync_events", help="stream name in the lines")
    parser.add_argument("--app-id", type=int, default=-323232, help="the app_id column")
    parser.add_argument("--export-counter", type=int, default=1, help="the export_counter column")
    parser.add_argument("--storage-options", default="{}", help="fsspec options, as JSON")
    args = parser.parse_args(argv)
    out = open(sys.stdout.fileno(), "wb", buffering=BUFFER_BYTES, closefd=False)
    counts = run(args, out)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    counts["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
    counts["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
