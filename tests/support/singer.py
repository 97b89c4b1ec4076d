"""What a run prints: stdout as Singer messages; METRIC and CRITICAL lines of stderr."""

from __future__ import annotations

import json

SINGER_TYPES = {"SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH"}


def parse_messages(stdout: str, allow_cut_last_line: bool = False) -> list:
    """stdout as Singer messages; AssertionError naming the first line that is not one.

    A run killed with -9 may stop in the middle of a line: that last piece is
    left out when `allow_cut_last_line`.
    """
    lines = stdout.split("\n")
    tail = lines.pop()  # "" when stdout ends with a newline
    if tail and not allow_cut_last_line:
        lines.append(tail)
    messages = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            raise AssertionError(f"stdout line {number} is not JSON: {line[:300]!r}") from None
        assert isinstance(message, dict) and message.get("type") in SINGER_TYPES, (
            f"stdout line {number} is not a Singer message: {line[:300]!r}"
        )
        if message["type"] == "RECORD":
            assert isinstance(message.get("stream"), str) and isinstance(
                message.get("record"), dict
            ), f"stdout line {number}: a RECORD without stream or record"
        if message["type"] == "STATE":
            assert isinstance(message.get("value"), dict), f"stdout line {number}: bad STATE"
        messages.append(message)
    return messages


def metric_points(stderr: str, metric: str | None = None) -> list:
    """singer-python's METRIC lines of stderr, parsed (only `metric`'s when given)."""
    points = []
    for line in stderr.splitlines():
        _, marker, payload = line.partition("METRIC: ")
        if marker:
            point = json.loads(payload)
            if metric is None or point["metric"] == metric:
                points.append(point)
    return points


def critical_lines(stderr: str) -> list:
    """The log lines of level CRITICAL (singer-python's format: `CRITICAL message`)."""
    return [line for line in stderr.splitlines() if line.startswith("CRITICAL ")]
