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
