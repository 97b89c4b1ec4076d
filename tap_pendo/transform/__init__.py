"""Pendo row -> Singer record: snake_case names, ms -> RFC3339, types, field selection.

A RecordPlan is compiled once per stream from its selected schema: one entry per raw
name, and straight-line code per row shape (shapes.py). singer.Transformer
rediscovers all of this for every row (about 64k rows/s here, against several
hundred thousand for a compiled plan), so it is not used on the hot path.
"""

from .names import rename_deep, snake
from .records import RecordPlan, metadata_schema_record
from .values import Unconvertible, optional_ms

__all__ = [
    "RecordPlan",
    "Unconvertible",
    "metadata_schema_record",
    "optional_ms",
    "rename_deep",
    "snake",
]
