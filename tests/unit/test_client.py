"""PendoClient and the keyset pager against requests-mock."""

import json

import pytest
import requests_mock

from tap_pendo.config import load_config
from tap_pendo.errors import PendoError
from tap_pendo.pendo import client as client_module
from tap_pendo.pendo.client import PendoClient
from tap_pendo.pendo.paging import PageEnd, PagingEnd, keyset_rows

URL = "http://pendo.test"
AGG = URL + "/api/v1/aggregation"
KEY = "very-secret-key"


class FrozenClock:
    """A clock that stands still: a sleep is recorded and returns at once, so a pause the
    client keeps (after a 429) never ends by itself."""

    def __init__(self):
        self.slept = []

    def monotonic(self) -> float:
        return 1000.0

    def now(self) -> float:
        return 1_792_567_620.0  # 2026-10-21T07:27:00Z

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def clock():
    return FrozenClock()


@pytest.fixture
def sleeps(clock):
    return clock.slept


def make_client(clock=None, **overrides):
    raw = {
        "x_pendo_integration_key": KEY,
        "start_date": "2026-01-01T00:00:00Z",
        "api_url": URL,
        "max_retries": 3,
        **overrides,
    }
    return PendoClient(load_config(raw), clock=clock)


JSON = {"Content-Type": "application/json"}


def results(rows):
    return json.dumps({"startTime": 1, "results": rows})


def rows_of(client, stream="features", limit=100):
    """The rows of a one-page aggregation through the pager."""
    items = keyset_rows(client, stream, {"source": {"x": None}}, None, ["id"], limit)
    return [item for item in items if type(item) is dict]


def mock_json(m, method, url, responses=None, **answer):
    """requests-mock answers with a JSON content type unless they say otherwise."""
    if responses is None:
        responses = [answer]
    for response in responses:
        if "exc" not in response:
            response["headers"] = {**JSON, **response.get("headers", {})}
    getattr(m, method)(url, responses)


def test_sends_the_key_header_and_json(sleeps, clock):
    with requests_mock.Mocker() as m:
        mock_json(m, "post", AGG, text=results([{"id": "a"}]))
        rows = rows_of(make_client(clock))
        assert rows == [{"id": "a"}]
        sent = m.request_history[0]
        assert sent.headers["x-pendo-integration-key"] == KEY
        assert sent.headers["content-type"] == "application/json"
        assert json.loads(sent.body)["request"]["pipeline"][0] == {"source": {"x": None}}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_is_one_clear_message_naming_the_host(status, sleeps, clock):
    with requests_mock.Mocker() as m:
        m.get(URL + "/api/v1/metadata/schema/account", status_code=status, text="")
        with pytest.raises(PendoError) as error:
            make_client(clock).get_json("/api/v1/metadata/schema/account", "metadata_accounts")
    assert "refused by pendo.test" in str(error.value)
    assert "check the key and the region" in str(error.value)
    assert KEY not in str(error.value)
    assert m.call_count == 1 and sleeps == []


def test_other_4xx_carries_pendo_text(sleeps, clock):
    with requests_mock.Mocker() as m:
        m.post(AGG, status_code=400, text="Cannot parse filter expression")
        with pytest.raises(PendoError, match="400.*Cannot parse filter expression"):
            rows_of(make_client(clock))


def test_429_waits_retry_after_then_succeeds(sleeps, clock):
    with requests_mock.Mocker() as m:
        mock_json(
            m,
            "post",
            AGG,
            [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"text": results([{"id": 1}])}],
        )
        assert rows_of(make_client(clock)) == [{"id": 1}]
    assert 7 in sleeps


def test_5xx_and_connection_errors_are_retried_with_backoff(sleeps, clock):
    import requests

    with requests_mock.Mocker() as m:
        mock_json(
            m,
            "post",
            AGG,
            [
                {"status_code": 502, "text": "<html>bad gateway</html>"},
                {"exc": requests.ConnectionError("reset")},
                {"text": results([])},
            ],
        )
        assert rows_of(make_client(clock)) == []
    assert len(sleeps) == 2 and all(0 <= s <= 60 for s in sleeps)


def test_retries_are_bounded_and_the_failure_is_clear(sleeps, clock):
    with requests_mock.Mocker() as m:
        m.post(AGG, status_code=503)
        with pytest.raises(PendoError, match="gave up on features.*after 4 tries.*503"):
            rows_of(make_client(clock))
        assert m.call_count == 4


def test_get_json_retries_a_body_that_is_not_json(sleeps, clock):
    with requests_mock.Mocker() as m:
        mock_json(m, "get", URL + "/x", [{"text": '[{"a": 1'}, {"text": "[1]"}])
        assert make_client(clock).get_json("/x", "visitor_history") == [1]


def test_pager_resumes_a_cut_off_page_after_its_last_good_row(sleeps, clock):
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
        mock_json(m, "post", AGG, text=answer)
        source = {"source": {"things": None}}
        items = list(keyset_rows(make_client(clock), "things", source, None, ["k", "id"], 10))
    got = [i["id"] for i in items if not isinstance(i, PageEnd)]
    assert got == ["r0", "r1", "r2", "r3", "r4"]
    # the second request starts after the last row read, not from the start
    assert bodies[1][1] == {"filter": '(k > 1) || ((k == 1) && (id > "r1"))'}
    assert items[-1] == PageEnd(position=[4, "r4"], rows=3)


def test_pager_walks_pages_until_a_short_one(sleeps, clock):
    rows = [{"k": 1, "id": f"r{i}"} for i in range(5)]

    def answer(request, context):
        pipeline = request.json()["request"]["pipeline"]
        done = answer.calls * 2
        answer.calls += 1
        return results(rows[done : done + pipeline[-1]["limit"]])

    answer.calls = 0
    with requests_mock.Mocker() as m:
        mock_json(m, "post", AGG, text=answer)
        items = list(
            keyset_rows(make_client(clock), "t", {"source": {"t": None}}, None, ["k", "id"], 2)
        )
    assert [i.position for i in items if isinstance(i, PageEnd)] == [
        [1, "r1"],
        [1, "r3"],
        [1, "r4"],
    ]
    assert m.call_count == 3


def test_a_429_pauses_every_worker_of_the_client(clock, sleeps):
    """Retry-After seen by one worker holds back the next request of any other."""
    import threading

    with requests_mock.Mocker() as m:
        mock_json(
            m,
            "get",
            URL + "/a",
            [{"status_code": 429, "headers": {"Retry-After": "30"}}, {"text": "[]"}],
        )
        mock_json(m, "get", URL + "/b", text="[]")
        client = make_client(clock)
        client.get_json("/a", "visitor_history")
        assert sleeps == [30, 30]  # the retry's wait, then the pause before its request
        other = threading.Thread(target=client.get_json, args=("/b", "visitor_history"))
        other.start()
        other.join()
    # The clock stands still, so the pause is still on: the other worker's request
    # waited out the same 30 seconds.
    assert sleeps == [30, 30, 30]


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    "header,seconds",
    [("12", 12), ("Wed, 21 Oct 2026 07:28:00 GMT", 60), ("Wed, 21 Oct 2026 07:26:00 GMT", 0)],
)
def test_retry_after_in_seconds_or_as_an_http_date_is_waited_on_429_and_503(
    clock, sleeps, status, header, seconds
):
    """The clock says 07:27:00: an HTTP-date a minute later is 60 seconds; one past is 0."""
    with requests_mock.Mocker() as m:
        mock_json(
            m,
            "get",
            URL + "/a",
            [{"status_code": status, "headers": {"Retry-After": header}}, {"text": "[]"}],
        )
        assert make_client(clock).get_json("/a", "segments") == []
    assert sleeps[0] == seconds


def test_an_unreadable_retry_after_falls_back_to_the_jittered_backoff(clock, sleeps):
    with requests_mock.Mocker() as m:
        mock_json(
            m,
            "get",
            URL + "/a",
            [{"status_code": 503, "headers": {"Retry-After": "soon"}}, {"text": "[]"}],
        )
        assert make_client(clock).get_json("/a", "segments") == []
    # Full jitter after one failure: up to base * 2 seconds.
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 2 * client_module.RETRY_BASE_SECONDS


def test_the_pager_returns_its_end_position_and_pendos_start_time(sleeps, clock):
    def answer(request, context):
        return json.dumps({"startTime": 1700000000000, "results": [{"id": "a"}, {"id": "b"}]})

    with requests_mock.Mocker() as m:
        mock_json(m, "post", AGG, text=answer)
        walk = keyset_rows(make_client(clock), "t", {"source": {"t": None}}, None, ["id"], 10)
        items = []
        while True:
            try:
                items.append(next(walk))
            except StopIteration as stop:
                end = stop.value
                break
    assert end == PagingEnd(position=["b"], start_time=1700000000000)
    assert items[-1] == PageEnd(position=["b"], rows=2)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_html_200_ends_the_run_at_once_naming_host_and_content_type(method, sleeps, clock):
    """A proxy's login page is not retried eight times over three minutes."""
    page = "<html><body>Please sign in</body></html>"
    with requests_mock.Mocker() as m:
        getattr(m, method)(
            URL + ("/x" if method == "get" else "/api/v1/aggregation"),
            text=page,
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        with pytest.raises(PendoError) as error:
            if method == "get":
                make_client(clock).get_json("/x", "segments")
            else:
                rows_of(make_client(clock))
        assert m.call_count == 1
    message = str(error.value)
    assert "pendo.test" in message and "text/html" in message and "proxy" in message
    assert "\n" not in message and sleeps == []


def test_every_try_is_reported_to_the_observer_with_its_status(clock, sleeps):
    seen = []
    config = load_config(
        {"x_pendo_integration_key": KEY, "start_date": "2026-01-01T00:00:00Z", "api_url": URL}
    )
    client = PendoClient(config, observe=lambda *args: seen.append(args), clock=clock)
    with requests_mock.Mocker() as m:
        mock_json(m, "get", URL + "/x", [{"status_code": 503}, {"text": "[]"}])
        assert client.get_json("/x", "segments") == []
    assert [(stream, status) for stream, status, _ in seen] == [
        ("segments", 503),
        ("segments", 200),
    ]
    assert all(seconds == 0 for _, _, seconds in seen)  # the clock stands still
    assert len(sleeps) == 1  # the backoff before the second try
