"""PendoClient and the keyset pager against requests-mock."""

import json

import pytest
import requests_mock

from tap_pendo import client as client_module
from tap_pendo.client import PendoClient
from tap_pendo.config import load_config
from tap_pendo.errors import PendoError
from tap_pendo.pager import PageDone, keyset_rows

URL = "http://pendo.test"
AGG = URL + "/api/v1/aggregation"
KEY = "very-secret-key"


@pytest.fixture
def sleeps(monkeypatch):
    slept = []
    monkeypatch.setattr(client_module.time, "sleep", slept.append)
    return slept


def make_client(**overrides):
    raw = {
        "x_pendo_integration_key": KEY,
        "start_date": "2026-01-01T00:00:00Z",
        "api_url": URL,
        "max_retries": 3,
        **overrides,
    }
    return PendoClient(load_config(raw))


def results(rows):
    return json.dumps({"startTime": 1, "results": rows})


def test_sends_the_key_header_and_json(sleeps):
    with requests_mock.Mocker() as m:
        m.post(AGG, text=results([{"id": "a"}]))
        rows = list(make_client().stream_aggregation({"x": 1}, "features", "test"))
        assert rows == [{"id": "a"}]
        sent = m.request_history[0]
        assert sent.headers["x-pendo-integration-key"] == KEY
        assert sent.headers["content-type"] == "application/json"
        assert json.loads(sent.body) == {"x": 1}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_is_one_clear_message_naming_the_host(status, sleeps):
    with requests_mock.Mocker() as m:
        m.get(URL + "/api/v1/metadata/schema/account", status_code=status, text="")
        with pytest.raises(PendoError) as error:
            make_client().get_json("/api/v1/metadata/schema/account", "metadata_accounts")
    assert "refused by pendo.test" in str(error.value)
    assert "check the key and the region" in str(error.value)
    assert KEY not in str(error.value)
    assert m.call_count == 1 and sleeps == []


def test_other_4xx_carries_pendo_text(sleeps):
    with requests_mock.Mocker() as m:
        m.post(AGG, status_code=400, text="Cannot parse filter expression")
        with pytest.raises(PendoError, match="400.*Cannot parse filter expression"):
            list(make_client().stream_aggregation({}, "features", "test"))


def test_429_waits_retry_after_then_succeeds(sleeps):
    with requests_mock.Mocker() as m:
        m.post(
            AGG,
            [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"text": results([{"id": 1}])}],
        )
        assert list(make_client().stream_aggregation({}, "features", "t")) == [{"id": 1}]
    assert 7 in sleeps


def test_5xx_and_connection_errors_are_retried_with_backoff(sleeps):
    import requests

    with requests_mock.Mocker() as m:
        m.post(
            AGG,
            [
                {"status_code": 502, "text": "<html>bad gateway</html>"},
                {"exc": requests.ConnectionError("reset")},
                {"text": results([])},
            ],
        )
        assert list(make_client().stream_aggregation({}, "features", "t")) == []
    assert len(sleeps) == 2 and all(0 <= s <= 60 for s in sleeps)


def test_retries_are_bounded_and_the_failure_is_clear(sleeps):
    with requests_mock.Mocker() as m:
        m.post(AGG, status_code=503)
        with pytest.raises(PendoError, match="gave up on features.*after 4 tries.*503"):
            list(make_client().stream_aggregation({}, "features", "t"))
        assert m.call_count == 4


def test_get_json_retries_a_body_that_is_not_json(sleeps):
    with requests_mock.Mocker() as m:
        m.get(URL + "/x", [{"text": '[{"a": 1'}, {"text": "[1]"}])
        assert make_client().get_json("/x", "visitor_history") == [1]


def test_pager_resumes_a_cut_off_page_after_its_last_good_row(sleeps):
    rows = [{"k": i, "id": f"r{i}"} for i in range(5)]
    bodies = []

    def answer(request, context):
        body = request.json()
        bodies.append(body["request"]["pipeline"])
        if len(bodies) == 1:
            # rows 0 and 1, then the body stops mid-JSON
            return results(rows[:3])[: len(results(rows[:2])) - 2]
        return results(rows[2:])

    with requests_mock.Mocker() as m:
        m.post(AGG, text=answer)
        source = {"source": {"things": None}}
        items = list(keyset_rows(make_client(), "things", source, None, ["k", "id"], 10))
    got = [i["id"] for i in items if not isinstance(i, PageDone)]
    assert got == ["r0", "r1", "r2", "r3", "r4"]
    # the second request starts after the last row read, not from the start
    assert bodies[1][1] == {"filter": '(k > 1) || ((k == 1) && (id > "r1"))'}
    assert items[-1] == PageDone(position=[4, "r4"], rows=3)


def test_pager_walks_pages_until_a_short_one(sleeps):
    rows = [{"k": 1, "id": f"r{i}"} for i in range(5)]

    def answer(request, context):
        pipeline = request.json()["request"]["pipeline"]
        done = answer.calls * 2
        answer.calls += 1
        return results(rows[done : done + pipeline[-1]["limit"]])

    answer.calls = 0
    with requests_mock.Mocker() as m:
        m.post(AGG, text=answer)
        items = list(keyset_rows(make_client(), "t", {"source": {"t": None}}, None, ["k", "id"], 2))
    assert [i.position for i in items if isinstance(i, PageDone)] == [
        [1, "r1"],
        [1, "r3"],
        [1, "r4"],
    ]
    assert m.call_count == 3


def test_a_429_pauses_every_worker_of_the_client(sleeps):
    """Retry-After seen by one worker holds back the next request of any other."""
    import threading

    with requests_mock.Mocker() as m:
        m.get(URL + "/a", [{"status_code": 429, "headers": {"Retry-After": "30"}}, {"text": "[]"}])
        m.get(URL + "/b", text="[]")
        client = make_client()
        client.get_json("/a", "visitor_history")
        assert sleeps[0] == 30
        before = len(sleeps)
        other = threading.Thread(target=client.get_json, args=("/b", "visitor_history"))
        other.start()
        other.join()
    # The mocked sleep returns at once, so the pause is still on: the other
    # worker's request waited out (nearly all of) the same 30 seconds.
    assert len(sleeps) == before + 1 and 25 < sleeps[-1] <= 30
