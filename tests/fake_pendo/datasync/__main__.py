"""`python -m tests.fake_pendo.datasync`: write a fake Data Sync tree.

    write DIR [--seed N] [--days N] [--recurring N] [--retroactive N] [--scale X]
    big DIR --rows N [--seed N] [--codec snappy|deflate|null]

`write` writes the historical exports, then `--recurring` days of recurring and change
exports, then `--retroactive` retroactive exports (a page, then a feature, ...) of the
default application. `big` writes one export whose allEvents file holds `--rows` rows.
What was written goes to stderr, one line per export; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from .big import write_big
from .fake import DEFAULT_TODAY, FakeDataSync


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_pendo.datasync",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="a tree of historical, recurring and other exports")
    write.add_argument("dir", type=Path, help="the folder that gets datasync/")
    write.add_argument("--seed", type=int, default=1)
    write.add_argument("--days", type=int, default=10, help="days of the historical export")
    write.add_argument("--recurring", type=int, default=3, help="days of recurring exports")
    write.add_argument("--retroactive", type=int, default=1, help="retroactive exports")
    write.add_argument("--scale", type=float, default=1.0, help="entities and events")
    write.add_argument(
        "--today", type=datetime.date.fromisoformat, default=DEFAULT_TODAY,
        help="the day of the historical export (YYYY-MM-DD)",
    )  # fmt: skip
    write.add_argument("--max-file-rows", type=int, default=120, help="rows per allevents file")
    big = commands.add_parser("big", help="one export whose allEvents file holds --rows rows")
    big.add_argument("dir", type=Path, help="the folder that gets datasync/")
    big.add_argument("--rows", type=int, required=True)
    big.add_argument("--seed", type=int, default=1)
    big.add_argument("--codec", choices=("snappy", "deflate", "null"), default="snappy")
    return parser.parse_args(argv)


def _refuse_existing(root: Path) -> None:
    if (root / "datasync").exists():
        sys.exit(f"{root / 'datasync'} exists: remove it or name another folder")


def write_tree(args: argparse.Namespace) -> dict:
    """Writes the tree that `args` describe; returns a summary per folder."""
    fake = FakeDataSync(
        args.dir,
        seed=args.seed,
        days=args.days,
        scale=args.scale,
        today=args.today,
        max_file_rows=args.max_file_rows,
    )
    fake.write_history()
    for _ in range(args.recurring):
        fake.next_day()
    for number in range(args.retroactive):
        fake.write_retroactive("Page" if number % 2 == 0 else "Feature")
    for folder, exports in fake.exports.items():
        for export in exports:
            print(
                f"{folder}/{export.export_id}: counter {export.counter}, {export.kind}, "
                f"{len(export.files)} files, {export.rows} rows",
                file=sys.stderr,
            )
    summary = fake.summary()
    files = sum(folder["files"] for folder in summary.values())
    rows = sum(folder["rows"] for folder in summary.values())
    print(f"wrote {args.dir}/datasync: {files} Avro files, {rows} rows", file=sys.stderr)
    return summary


def main(argv=None) -> None:
    args = parse_args(argv)
    _refuse_existing(args.dir)
    if args.command == "write":
        print(json.dumps({"url": str(args.dir), "folders": write_tree(args)}))
        return
    tree = write_big(args.dir, args.rows, seed=args.seed, codec=args.codec)
    print(
        f"wrote {tree.path}: {tree.rows} rows, {tree.bytes} bytes ({tree.codec}) "
        f"in {tree.seconds:.2f} s",
        file=sys.stderr,
    )
    print(json.dumps({"url": str(args.dir), "file": str(tree.path), "rows": tree.rows}))


if __name__ == "__main__":
    main()
