"""Small value makers the dataset's parts share: Pendo-shaped ids, Pendo users, and
the pick of a pool element by a uniform draw."""

from __future__ import annotations

import random

from .constants import FIRST_NAMES, LAST_NAMES


def _base62(rng: random.Random, length: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[int(rng.random() * 62)] for _ in range(length))


def _pendo_id(rng: random.Random) -> str:
    """An id shaped like Pendo's: 27 url-safe characters."""
    return f"{_base62(rng, 20)}-{_base62(rng, 3)}_{_base62(rng, 2)}"


def _pick(pool, u: float):
    """The element of `pool` that a uniform draw `u` in [0, 1) falls on."""
    return pool[min(int(u * len(pool)), len(pool) - 1)]


def _person(index: int) -> tuple:
    return FIRST_NAMES[index % 16], LAST_NAMES[index // 16 % 15]


def _user(index: int) -> dict:
    """A Pendo user (who created or changed an entity)."""
    first, last = _person(index)
    return {
        "id": f"{4_700_000_000_000_000 + index * 7919}",
        "username": f"{first}.{last}@example.com",
        "first": first.title(),
        "last": last.title(),
        "role": 8 if index % 3 else 1,
        "userType": "",
    }
