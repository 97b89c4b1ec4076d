"""Datasets shared by the fake's own tests. Read them only: never advance their clocks."""

import pytest

from tests.fake_pendo.dataset import Dataset

# 2025-11-24 16:17 UTC, a Monday: the 30 days before it span the end of DST (2 Nov).
START = 1_764_000_000_000 + 17 * 60_000 + 123


@pytest.fixture(scope="session")
def dataset():
    """The default dataset at scale 1, seed 1, with a pinned clock."""
    return Dataset(seed=1, start_ms=START)


@pytest.fixture(scope="session")
def double_dataset():
    """The same at scale 2."""
    return Dataset(seed=1, scale=2, start_ms=START)


@pytest.fixture(scope="session")
def long_dataset():
    """200 days of activity: history on both sides of Pendo's 180-day limit."""
    return Dataset(seed=1, scale=0.2, days=200, start_ms=START)
