"""Pendo's camelCase names to snake_case, the one rule of docs/DATA-CONTRACT.md."""

import re
from functools import lru_cache


@lru_cache(maxsize=8192)
def snake(name: str) -> str:
    """`lastUpdatedAt` -> `last_updated_at`, `DisplayName` -> `display_name`."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def rename_deep(value):
    """Rename every key of nested dicts (and dicts inside lists) to snake_case."""
    if isinstance(value, dict):
        return {snake(k): rename_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_deep(v) for v in value]
    return value
