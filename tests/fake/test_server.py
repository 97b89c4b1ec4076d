"""The fake's HTTP server over a small, hand-made dataset: endpoints, auth, faults, log."""

import http.client
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import ijson
import pytest
import requests

from tests.fake_pendo import FakePendo
from tests.fake_pendo.query import EVERY_APP
from tests.fake_pendo.server import FakePendoServer, Fault, Faults

ROOT = Path(__file__).resolve().parents[2]
KEY = "secret-key"
HEADERS = {"x-pendo-integration-key": KEY, "content-type": "application/json"}
DEFAULT_APP, OTHER_APP = -323232, 7
HOUR = 3_600_000
DAY0 = 1_699_938_000_000  # 14 Nov 2023 00:00 in New York
NOW = DAY0 + 30 * HOUR  # 15 Nov 2023 06:00 in New York


class StubDataset:
    """The Dataset interface over a few fixed rows; `big` event rows on demand."""

    tz = "America/New_York"
    apps = [DEFAULT_APP, OTHER_APP]
    default_app = DEFAULT_APP

    def __init__(self, big=0):
        self.now_ms = NOW
        self.big = big
        self.event_calls = []
        self.apps_of = {"acme": {DEFAULT_APP}, "beta": {OTHER_APP}, "idle": set()}

    def advance(self, hours):
        self.now_ms += int(hours * HOUR)

    def entities(self, source):
        if source == "accounts":
            return [{"accountId": a} for a in self.apps_of]
        if source == "visitors":
            return [{"visitorId": "v1"}, {"visitorId": "_PENDO_T_anon"}]
        return [{"id": f"{source}-{app}", "appId": app} for app in self.apps]

    def account_apps(self, account_id):
        return self.apps_of[account_id]

    def first_activity_ms(self):
        return DAY0 - 24 * HOUR

    def event_rows(self, source, period, starts):
        self.event_calls.append((source, period, list(starts)))
        field = "day" if period == "dayRange" else "hour"
        for start in starts:
            for app in self.apps:
                for feature in ("f1", "f2"):
                    yield {"visitorId": "v1", "appId": app, "featureId": feature, field: start}
            for i in range(self.big):
                yield {"visitorId": f"v{i}", "appId": DEFAULT_APP, "numEvents": i, field: start}

    def metadata_schema(self, kind):
        return {"custom": {f"{kind}_region": {"Type": "string"}}}

    def history(self, visitor_id, starttime_ms):
        return [{"type": "page", "ts": starttime_ms, "visitorId": visitor_id}]

    def entity_list(self, kind, expand):
        apps = self.apps if expand else [self.default_app]
        return [{"kind": kind, "appId": app} for app in apps]

    def segments(self):
        return [{"id": "s1", "name": 'Zoë "q"'}, {"id": "s2", "pipeline": [{"source": None}]}]

    def reports(self):
        return [{"id": "r1", "kind": "funnel"}]


def truth_stub(stream, **settings):
    return [{"stream": stream, **settings}]


@pytest.fixture
def server():
    fake = FakePendoServer(StubDataset(), KEY, truth=truth_stub)
    fake.slept = []
    fake.sleep = fake.slept.append  # no test waits: sleeps are recorded
    fake.start()
    yield fake
    fake.stop()


def aggregate(server, source, *steps, headers=HEADERS, time_series=None):
    spec = dict(source)
    if time_series:
        spec["timeSeries"] = time_series
    body = {"response": {"mimeType": "application/json"}}
    body["request"] = {"requestId": "t", "pipeline": [{"source": spec}, *steps]}
    return requests.post(f"{server.url}/api/v1/aggregation", json=body, headers=headers, timeout=10)


def results(response):
    assert response.status_code == 200, response.text
    return response.json()["results"]


DAY = {"period": "dayRange", "first": DAY0, "count": 1}


# ---- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"x-pendo-integration-key": "wrong"}])
def test_a_missing_or_wrong_key_gets_403_with_an_empty_body(server, headers):
    assert aggregate(server, {"accounts": None}, headers=headers).status_code == 403
    paths = ("metadata/schema/account", "page", "visitor/v1/history?starttime=0", "nope")
    for path in (*paths, "segment", "report"):
        response = requests.get(f"{server.url}/api/v1/{path}", headers=headers, timeout=10)
        assert (response.status_code, response.content) == (403, b"")
    log = server.log.snapshot()
    assert log["responses"]["4xx"] == 7
    assert (log["requests"]["segment"], log["requests"]["report"]) == (1, 1)


# ---- aggregation ------------------------------------------------------------------------------


def test_start_time_is_the_clock_without_a_time_series_and_results_pass_the_steps(server):
    response = aggregate(server, {"features": {"appId": EVERY_APP}}, {"sort": ["-appId"]})
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.json() == {
        "startTime": NOW,
        "results": [
            {"id": "features-7", "appId": OTHER_APP},
            {"id": "features--323232", "appId": DEFAULT_APP},
        ],
    }


@pytest.mark.parametrize(
    "series, start_time, periods",
    [
        (DAY, DAY0, [DAY0]),
        ({**DAY, "first": DAY0 + 5 * HOUR + 17}, DAY0, [DAY0]),
        ({**DAY, "first": NOW, "count": -1}, DAY0, [DAY0]),
        ({**DAY, "first": "now()"}, DAY0 + 24 * HOUR, [DAY0 + 24 * HOUR]),
        ({"period": "hourRange", "first": NOW + 1, "count": 0}, NOW, []),
        ({"period": "hourRange", "first": NOW + 10 * HOUR + 5, "count": 2}, NOW + 10 * HOUR, []),
        ({"period": "dayRange", "first": DAY0 + HOUR, "last": DAY0}, DAY0, []),
    ],
)
def test_start_time_is_the_start_of_the_first_period_even_without_rows(
    server, series, start_time, periods
):
    answer = aggregate(server, {"events": None}, time_series=series).json()
    assert answer["startTime"] == start_time
    assert sorted({row["day" if "day" in row else "hour"] for row in answer["results"]}) == periods
    filtered = aggregate(server, {"events": None}, {"filter": "x == 1"}, time_series=series)
    assert filtered.json() == {"startTime": start_time, "results": []}


@pytest.mark.parametrize(
    "params, expected",
    [
        (None, [DEFAULT_APP]),
        ({}, [DEFAULT_APP]),
        ({"appId": None}, [DEFAULT_APP]),
        ({"appId": OTHER_APP}, [OTHER_APP]),
        ({"appId": [OTHER_APP, DEFAULT_APP]}, [DEFAULT_APP, OTHER_APP]),
        ({"appId": EVERY_APP}, [DEFAULT_APP, OTHER_APP]),
    ],
)
def test_app_id_forms(server, params, expected):
    assert [r["appId"] for r in results(aggregate(server, {"pages": params}))] == expected


def test_accounts_belong_to_the_apps_they_are_active_in(server):
    def account_ids(params):
        return [r["accountId"] for r in results(aggregate(server, {"accounts": params}))]

    assert account_ids(None) == ["acme"]
    assert account_ids({"appId": OTHER_APP}) == ["beta"]
    assert account_ids({"appId": EVERY_APP}) == ["acme", "beta"]


def test_an_entity_id_does_not_widen_the_apps(server):
    rows = results(aggregate(server, {"featureEvents": {"featureId": "f1"}}, time_series=DAY))
    assert rows == [{"visitorId": "v1", "appId": DEFAULT_APP, "featureId": "f1", "day": DAY0}]
    rows = results(
        aggregate(server, {"featureEvents": {"appId": EVERY_APP}}, time_series=DAY),
    )
    assert len(rows) == 4


def test_visitors_identified(server):
    ids = [r["visitorId"] for r in results(aggregate(server, {"visitors": {"identified": True}}))]
    assert ids == ["v1"]
    assert len(results(aggregate(server, {"visitors": None}))) == 2
    assert len(results(aggregate(server, {"visitors": {"identified": None}}))) == 2


def test_null_entity_ids_mean_every_entity(server):
    params = {"featureId": None, "appId": None}
    rows = results(aggregate(server, {"featureEvents": params}, time_series=DAY))
    assert [(r["appId"], r["featureId"]) for r in rows] == [
        (DEFAULT_APP, "f1"),
        (DEFAULT_APP, "f2"),
    ]


def test_time_series_periods_reach_the_dataset_from_first_activity_to_now(server):
    series = {"period": "hourRange", "first": NOW - 2 * HOUR, "last": NOW + 10 * HOUR}
    rows = results(aggregate(server, {"events": None}, time_series=series))
    hours = [NOW - 2 * HOUR, NOW - HOUR, NOW]
    assert server.dataset.event_calls == [("events", "hourRange", hours)]
    assert sorted({r["hour"] for r in rows}) == hours
    results(aggregate(server, {"events": None}, time_series={**DAY, "first": "now()"}))
    assert server.dataset.event_calls[-1] == ("events", "dayRange", [DAY0 + 24 * HOUR])
    everything = {"period": "dayRange", "first": 0, "last": "now()"}
    results(aggregate(server, {"events": None}, time_series=everything))
    days = [DAY0 - 24 * HOUR, DAY0, DAY0 + 24 * HOUR]
    assert server.dataset.event_calls[-1] == ("events", "dayRange", days)


@pytest.mark.parametrize(
    "source, steps, message",
    [
        ({"accounts": None}, [{"skip": 10}], "unknown step type 'skip'"),
        ({"accounts": None}, [{"filter": "accountId = 'acme'"}], "Cannot parse filter expression"),
        ({"accounts": {"appId": "-323232"}}, [], "bad parameters for source type accounts"),
        ({"visitors": {"appId": 7}}, [], "bad parameters for source type visitors"),
        ({"events": None}, [], "bad parameters for source type events"),
        ({"everything": None}, [], "bad parameters for source type everything"),
    ],
)
def test_bad_requests_get_400_in_plain_text(server, source, steps, message):
    response = aggregate(server, source, *steps)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == message


def test_a_body_that_is_not_json_gets_400(server):
    url = f"{server.url}/api/v1/aggregation"
    assert requests.post(url, data=b"{", headers=HEADERS, timeout=10).status_code == 400


def test_a_big_answer_is_streamed(server):
    server.dataset.big = 200_000
    body = {"request": {"pipeline": [{"source": {"events": None, "timeSeries": DAY}}]}}
    with requests.post(
        f"{server.url}/api/v1/aggregation", json=body, headers=HEADERS, stream=True, timeout=30
    ) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        response.raw.decode_content = True
        count = sum(1 for _ in ijson.items(response.raw, "results.item"))
    assert count == 200_002
    assert server.log.snapshot()["bytes_sent"] > 200_000 * 50


def test_keep_alive(server):
    connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
    sockets = []
    for _ in range(3):
        connection.request("GET", "/api/v1/page", headers=HEADERS)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())[0]["kind"]) == (200, "page")
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is sockets[1] is sockets[2] is not None


# ---- the other endpoints ------------------------------------------------------------------------


def get(server, path, **kwargs):
    return requests.get(f"{server.url}{path}", headers=HEADERS, timeout=10, **kwargs)


def test_metadata_schema(server):
    assert get(server, "/api/v1/metadata/schema/visitor").json() == {
        "custom": {"visitor_region": {"Type": "string"}}
    }
    assert get(server, "/api/v1/metadata/schema/page").status_code == 404


def test_history_decodes_the_visitor_id(server):
    visitor = 'we/ird id@x "q" \\ é+'
    response = get(server, f"/api/v1/visitor/{quote(visitor, safe='')}/history?starttime=123")
    assert response.json() == [{"type": "page", "ts": 123, "visitorId": visitor}]
    assert get(server, "/api/v1/visitor/a/b/history?starttime=1").status_code == 404
    assert get(server, "/api/v1/visitor/v1/history").status_code == 400
    assert get(server, "/api/v1/visitor/v1/history?starttime=soon").status_code == 400


def test_segments_and_reports_are_one_array_each_whatever_the_query(server):
    for query in ("", "?expand=*", "?appId=7&limit=1"):
        assert get(server, f"/api/v1/segment{query}").json() == server.dataset.segments()
        assert get(server, f"/api/v1/report{query}").json() == server.dataset.reports()
    response = get(server, "/api/v1/segment")
    assert response.headers["content-type"] == "application/json"
    assert get(server, "/api/v1/segments").status_code == 404
    assert get(server, "/api/v1/report/r1").status_code == 404
    url = f"{server.url}/api/v1/segment"
    assert requests.post(url, json={}, headers=HEADERS, timeout=10).status_code == 404


def test_entity_lists_with_and_without_expand(server):
    assert [r["appId"] for r in get(server, "/api/v1/guide").json()] == [DEFAULT_APP]
    for query in ("?expand=*", "?expand=%2A"):
        expanded = get(server, f"/api/v1/tracktype{query}").json()
        assert [r["appId"] for r in expanded] == [DEFAULT_APP, OTHER_APP]
    assert get(server, "/api/v1/guides").status_code == 404


# ---- faults ---------------------------------------------------------------------------------------


def test_429_has_retry_after(server):
    server.faults.update(p429=1.0, retry_after=3)
    response = get(server, "/api/v1/page")
    assert (response.status_code, response.headers["retry-after"]) == (429, "3")
    assert server.log.snapshot()["faults"]["429"] == 1


def test_5xx(server):
    server.faults.update(p5xx=1.0)
    statuses = {aggregate(server, {"accounts": None}).status_code for _ in range(20)}
    assert statuses == {500, 502, 503}
    assert server.log.snapshot()["responses"]["5xx"] == 20


def test_reset_connection(server):
    server.faults.update(preset=1.0)
    with pytest.raises(requests.ConnectionError):
        aggregate(server, {"accounts": None})
    assert server.log.snapshot()["faults"]["reset"] == 1
    server.faults.update(preset=0.0)
    assert results(aggregate(server, {"accounts": None}))


def test_truncated_body_is_json_that_fails_to_parse(server):
    server.dataset.big = 5000
    server.faults.update(ptruncate=1.0)
    for _ in range(5):
        response = aggregate(server, {"events": None}, time_series=DAY)
        assert response.status_code == 200
        assert response.content.startswith(b'{"startTime":%d,"results":[' % DAY0)
        with pytest.raises(ValueError):
            json.loads(response.content)
    assert aggregate(server, {"accounts": None}, {"skip": 1}).status_code == 400
    assert server.log.snapshot()["faults"]["truncate"] == 5
    empty = aggregate(server, {"accounts": None}, {"limit": 0})
    assert empty.content == b'{"startTime":%d,"results":[' % NOW
    with pytest.raises(ValueError):
        json.loads(get(server, "/api/v1/metadata/schema/account").content)


def test_slow_answers_and_latency(server):
    server.faults.update(pslow=1.0, slow_seconds=0.5)
    assert get(server, "/api/v1/page").status_code == 200
    assert server.slept == [0.5]
    server.faults.update(pslow=0.0, latency=0.2)
    assert get(server, "/api/v1/page").status_code == 200
    assert server.slept == [0.5, 0.2]
    server.faults.update(pslow=1.0)
    assert get(server, "/api/v1/page").status_code == 200
    assert server.slept == [0.5, 0.2, 0.2, 0.5]
    assert server.log.snapshot()["faults"]["slow"] == 2


def test_an_html_page_in_place_of_json(server):
    server.faults.update(phtml=1.0)
    for response in (
        aggregate(server, {"accounts": None}),
        get(server, "/api/v1/metadata/schema/account"),
        get(server, "/api/v1/segment"),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text.startswith("<!DOCTYPE html>") and "<form" in response.text
        with pytest.raises(ValueError):
            response.json()
    log = server.log.snapshot()
    assert (log["faults"]["html"], log["responses"]["2xx"]) == (3, 3)
    assert sum(log["faults"].values()) == 3
    server.faults.update(phtml=0.0)
    assert results(aggregate(server, {"accounts": None}))


def test_faults_are_seeded():
    def statuses(seed, **settings):
        faults = Faults(seed, p429=0.3, p5xx=0.3, **settings)
        return [fault and fault.kind for fault in (faults.draw() for _ in range(50))]

    assert statuses(5) == statuses(5)
    assert statuses(5) != statuses(6)
    assert {"429", "5xx", None} == set(statuses(5))
    assert {"429", "5xx", "html", None} == set(statuses(5, phtml=0.3))


def test_faults_leave_control_endpoints_alone(server):
    server.faults.update(p5xx=1.0)
    assert requests.get(f"{server.url}/_fake/log", timeout=10).status_code == 200


@pytest.mark.parametrize(
    "settings",
    [{"p429": 0.7, "p5xx": 0.7}, {"phtml": 0.5, "preset": 0.6}, {"pslow": -1}, {"typo": 1}],
)
def test_bad_fault_settings(server, settings):
    with pytest.raises(ValueError):
        server.faults.update(**settings)
    response = requests.post(f"{server.url}/_fake/faults", json=settings, timeout=10)
    assert response.status_code == 400


# ---- hooks --------------------------------------------------------------------------------------


class Recorder:
    """A hook that records what it sees, and gives one stream's requests a fault."""

    def __init__(self, fault_for=None):
        self.seen = []
        self.done = []
        self.fault_for = fault_for
        self.changed = threading.Condition()

    def arrived(self, request):
        self.seen.append(request)
        if (request.source or request.kind) == self.fault_for:
            return Fault("5xx", 503)
        return None

    def answered(self, request):
        # The server calls this after the answer is sent: the client may be on already.
        with self.changed:
            self.done.append(request.number)
            self.changed.notify_all()

    def wait_done(self, count: int) -> list:
        """`done` once it holds `count` requests (a liveness bound, not a measure)."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.done) >= count, timeout=30)
        return self.done


def test_hooks_see_each_api_request_and_may_choose_its_fault(server):
    recorder, faulty = Recorder(), Recorder(fault_for="history")
    server.hooks = (recorder, faulty)
    assert aggregate(server, {"featureEvents": None}, time_series=DAY).status_code == 200
    assert get(server, "/api/v1/visitor/v1/history?starttime=0").status_code == 503
    assert get(server, "/api/v1/metadata/schema/account").status_code == 200
    assert requests.get(f"{server.url}/_fake/log", timeout=10).status_code == 200
    assert [(r.kind, r.source, r.number) for r in recorder.seen] == [
        ("aggregation", "featureEvents", 1),
        ("history", None, 2),
        ("metadata", None, 3),
    ]
    assert recorder.seen[1].path == "/api/v1/visitor/v1/history"
    # Each answered once, control aside.
    assert recorder.wait_done(3) == faulty.wait_done(3) == [1, 2, 3]
    assert server.log.snapshot()["faults"]["5xx"] == 1
    server.hooks = ()
    assert get(server, "/api/v1/visitor/v1/history?starttime=0").status_code == 200


# ---- log and control ----------------------------------------------------------------------------


def test_the_log_counts_api_requests_only(server):
    aggregate(server, {"accounts": None})
    aggregate(server, {"featureEvents": None}, time_series=DAY)
    aggregate(server, {"featureEvents": None}, {"skip": 1}, time_series=DAY)
    get(server, "/api/v1/metadata/schema/account")
    get(server, "/api/v1/visitor/v1/history?starttime=0")
    get(server, "/api/v1/page?expand=*")
    get(server, "/api/v1/segment")
    get(server, "/api/v1/report")
    get(server, "/api/v1/report")
    get(server, "/api/v2/unknown")
    requests.get(f"{server.url}/_fake/log", timeout=10)
    log = server.log.snapshot()
    assert log["requests"] == {
        "aggregation": 3,
        "metadata": 1,
        "history": 1,
        "entity_list": 1,
        "segment": 1,
        "report": 2,
        "other": 1,
    }
    assert log["total"] == 10
    assert (log["sources"]["accounts"], log["sources"]["featureEvents"]) == (1, 2)
    assert log["responses"] == {"2xx": 8, "4xx": 2, "5xx": 0}
    assert log["bytes_sent"] > 0
    assert set(log) == {
        "requests", "total", "sources", "responses", "faults", "bytes_sent", "time_series",
    }  # fmt: skip
    assert set(log["faults"]) == {"429", "5xx", "reset", "truncate", "slow", "html"}
    assert log["time_series"] == {"requests": 2, "longest_span_ms": 24 * HOUR, "over_25_hours": 0}
    server.log.reset()
    assert server.log.snapshot()["total"] == 0
    assert server.log.snapshot()["time_series"] == {
        "requests": 0,
        "longest_span_ms": 0,
        "over_25_hours": 0,
    }


def test_the_log_records_the_span_of_every_time_series_request(server):
    spans = [
        ({"period": "hourRange", "first": NOW, "count": 24}, 24 * HOUR),
        ({"period": "hourRange", "first": NOW, "count": 25}, 25 * HOUR),
        ({"period": "hourRange", "first": NOW - 1, "last": NOW + 24 * HOUR + 1}, 26 * HOUR),
        ({"period": "dayRange", "first": DAY0 + 5 * HOUR, "last": DAY0 + 24 * HOUR + 1}, 48 * HOUR),
        ({"period": "dayRange", "first": NOW, "count": 0}, 0),
        ({"period": "dayRange", "first": "now()", "last": "now()"}, 24 * HOUR),  # today
        ({"period": "dayRange", "first": DAY0 + HOUR, "last": DAY0}, 0),
        # From 31 Dec 1969 00:00 in New York (19 hours before the epoch) to the end of today.
        ({"period": "dayRange", "first": 0, "last": "now()"}, 19 * HOUR + DAY0 + 48 * HOUR),
    ]
    for series, _ in spans:
        aggregate(server, {"pageEvents": None}, time_series=series)
    aggregate(server, {"events": None}, {"skip": 1}, time_series=spans[0][0])  # a 400 counts
    aggregate(server, {"events": None}, headers={}, time_series=spans[1][0])  # a 403 too
    aggregate(server, {"accounts": None})  # no timeSeries
    aggregate(server, {"events": None}, time_series={"period": "dayRange", "first": "x"})
    assert server.log.spans() == [span for _, span in spans] + [24 * HOUR, 25 * HOUR]
    assert server.log.snapshot()["time_series"] == {
        "requests": 10,
        "longest_span_ms": spans[-1][1],
        "over_25_hours": 3,
    }


def test_control_endpoints(server):
    aggregate(server, {"accounts": None})
    assert requests.get(f"{server.url}/_fake/log", timeout=10).json()["total"] == 1
    assert requests.post(f"{server.url}/_fake/log/reset", timeout=10).json()["total"] == 0
    advanced = requests.post(f"{server.url}/_fake/advance?hours=2", timeout=10).json()
    assert advanced == {"now_ms": NOW + 2 * HOUR}
    assert aggregate(server, {"accounts": None}).json()["startTime"] == NOW + 2 * HOUR
    faults = requests.post(f"{server.url}/_fake/faults", json={"p429": 0.5}, timeout=10).json()
    assert faults["p429"] == 0.5
    assert requests.get(f"{server.url}/_fake/faults", timeout=10).json() == faults
    query = "stream=accounts&period=hourRange&include_anonymous=true&app_ids=1,-2&start=5&end=9"
    assert requests.get(f"{server.url}/_fake/truth?{query}", timeout=10).json() == [
        {
            "stream": "accounts",
            "period": "hourRange",
            "include_anonymous": True,
            "app_ids": [1, -2],
            "start_ms": 5,
            "end_ms": 9,
        }
    ]
    assert requests.get(f"{server.url}/_fake/truth", timeout=10).status_code == 400
    assert requests.get(f"{server.url}/_fake/nothing", timeout=10).status_code == 404
    assert server.log.snapshot()["total"] == 1


def test_stop_closes_idle_connections():
    fake = FakePendoServer(StubDataset(), KEY).start()
    url, session = f"{fake.url}/api/v1/page", requests.Session()
    assert session.get(url, headers=HEADERS, timeout=10).ok
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, headers=HEADERS, timeout=10)


# ---- with the generated dataset ----------------------------------------------------------------


def test_the_facade_serves_the_generated_dataset():
    with FakePendo(scale=0.05, key="k1", start_ms=NOW) as fake_pendo:
        check_the_facade(fake_pendo)


def check_the_facade(fake_pendo):
    headers = {"x-pendo-integration-key": "k1"}
    body = {"request": {"pipeline": [{"source": {"accounts": {"appId": EVERY_APP}}}]}}
    url = f"{fake_pendo.url}/api/v1/aggregation"
    first = requests.post(url, json=body, headers=headers, timeout=30).json()
    assert first["startTime"] == fake_pendo.dataset.now_ms
    assert first["results"]
    fake_pendo.advance(6)
    assert requests.post(url, json=body, headers=headers, timeout=30).json()["startTime"] == (
        first["startTime"] + 6 * HOUR
    )
    assert fake_pendo.log["sources"]["accounts"] == 2
    fake_pendo.reset_log()
    fake_pendo.set_faults(p429=1.0)
    assert requests.post(url, json=body, headers=headers, timeout=30).status_code == 429
    assert fake_pendo.log["faults"]["429"] == 1


def test_the_command_prints_its_url_and_stops_on_sigterm():
    command = [sys.executable, "-m", "tests.fake_pendo", "--port", "0", "--scale", "0.05"]
    command += ["--key", "cli-key", "--p5xx", "0.5", "--phtml", "0.5", "--tz", "Europe/Paris"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        line = process.stdout.readline()
        assert line, process.stderr.read()  # it died before listening: say why
        started = json.loads(line)
        assert started["key"] == "cli-key"
        answers = [
            requests.get(
                f"{started['url']}/api/v1/page",
                headers={"x-pendo-integration-key": "cli-key"},
                timeout=10,
            )
            for _ in range(20)
        ]
        kinds = {
            "5xx" if r.status_code in (500, 502, 503) else r.headers["content-type"]
            for r in answers
        }
        assert kinds == {"5xx", "text/html; charset=utf-8"}
        log = requests.get(f"{started['url']}/_fake/log", timeout=10).json()
        assert log["total"] == 20 and log["faults"]["5xx"] + log["faults"]["html"] == 20
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.stdout.close()
        process.stderr.close()
