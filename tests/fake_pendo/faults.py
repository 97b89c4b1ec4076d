"""The fake server's faults: which one hits a request, drawn from their own seeded
random stream, and what a faulty answer carries (an HTML page, a cut body).

Settings change at run time (`Faults.update`, `/_fake/faults`); the server
(server.py) applies the drawn fault.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

FAULT_KINDS = ("429", "5xx", "reset", "truncate", "slow", "html")
FIVE_XX = (500, 502, 503)
# What a corporate proxy or a maintenance page answers in place of Pendo: 200, HTML.
HTML_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in to continue</h1>
<form method="post" action="/login">
<label>User name <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form>
</body>
</html>
"""


@dataclass(frozen=True)
class FaultSettings:
    """Probabilities of each fault per `/api/` request, and the fixed costs.

    At most one fault hits a request; the probabilities add up to at most 1.
    """

    p429: float = 0.0
    p5xx: float = 0.0
    preset: float = 0.0
    ptruncate: float = 0.0
    pslow: float = 0.0
    phtml: float = 0.0
    slow_seconds: float = 2.0
    retry_after: int = 1
    latency: float = 0.0

    def probabilities(self) -> tuple:
        """(fault kind, probability) in FAULT_KINDS order."""
        chances = (self.p429, self.p5xx, self.preset, self.ptruncate, self.pslow, self.phtml)
        return tuple(zip(FAULT_KINDS, chances))

    def check(self) -> None:
        """ValueError unless every value is in range."""
        chances = [p for _, p in self.probabilities()]
        numbers = [*chances, self.slow_seconds, self.retry_after, self.latency]
        if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
            raise ValueError("fault settings are numbers")
        if min(numbers) < 0 or max(chances) > 1 or sum(chances) > 1:
            raise ValueError("probabilities lie in [0, 1] and add up to at most 1")
        if not isinstance(self.retry_after, int):
            raise ValueError("retry_after is a whole number of seconds")


@dataclass(frozen=True)
class Fault:
    """One drawn fault: its kind, the status it answers, where a cut body stops (0..1)."""

    kind: str
    status: int = 0
    fraction: float = 0.0


class Faults:
    """Fault settings that change at run time, and their own seeded random stream."""

    def __init__(self, seed: int, **settings: Any):
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self.update(**settings)

    def update(self, **changes: Any) -> FaultSettings:
        """Change some settings; ValueError for an unknown name or a bad value."""
        unknown = set(changes) - {f.name for f in fields(FaultSettings)}
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        with self._lock:
            settings = replace(self.settings, **changes)
            settings.check()
            self.settings = settings
        return settings

    def draw(self) -> Fault | None:
        """The fault for the next request, if any."""
        with self._lock:
            roll = self._rng.random()
            for kind, chance in self.settings.probabilities():
                if roll < chance:
                    return Fault(kind, self._rng.choice(FIVE_XX), self._rng.random())
                roll -= chance
        return None


def cut(pieces: Iterator[bytes], fraction: float) -> bytes:
    """A prefix of a JSON body that stops inside it.

    A body in several pieces (an aggregation) stops inside its first batch of
    rows, so inside the results array; a one-piece body stops anywhere after
    its first byte.
    """
    head = next(pieces)
    following = next(pieces, None)
    if following is None:
        return head[: 1 + int(fraction * (len(head) - 2))]
    return head + following[: int(fraction * (len(following) - 1))]
