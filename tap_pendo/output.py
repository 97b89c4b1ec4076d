"""Singer messages on stdout: RECORD lines buffered, flushed at every STATE.

Messages are the ones singer-python writes (same types and keys). They are
serialized with orjson, and records are framed with a precomputed prefix per
stream, because json.dumps per row (singer.write_record) is the slowest step
of a sync after parsing.
"""

import sys

import orjson

BUFFER_BYTES = 1 << 16


class SingerWriter:
    """Writes SCHEMA, RECORD and STATE messages to a binary stream."""

    def __init__(self, stream=None):
        self._out = stream or open(sys.stdout.fileno(), "wb", buffering=BUFFER_BYTES, closefd=False)
        self._write = self._out.write
        self._writers: dict = {}

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

    def record_writer(self, stream: str):
        """A function that writes one RECORD message of `stream`; buffered.

        One closure per stream, so that the hot loop makes one call per record.
        """
        writer = self._writers.get(stream)
        if writer is None:
            write, dumps = self._write, orjson.dumps
            prefix = b'{"type":"RECORD","stream":' + orjson.dumps(stream) + b',"record":'

            def writer(record: dict) -> None:
                write(prefix + dumps(record) + b"}\n")

            self._writers[stream] = writer
        return writer

    def record(self, stream: str, record: dict) -> None:
        """A RECORD message; buffered."""
        self.record_writer(stream)(record)

    def state(self, value: dict) -> None:
        """A STATE message, flushed with every record before it."""
        self._write(orjson.dumps({"type": "STATE", "value": value}) + b"\n")
        self.flush()

    def flush(self) -> None:
        """Push everything written so far to the reader."""
        self._out.flush()
