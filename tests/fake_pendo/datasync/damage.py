"""Damage a written tree the ways a reader must survive, each returning the path of what
it damaged: an Avro file cut off in the middle of a block, an Avro file with corrupted
bytes in a block, a manifest that is not JSON, a file that a manifest names deleted
from the store, and a root with no `datasync/` folder.

The helpers find their target the way a reader does, from the manifest: by default the
newest listed export of the default application that has a fitting file. The Avro
helpers check with fastavro that the file no longer reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import fastavro

from .layout import DEFINITION_FILES, ENTITY_FILES, MANIFEST
from .words import DEFAULT_APP

SYNC_SIZE = 16
MAGIC = b"Obj\x01"


def folder_path(root, folder=DEFAULT_APP) -> Path:
    """`root/datasync/{the one subscription}/{folder}`."""
    subscriptions = sorted(path for path in (Path(root) / "datasync").iterdir() if path.is_dir())
    return subscriptions[0] / str(folder)


def listed_files(root, folder=DEFAULT_APP, counter=None) -> list:
    """The paths of the files that one listed export names (the newest by default), found
    as a reader finds them: `{folder of the manifest}/{last segment of rootUrl}/{name}`."""
    base = folder_path(root, folder)
    exports = json.loads((base / MANIFEST).read_text(encoding="utf-8"))["exports"]
    entry = exports[-1] if counter is None else next(e for e in exports if e["counter"] == counter)
    export_dir = base / entry["rootUrl"].rstrip("/").rsplit("/", 1)[-1]
    names = []
    for key, _ in DEFINITION_FILES.values():
        names += _as_list(entry.get(key))
    for period in entry.get("timeDependent", []):
        names += period.get("allEvents", {}).get("files", [])
        for matched in period.get("matchedEvents", []):
            names += matched["files"]
    for key in ENTITY_FILES.values():
        names += entry.get(key, {}).get("files", [])
    names += _as_list(entry.get("metadataSchemaFile"))
    return [export_dir / name for name in names]


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _listed_avro(root, folder, counter) -> list:
    """Avro files of the newest listed export that has any (or of `counter`), largest first."""
    base = folder_path(root, folder)
    exports = json.loads((base / MANIFEST).read_text(encoding="utf-8"))["exports"]
    counters = [counter] if counter is not None else [e["counter"] for e in reversed(exports)]
    for candidate in counters:
        files = [path for path in listed_files(root, folder, candidate) if path.exists()]
        if files:
            return sorted(files, key=lambda path: (-path.stat().st_size, str(path)))
    raise FileNotFoundError(f"no listed Avro file in {base}")


def reads(path: Path) -> bool:
    """Whether fastavro reads every record of the file without an error."""
    try:
        with open(path, "rb") as avro_in:
            for _ in fastavro.reader(avro_in):
                pass
    except Exception:
        return False
    return True


def _zigzag_long(data: bytes, offset: int) -> tuple:
    """(value, offset after it) of an Avro long."""
    shift = result = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), offset


def first_block(data: bytes) -> tuple:
    """(start of the first block, start of its data, end of its data) in an Avro file."""
    if not data.startswith(MAGIC):
        raise ValueError("not an Avro object container file")
    sync = data[-SYNC_SIZE:]
    block_start = data.index(sync) + SYNC_SIZE
    _, offset = _zigzag_long(data, block_start)  # the block's row count
    size, data_start = _zigzag_long(data, offset)
    return block_start, data_start, data_start + size


def truncate_avro(root, folder=DEFAULT_APP, counter=None) -> Path:
    """Cuts the largest Avro file of an export in the middle of its first block (as a
    copy or an upload that stopped); returns its path."""
    for path in _listed_avro(root, folder, counter):
        data = path.read_bytes()
        _, data_start, data_end = first_block(data)
        path.write_bytes(data[: (data_start + data_end) // 2])
        if not reads(path):
            return path
        path.write_bytes(data)
    raise RuntimeError("no Avro file of the export could be damaged by truncation")


def corrupt_avro(root, folder=DEFAULT_APP, counter=None) -> Path:
    """Overwrites 8 bytes at the start of the first block's data of an Avro file (a
    compressed one first: a deflate stream that starts with 0xFF has an invalid block
    type) with 0xFF; the file keeps its size. Returns its path."""
    candidates = _listed_avro(root, folder, counter)
    for path in sorted(candidates, key=lambda path: _codec(path) == "null"):
        data = path.read_bytes()
        _, data_start, data_end = first_block(data)
        length = min(8, data_end - data_start)
        damaged = data[:data_start] + b"\xff" * length + data[data_start + length :]
        path.write_bytes(damaged)
        if not reads(path):
            return path
        path.write_bytes(data)
    raise RuntimeError("no Avro file of the export could be damaged by corruption")


def _codec(path: Path) -> str:
    with open(path, "rb") as avro_in:
        return fastavro.reader(avro_in).codec


def break_manifest(root, folder=DEFAULT_APP) -> Path:
    """Replaces a folder's exportmanifest.json with text that is not JSON (a manifest cut
    off while written); returns its path."""
    path = folder_path(root, folder) / MANIFEST
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: max(1, len(text) // 2)], encoding="utf-8")
    return path


def delete_listed_file(root, folder=DEFAULT_APP, counter=None) -> Path:
    """Deletes from the store an Avro file that the manifest names (the last file of the
    newest export, or of `counter`); returns its path."""
    path = [path for path in listed_files(root, folder, counter) if path.exists()][-1]
    path.unlink()
    return path


def remove_datasync(root) -> Path:
    """Renames `root/datasync` to `root/datasync-old`, as when `datasync_url` names the
    wrong folder; returns `root`, which now has no `datasync/` folder."""
    root = Path(root)
    (root / "datasync").rename(root / "datasync-old")
    return root
