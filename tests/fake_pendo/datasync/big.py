"""The benchmark's tree: one application folder with one export whose one allEvents
period holds `rows` events in one file, written in bounded memory.

fastavro's writer encodes about 45,000 of these 38-field events a second here, so a
million rows would take 20 seconds. Instead, a few thousand template events (made by
the same event maker as the ordinary tree) are encoded once by fastavro; a row is its
template's bytes with a new `eventId` and `browserTimestamp` spliced in (the schema's
second and third fields), and fastavro's `Writer.write_block` frames, compresses and
syncs blocks of them. `rows()` yields the same rows as dicts, for the truth.
"""

from __future__ import annotations

import datetime
import io
import random
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import fastavro

from .catalog import Catalog
from .days import DAY_MS, day_of, period_id, start_ms
from .events import EventMaker, PeriodEvents
from .exports import AvroFile, Export, ExportBuilder
from .people import People
from .schemas import event_schema, parsed
from .truth import iter_records
from .words import DEFAULT_APP, SUBSCRIPTION_ID, hex_id
from .writer import TreeWriter

TEMPLATES = 2_000
BLOCK_ROWS = 4_000  # about 1.5 MB a block before compression
BIG_DAY = datetime.date(2026, 11, 30)


def _long(value: int) -> bytes:
    """Avro's zig-zag varint encoding of a long."""
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while value & ~0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(value: str) -> bytes:
    data = value.encode()
    return _long(len(data)) + data


class _Block:
    """What fastavro's `Writer.write_block` reads of a block: its rows and their bytes."""

    def __init__(self, data: bytes, num_records: int):
        self.bytes_ = io.BytesIO(data)
        self.num_records = num_records


@dataclass
class BigTree:
    """The big tree: where it is, and how to get its rows back."""

    root: Path
    path: Path  # the allevents.avro file
    rows: int
    seed: int
    codec: str
    seconds: float
    bytes: int

    def iter_rows(self):
        """The file's rows as dicts (Avro names, raw values), in file order."""
        return big_rows(self.rows, self.seed)

    def iter_records(self):
        """The records a correct tap emits from the file, in file order."""
        added = {"export_counter": 1, "app_id": DEFAULT_APP}
        return iter_records(event_schema(), self.iter_rows(), added)


@cache
def _templates(seed: int) -> tuple:
    """Events of the default application, aimed at a small catalog and population (read
    them, never change them: they are shared)."""
    day = day_of(BIG_DAY)
    catalog = Catalog(DEFAULT_APP, seed, 1.0, start_ms(day - 1))
    people = People(seed, 1.0, day - 1)
    maker = EventMaker(seed, 1.0, {DEFAULT_APP: catalog}, people)
    period = PeriodEvents(DEFAULT_APP, day, [])
    maker._add_events(period, random.Random(f"{seed}/big"), TEMPLATES, set())
    return tuple(period.rows)


def _row_values(index: int, rows: int, day: int) -> tuple:
    """The eventId and browserTimestamp of row `index`: unique, and in time order."""
    return f"{index:020x}", start_ms(day) + index * (DAY_MS - 1) // max(1, rows)


def big_rows(rows: int, seed: int = 1):
    """The rows of the big file, as dicts, one at a time."""
    templates = _templates(seed)
    day = day_of(BIG_DAY)
    for index in range(rows):
        row = dict(templates[index % len(templates)])
        row["eventId"], row["browserTimestamp"] = _row_values(index, rows, day)
        yield row


def _encoded_tails(templates: list, schema) -> list:
    """Each template's bytes after its first three fields (periodId, eventId,
    browserTimestamp), checked against fastavro's own encoding of their start."""
    tails = []
    for row in templates:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, schema, row)
        data = buffer.getvalue()
        head = _long(row["periodId"]) + _string(row["eventId"]) + _long(row["browserTimestamp"])
        if not data.startswith(head):
            raise AssertionError(
                "the event schema no longer starts periodId, eventId, browserTimestamp"
            )
        tails.append(data[len(head) :])
    return tails


def _blocks(rows: int, seed: int, schema, block_rows: int):
    templates = _templates(seed)
    tails = _encoded_tails(templates, schema)
    day = day_of(BIG_DAY)
    period = _long(day)
    id_length = _long(len(_row_values(0, rows, day)[0]))
    for block_start in range(0, rows, block_rows):
        parts = []
        block_end = min(rows, block_start + block_rows)
        for index in range(block_start, block_end):
            event_id, timestamp = _row_values(index, rows, day)
            parts += (
                period,
                id_length,
                event_id.encode(),
                _long(timestamp),
                tails[index % TEMPLATES],
            )
        yield _Block(b"".join(parts), block_end - block_start)


def write_big(
    root,
    rows: int,
    seed: int = 1,
    codec: str = "snappy",
    subscription: str = SUBSCRIPTION_ID,
    block_rows: int = BLOCK_ROWS,
) -> BigTree:
    """Writes the big tree under `root`: `datasync/{subscription}/-323232/`, one export
    (counter 1) of one period (2026-11-30) whose allEvents file holds `rows` events in
    Avro blocks of `block_rows`; returns a BigTree."""
    began = time.perf_counter()
    export_id = hex_id(random.Random(f"{seed}/big/export"))
    export = Export(str(DEFAULT_APP), 1, export_id, "historical", day_of(BIG_DAY) + 1)
    ExportBuilder(export, subscription, max_file_rows=max(1, rows))  # counter and rootUrl
    name = "allevents.avro"
    export.entry["timeDependent"] = [
        {"periodId": period_id(day_of(BIG_DAY)), "allEvents": {"files": [name]}}
    ]
    writer = TreeWriter(root, subscription, seed)
    path = writer.export_dir(export) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = parsed(event_schema())
    marker = writer.sync_marker(export, name)
    with open(path, "wb") as out:
        avro_writer = fastavro.write.Writer(out, schema, codec=codec, sync_marker=marker)
        for block in _blocks(rows, seed, schema, block_rows):
            avro_writer.write_block(block)
        avro_writer.flush()
    export.files[name] = AvroFile(event_schema(), [], codec)
    writer.write_bill_of_materials(export)
    writer.write_manifest(export.folder, [export])
    return BigTree(
        Path(root), path, rows, seed, codec, time.perf_counter() - began, path.stat().st_size
    )
