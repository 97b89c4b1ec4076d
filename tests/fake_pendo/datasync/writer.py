"""Writes exports to disk in Pendo's order: the Avro files, then the bill of materials,
and the manifest last, so that a file the manifest does not name yet is never part of
an export. Avro files are written streaming, each with the next of the three codecs
(`null`, `deflate`, `snappy`) and a sync marker derived from its path, so that the same
calls write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import fastavro

from .exports import Export
from .layout import BILL_OF_MATERIALS, MANIFEST, folder_dir
from .schemas import parsed

CODECS = ("null", "deflate", "snappy")


def write_avro(path: Path, schema: dict, rows, codec: str, sync_marker: bytes) -> int:
    """Writes `rows` (any iterable; a generator keeps memory bounded) to one Avro file;
    returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0

    def counted():
        nonlocal count
        for row in rows:
            count += 1
            yield row

    with open(path, "wb") as out:
        fastavro.writer(out, parsed(schema), counted(), codec=codec, sync_marker=sync_marker)
    return count


def write_json(path: Path, value) -> None:
    """Writes JSON whole or not at all (a rename), as an object store does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


class TreeWriter:
    """Writes the exports of one subscription under `root`."""

    def __init__(self, root, subscription: str, seed: int):
        self.root = Path(root)
        self.subscription = subscription
        self.seed = seed
        self.files_written = 0

    def export_dir(self, export: Export) -> Path:
        """The folder of `export`."""
        return folder_dir(self.root, self.subscription, export.folder) / export.export_id

    def manifest_path(self, folder: str) -> Path:
        """The folder's exportmanifest.json."""
        return folder_dir(self.root, self.subscription, folder) / MANIFEST

    def write_export(self, export: Export) -> None:
        """The export's Avro files, then its bill of materials (not yet its manifest)."""
        export_dir = self.export_dir(export)
        for name, avro_file in export.files.items():
            avro_file.codec = CODECS[self.files_written % len(CODECS)]
            self.files_written += 1
            marker = self.sync_marker(export, name)
            write_avro(export_dir / name, avro_file.schema, avro_file.rows, avro_file.codec, marker)
        self.write_bill_of_materials(export)

    def sync_marker(self, export: Export, name: str) -> bytes:
        """The sync marker of one file: the same for the same seed, export and name."""
        return hashlib.md5(f"{self.seed}/{export.export_id}/{name}".encode()).digest()

    def write_bill_of_materials(self, export: Export) -> None:
        """billofmaterials.json: the same object as the export's manifest entry."""
        write_json(self.export_dir(export) / BILL_OF_MATERIALS, export.entry)

    def write_manifest(self, folder: str, exports: list) -> Path:
        """The folder's manifest, naming `exports` in counter order."""
        path = self.manifest_path(folder)
        ordered = sorted(exports, key=lambda export: export.counter)
        write_json(path, {"exports": [export.entry for export in ordered]})
        return path
