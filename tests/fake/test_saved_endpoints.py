"""Conformance of GET /api/v1/segment and GET /api/v1/report over the generated data.

The contract: every item as one JSON array, no paging, no filter, no appId; a
wrong key gets 403 with an empty body; items can share one lastUpdatedAt; the
items change as the clock moves, always with their lastUpdatedAt.
"""

from collections import Counter

import pytest
import requests

from tests.fake_pendo import FakePendo
from tests.fake_pendo.truth import rfc3339

START = 1_764_000_000_000 + 17 * 60_000 + 123
HOUR_MS = 3_600_000
KEY = "saved-key"
HEADERS = {"x-pendo-integration-key": KEY, "content-type": "application/json"}
CONTRACT = {
    "segment": {"id", "name", "shared", "createdAt", "createdByUser", "lastUpdatedAt",
                "lastUpdatedByUser", "pipeline", "dirty"},
    "report": {"id", "name", "kind", "level", "shared", "scope", "definition", "createdAt",
               "createdByUser", "lastUpdatedAt", "lastUpdatedByUser", "lastRunAt"},
}  # fmt: skip


@pytest.fixture
def fake():
    with FakePendo(key=KEY, seed=1, scale=0.05, start_ms=START) as fake:
        yield fake


def get(fake, kind, query="", headers=HEADERS):
    return requests.get(f"{fake.url}/api/v1/{kind}{query}", headers=headers, timeout=10)


@pytest.mark.parametrize("kind", ["segment", "report"])
def test_every_item_in_one_array(fake, kind):
    response = get(fake, kind)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    items = response.json()
    expected = fake.dataset.segments() if kind == "segment" else fake.dataset.reports()
    assert items == expected and len(items) >= 8
    assert all(set(item) == CONTRACT[kind] for item in items)
    assert all(isinstance(item["lastUpdatedAt"], int) for item in items)
    # Names with quotes, backslashes and non-ASCII letters survive the JSON.
    names = {item["name"] for item in items}
    assert any('"' in n for n in names) and any("\\" in n for n in names)
    assert any(not n.isascii() for n in names)
    # No paging, no filter, no appId: a query string changes nothing.
    for query in ("?limit=1", "?appId=-323232", "?expand=*&filter=x"):
        assert get(fake, kind, query).json() == items


@pytest.mark.parametrize("kind", ["segment", "report"])
def test_items_share_a_last_updated_at(fake, kind):
    items = get(fake, kind).json()
    value, count = Counter(item["lastUpdatedAt"] for item in items).most_common(1)[0]
    assert count >= 3
    assert len({item["id"] for item in items if item["lastUpdatedAt"] == value}) == count


@pytest.mark.parametrize("kind", ["segment", "report"])
@pytest.mark.parametrize("headers", [{}, {"x-pendo-integration-key": "wrong"}])
def test_a_wrong_key_gets_403_with_an_empty_body(fake, kind, headers):
    response = get(fake, kind, headers=headers)
    assert (response.status_code, response.content) == (403, b"")
    log = fake.log
    assert log["requests"][kind] == 1 and log["responses"]["4xx"] == 1


def test_the_log_counts_each_endpoint(fake):
    for kind in ("segment", "report", "report"):
        assert get(fake, kind).ok
    log = fake.log
    assert (log["requests"]["segment"], log["requests"]["report"]) == (1, 2)
    assert log["total"] == 3 and log["responses"]["2xx"] == 3 and log["bytes_sent"] > 1000


def test_advancing_edits_items_and_the_truth_follows(fake):
    before = {kind: {i["id"]: i for i in get(fake, kind).json()} for kind in CONTRACT}
    then = fake.dataset.now_ms
    advanced = requests.post(f"{fake.url}/_fake/advance?hours=2", timeout=10).json()
    assert advanced == {"now_ms": then + 2 * HOUR_MS}
    for kind, stream, query in (
        ("segment", "segments", "pipeline"),
        ("report", "reports", "definition"),
    ):
        after = get(fake, kind).json()
        assert [i["id"] for i in after] == list(before[kind])
        edited = [i for i in after if i != before[kind][i["id"]]]
        assert edited
        for item in edited:
            assert then < item["lastUpdatedAt"] <= then + 2 * HOUR_MS
            assert item[query] != before[kind][item["id"]][query]
        # An incremental sync from the old clock reads exactly the edited items.
        truth = requests.get(
            f"{fake.url}/_fake/truth?stream={stream}&start={then}", timeout=10
        ).json()
        assert [r["id"] for r in truth] == [i["id"] for i in edited]
        assert [r[query] for r in truth] == [i[query] for i in edited]
        assert [r["last_updated_at"] for r in truth] == [
            rfc3339(i["lastUpdatedAt"]) for i in edited
        ]


def test_the_truth_endpoint_serves_steps_and_polls(fake):
    for stream in ("guide_steps", "polls"):
        served = requests.get(f"{fake.url}/_fake/truth?stream={stream}", timeout=10).json()
        assert served and served == fake.truth(stream)
        assert all({"guide_id", "id", "last_updated_at"} <= set(r) for r in served)
