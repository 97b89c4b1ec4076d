"""Stream definitions: keys agree with identities, and nothing outside streams.py names a stream."""

import ast
import dataclasses
import pathlib

import pytest

from tap_pendo.streams import LISTING, STREAMS, WINDOWS
from tap_pendo.streams import PERIOD as STREAMS_PERIOD
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


def _texts_in_code(path: pathlib.Path) -> set:
    """The string literals of a module's code: not its docstrings (which may give examples)
    and not the attribute names of `__slots__`."""
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skipped.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            skipped.update(id(n) for n in ast.walk(node.value))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skipped
    }


def _modules_but_streams_py() -> dict:
    package = pathlib.Path(__file__).parents[2] / "tap_pendo"
    return {
        str(path.relative_to(package)): _texts_in_code(path)
        for path in package.rglob("*.py")
        if path.name != "streams.py"
    }


def test_no_module_but_streams_py_asks_for_a_stream_by_name():
    found = {
        path: sorted(texts & set(STREAMS)) for path, texts in _modules_but_streams_py().items()
    }
    assert {path: hits for path, hits in found.items() if hits} == {}


def _facts(value) -> set:
    """Every text a stream definition holds: names, sources, paths, fields, patterns."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, (tuple, list, frozenset, set)):
        return set().union(*(_facts(v) for v in value)) if value else set()
    if dataclasses.is_dataclass(value):
        return set().union(
            *(
                _facts(getattr(value, f.name))
                for f in dataclasses.fields(value)
                # Words of the layers below the definitions: the kind of aggregation
                # parameters (aggregation.py), the reader kind (readers/), and the Data
                # Sync export layout (datasync/: folder kinds, manifest parts, partition
                # kinds).
                if f.name not in ("params", "reader", "folder", "part", "partition_kind")
            )
        )
    return set()


def test_no_module_but_streams_py_holds_a_stream_fact():
    """Field names, paths, sources, prefixes and patterns of the streams are written in
    streams.py alone (and in the bundled schemas), so that the definitions are the whole
    truth of a stream."""
    facts = set().union(*(_facts(stream) for stream in STREAMS.values())) - {STREAMS_PERIOD}
    # Words that are also the vocabulary of JSON Schema, Singer, the config or Pendo's
    # request bodies, where other modules must spell them.
    facts -= {"type", "properties", "metadata", "pipeline", "appId", "user_agent"}
    facts -= {"id", "name", "kind"}  # words too common to be a stream's alone
    found = {path: sorted(texts & facts) for path, texts in _modules_but_streams_py().items()}
    assert {path: hits for path, hits in found.items() if hits} == {}
