"""Fixtures shared by the suites. Helpers are in tests/support, one per idea."""

import pytest

from tests.support import moments
from tests.support.fakes import base_config, pinned_fake
from tests.support.tap import discover


@pytest.fixture(scope="session")
def catalogs(tmp_path_factory):
    """`catalogs(period)`: the catalog tap-pendo discovers, every stream unselected.

    Discovered once per test process and period, against a small fake: a catalog
    depends only on the period and on the metadata schemas, which every fake shares.
    Select streams with `tests.support.tap.select`, which copies it.
    """
    found: dict = {}

    def catalog(period: str = "dayRange") -> dict:
        if period not in found:
            with pinned_fake(moments.US_DST_WEEK, scale=0.05, days=2) as fake:
                tmp = tmp_path_factory.mktemp(f"discover-{period}")
                config = base_config(fake, period=period)
                found[period] = discover(tmp, config, fake.dataset.now_ms)
        return found[period]

    return catalog


# The folders in the order their modules are handed to pytest-xdist's workers (whole
# modules, --dist loadscope): the longest first, so that none is left to run alone at
# the end. The order of tests within a folder is kept.
FOLDERS_FIRST = ("ecosystem", "reliability", "integration", "fake", "unit")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        parts = item.nodeid.split("/")
        folder = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
        return FOLDERS_FIRST.index(folder) if folder in FOLDERS_FIRST else len(FOLDERS_FIRST)

    items.sort(key=rank)
