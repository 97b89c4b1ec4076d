"""Stream definitions: keys agree with identities, and nothing outside streams.py names a stream."""

import pathlib
import re

import pytest

from tap_pendo.streams import LISTING, STREAMS, WINDOWS
from tap_pendo.transform import snake


@pytest.mark.parametrize("period", ["dayRange", "hourRange"])
@pytest.mark.parametrize("name", list(STREAMS))
def test_the_key_is_the_snake_case_of_the_identity(name, period):
    """key_properties (output columns, Stitch's order) and identity (Pendo's fields, the
    keyset order) are written apart; they name the same columns."""
    stream = STREAMS[name]
    assert {snake(f) for f in stream.raw_identity(period)} == set(stream.keys(period))
    assert len(set(stream.keys(period))) == len(stream.keys(period))


@pytest.mark.parametrize("name", [n for n, s in STREAMS.items() if s.reader == LISTING])
def test_a_listing_orders_by_its_replication_value_then_a_unique_id(name):
    stream = STREAMS[name]
    order = stream.listing.order
    assert order[0] == stream.replication_path
    # Rows derived from the listing's rows (guide steps) carry the listing row's id too.
    assert order[1:] == stream.identity or (stream.rows_of and "guideId" in stream.identity)


@pytest.mark.parametrize("name", [n for n, s in STREAMS.items() if s.reader == WINDOWS])
def test_a_window_is_paged_by_period_first_then_its_whole_identity(name):
    stream = STREAMS[name]
    order = stream.window_order("hourRange")
    assert order[0] == "hour" and set(order) == set(stream.raw_identity("hourRange")) | {"hour"}


def test_no_module_but_streams_py_asks_for_a_stream_by_name():
    package = pathlib.Path(__file__).parents[2] / "tap_pendo"
    names = "|".join(STREAMS)
    asked = re.compile(rf"""["']({names})["']""")
    found = {
        str(path.relative_to(package)): asked.findall(path.read_text())
        for path in package.rglob("*.py")
        if path.name != "streams.py"
    }
    assert {path: hits for path, hits in found.items() if hits} == {}
