"""Singer messages on stdout: RECORD lines buffered, flushed at every STATE.

Messages are the ones singer-python writes (same types and keys, `time_extracted`
on every RECORD). They are serialized with orjson, and records are framed with a
prefix made once per stream and page, because json.dumps per row
(singer.write_record) is the slowest step of a sync after parsing.
"""

import sys

import orjson

BUFFER_BYTES = 1 << 16


def record_prefix(stream: str, time_extracted: str) -> bytes:
    """The start of a RECORD line of `stream`, read at `time_extracted` (RFC3339): what
    follows is the record and `}\\n`. One prefix serves every row of a page."""
    return (
        b'{"type":"RECORD","stream":'
        + orjson.dumps(stream)
        + b',"time_extracted":'
        + orjson.dumps(time_extracted)
        + b',"record":'
    )


class SingerWriter:
    """Writes SCHEMA, RECORD and STATE messages to a binary stream."""

    def __init__(self, stream=None):
        self._out = stream or open(sys.stdout.fileno(), "wb", buffering=BUFFER_BYTES, closefd=False)
        self._write = self._out.write

    def schema(self, stream: str, schema: dict, key_properties, bookmark_properties=None) -> None:
        """A SCHEMA message."""
        message = {
            "type": "SCHEMA",
            "stream": stream,
            "schema": schema,
            "key_properties": list(key_properties),
        }
        if bookmark_properties:
            message["bookmark_properties"] = list(bookmark_properties)
        self._write(orjson.dumps(message) + b"\n")

    @staticmethod
    def record_prefix(stream: str, time_extracted: str) -> bytes:
        """The start of a RECORD line (see the module's `record_prefix`)."""
        return record_prefix(stream, time_extracted)

    def write(self, lines: bytes) -> None:
        """RECORD lines made by record_prefix(); buffered."""
        self._write(lines)

    def record(self, stream: str, record: dict, time_extracted: str) -> None:
        """One RECORD message; buffered."""
        self._write(record_prefix(stream, time_extracted) + orjson.dumps(record) + b"}\n")

    def state(self, value: dict) -> None:
        """A STATE message, flushed with every record before it."""
        self._write(orjson.dumps({"type": "STATE", "value": value}) + b"\n")
        self.flush()

    def flush(self) -> None:
        """Push everything written so far to the reader."""
        self._out.flush()
