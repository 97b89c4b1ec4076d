"""A bulk edit ties most rows of an entity stream to one `lastUpdatedAt` (an import, a
mass re-tagging): a second run with no change re-emits none of them, because the
bookmark keeps the keyset position of its newest row (docs/DATA-CONTRACT.md, State);
rows without a date still come every run.

Pinned clock (tests/support/moments.py): US_DST_WEEK; only which rows exist depends on it.
"""

import pytest

from tests.support.fakes import base_config, pinned_fake
from tests.support.moments import US_DST_WEEK, ms
from tests.support.records import assert_same_records, primary_key
from tests.support.tap import select, sync

STREAM = "features"
TIED_SHARE = 0.9  # of the features, edited at one instant
UNDATED_EVERY = 20  # and one in twenty has no date at all
PAGE = 7  # rows per request: the tie spans many pages
START_DATE = "2020-01-01T00:00:00Z"


def bulk_edit(dataset) -> None:
    """The dataset's features, most tied to one lastUpdatedAt and a few undated, for the
    server and the truth alike."""
    entities = dataset.entities

    def edited(source: str) -> list:
        rows = entities(source)
        if source != STREAM:
            return rows
        tied_ms = max(row["lastUpdatedAt"] for row in rows)  # the edit came last
        tied = int(len(rows) * TIED_SHARE)
        out = []
        for i, row in enumerate(rows):
            if i % UNDATED_EVERY == UNDATED_EVERY - 1:
                row = {k: v for k, v in row.items() if k != "lastUpdatedAt"}
            elif i < tied:
                row = {**row, "lastUpdatedAt": tied_ms}
            out.append(row)
        return out

    dataset.entities = edited


@pytest.fixture(scope="module")
def fake():
    with pinned_fake(US_DST_WEEK, seed=8, scale=1, days=3) as server:
        bulk_edit(server.dataset)
        yield server


def test_a_second_run_after_a_bulk_edit_re_emits_only_the_undated_rows(fake, catalogs, tmp_path):
    config = base_config(fake, start_date=START_DATE, record_limit=PAGE)
    catalog = select(catalogs(), [STREAM])
    first = sync(fake, tmp_path / "first", config, catalog)
    truth = fake.truth(STREAM, start_ms=ms(START_DATE))
    assert_same_records(STREAM, first.records[STREAM], truth, primary_key(STREAM))
    newest = max(r["last_updated_at"] for r in truth if r.get("last_updated_at"))
    tied = [r for r in truth if r.get("last_updated_at") == newest]
    undated = [r for r in truth if r.get("last_updated_at") is None]
    assert len(tied) > 0.8 * len(truth) and len(tied) > 3 * PAGE and undated, (
        len(tied),
        len(undated),
        len(truth),
    )

    second = sync(fake, tmp_path / "second", config, catalog, state=first.state)
    again = second.records.get(STREAM, [])
    dated_again = [r for r in again if r.get("last_updated_at") is not None]
    # The bound is 2% of the stream; with nothing changed it is none at all.
    assert len(dated_again) <= 0.02 * len(truth), f"{len(dated_again)} dated rows came again"
    assert dated_again == []
    assert_same_records(f"{STREAM} undated, again", again, undated, primary_key(STREAM))
