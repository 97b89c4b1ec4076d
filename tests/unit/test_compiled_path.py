"""The transform's fast path: code compiled per row shape gives exactly the records of the
plain path, on every stream's rows of the fake Pendo, the first 16 rows of a shape (read
before it is compiled) included."""

import itertools

import pytest

from tap_pendo.singer.discover import discover
from tap_pendo.streams import DOCUMENT, HISTORY, LISTING, STREAMS
from tap_pendo.transform import RecordPlan
from tap_pendo.transform.shapes import COMPILE_AFTER, SKIP, Entry, ShapeMapper
from tests.fake_pendo.dataset import Dataset
from tests.fake_pendo.periods import period_starts

ROWS_PER_STREAM = 400


@pytest.fixture(scope="module")
def dataset():
    return Dataset(seed=5, scale=0.3, days=4)


def pendo_rows(dataset, stream, period):
    """Rows of `stream` as Pendo sends them."""
    if stream.reader == LISTING:
        rows = dataset.entities(stream.listing.source)
        if stream.rows_of:
            return [part for row in rows for part in stream.rows_of(row)]
        return rows
    if stream.reader == HISTORY:
        items = (
            {**item, "visitorId": row["visitorId"], "modifiedTs": item["ts"]}
            for row in dataset.entities("visitors")
            for item in dataset.history_items(row["visitorId"])
        )
        return list(itertools.islice(items, ROWS_PER_STREAM))
    if stream.reader == DOCUMENT:
        if stream.verbatim_document:
            return [dataset.metadata_schema(stream.source.rsplit("/", 1)[1])]
        return dataset.segments() if stream.source.endswith("segment") else dataset.reports()
    starts = list(period_starts(dataset.first_activity_ms(), dataset.now_ms, period, dataset.tz))
    return list(
        itertools.islice(dataset.event_rows(stream.source, period, starts), ROWS_PER_STREAM)
    )


@pytest.mark.parametrize("period", ["dayRange", "hourRange"])
def test_compiled_records_equal_the_plain_path_on_every_streams_rows(dataset, period):
    metadata_docs = {
        "metadata_accounts": dataset.metadata_schema("account"),
        "metadata_visitors": dataset.metadata_schema("visitor"),
    }
    catalog = discover(period, metadata_docs)
    compiled_shapes = 0
    for entry in catalog.streams:
        stream = STREAMS[entry.tap_stream_id]
        properties = entry.schema.to_dict()["properties"]
        plan = RecordPlan(stream, properties, set(properties))
        rows = pendo_rows(dataset, stream, period)
        assert rows, stream.name
        for number, row in enumerate(rows):
            assert plan.convert(row) == plan.plainly(row), (stream.name, number, row)
        shapes = {tuple(row) for row in rows}
        compiled_shapes += sum(
            1 for shape in shapes if sum(tuple(r) == shape for r in rows) > COMPILE_AFTER
        )
    assert compiled_shapes >= 10, "too few shapes were compiled for the test to mean much"


def test_shapes_of_one_length_with_other_names_each_keep_their_own_columns():
    """Compiled code is found by a row's length and looks its names up: a row of the same
    length with another name (or the same names in another order) must not be mapped
    by the other shape's code."""
    columns = {"visitorId": "visitor_id", "accountId": "account_id", "pageId": "page_id"}
    mapper = ShapeMapper(
        lambda name: Entry(columns[name], str, None, str) if name in columns else SKIP
    )
    with_account = {"visitorId": "v1", "accountId": ""}
    with_page = {"visitorId": "v2", "pageId": "p9"}
    reordered = {"accountId": "acme", "visitorId": "v3"}
    for _ in range(3 * COMPILE_AFTER):  # both shapes compiled, alternating
        assert mapper(with_account) == {"visitor_id": "v1", "account_id": ""}
        assert mapper(with_page) == {"visitor_id": "v2", "page_id": "p9"}
        assert mapper(reordered) == {"visitor_id": "v3", "account_id": "acme"}
        assert mapper({"visitorId": "v4", "other": 1}) == {"visitor_id": "v4"}
    assert len(mapper._compiled) == 4
