"""Shared fixtures. The fake Pendo ones come first; add others below them."""

import pytest

from tests.fake_pendo import FakePendo


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fake_pendo(**kwargs): FakePendo arguments for the fake_pendo fixture"
    )


@pytest.fixture
def fake_pendo(request):
    """A started FakePendo for one test; `@pytest.mark.fake_pendo(scale=0.1)` sets its arguments.

    Use it for tests that change the fake: its clock, its faults, its log.
    """
    marker = request.node.get_closest_marker("fake_pendo")
    with FakePendo(**(marker.kwargs if marker else {})) as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_pendo_session():
    """One FakePendo with default arguments for the whole session: read-only tests only."""
    with FakePendo() as fake:
        yield fake
