"""The contract's conventions that the ground truth (truth.py) applies: each
stream's primary key, Pendo's camelCase names in snake_case, and times as
RFC3339 the way singer-python writes them.

Written from docs/DATA-CONTRACT.md, independently of `tap_pendo`.
"""

from __future__ import annotations

import re
import time
from functools import cache

from .periods import period_field

PERIOD = "<period>"  # stands for `day` or `hour` in a key

PRIMARY_KEYS = {
    "accounts": ["account_id"],
    "visitors": ["visitor_id"],
    "features": ["id"],
    "pages": ["id"],
    "guides": ["id"],
    "track_types": ["id"],
    "metadata_accounts": [],
    "metadata_visitors": [],
    "events": ["account_id", "server", "remote_ip", "visitor_id", "app_id", "user_agent", PERIOD],
    "feature_events": [
        "account_id", "server", "remote_ip", "visitor_id", PERIOD, "feature_id", "user_agent",
        "app_id",
    ],
    "page_events": [
        "account_id", "server", "remote_ip", "visitor_id", PERIOD, "page_id", "user_agent",
        "app_id",
    ],
    "track_events": [
        "account_id", "remote_ip", "server", "visitor_id", PERIOD, "track_type_id", "user_agent",
        "app_id",
    ],
    "guide_events": [
        "account_id", "server_name", "remote_ip", "browser_time", "visitor_id", "guide_id",
        "guide_step_id", "type", "url", "app_id", "user_agent",
    ],
    # guide_id widens Stitch's key: a poll id is unique only within its guide.
    "poll_events": [
        "account_id", "remote_ip", "visitor_id", "browser_time", "poll_id", "app_id",
        "server_name", "user_agent", "guide_id",
    ],
    "visitor_history": ["visitor_id", "app_id", "ts", "type"],
    "guide_steps": ["guide_id", "id"],
    "polls": ["guide_id", "id"],
    "segments": ["id"],
    "reports": ["id"],
}  # fmt: skip


def primary_key(stream: str, period: str = "dayRange") -> list:
    """The stream's key columns, from the contract's table; *period* is `day` or `hour`."""
    return [period_field(period) if name == PERIOD else name for name in PRIMARY_KEYS[stream]]


@cache
def snake(name: str) -> str:
    """Pendo's camelCase to snake_case: `lastUpdatedAt` -> `last_updated_at`.

    An underscore goes before a capital that follows a lower-case letter or a
    digit, and before the last capital of a run that a lower-case letter follows.
    """
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z])([A-Z][a-z])", r"\1_\2", name)
    return name.lower()


def rename(value):
    """Rename every key, recursively through objects and arrays."""
    if isinstance(value, dict):
        return {
            snake(key): rename(item) if isinstance(item, (dict, list)) else item
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [rename(item) for item in value]
    return value


def rfc3339(ms):
    """Epoch ms as singer-python writes a date-time: RFC3339, UTC, microseconds."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}000Z"
