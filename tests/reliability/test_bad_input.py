"""Bad input, table-driven: every case ends with exit code 1, one CRITICAL line that
names the problem and the fix, no traceback, nothing on stdout but Singer messages,
and the integration key nowhere.

Config, catalog and state are checked before any request: those cases also check
that the scripted Pendo was never called. API cases point `api_url` at a scripted
Pendo (tests/support/scripted.py) that answers the bad thing. Catalogs are the ones
tap-pendo discovers (the `catalogs` fixture), altered where a case says so.

Pinned clock (tests/support/moments.py): MONTH_END_KOLKATA, 1 June 2026; the runs'
start_date lies three days before it, in May. The answers' times are that moment's.
"""

import json
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest

from tests.support import moments
from tests.support.failures import assert_clean_failure
from tests.support.moments import DAY_MS, rfc3339
from tests.support.scripted import Answer, ScriptedPendo
from tests.support.secret import SECRET_KEY
from tests.support.tap import discover, run_tap, select

DROP = object()  # a config key to leave out
NOW_MS = moments.MONTH_END_KOLKATA


def results(rows) -> bytes:
    return json.dumps({"startTime": NOW_MS, "results": rows}).encode()


FEATURE = {
    "id": "f1",
    "appId": -323232,
    "name": "Export",
    "lastUpdatedAt": NOW_MS - DAY_MS,
    "createdAt": NOW_MS - 9 * DAY_MS,
    "dirty": False,
}
VISITOR = {
    "visitorId": "v1",
    "metadata": {
        "auto": {
            "lastupdated": NOW_MS - DAY_MS,
            "firstvisit": NOW_MS - 2 * DAY_MS,
            "lastvisit": NOW_MS - 3_600_000,
        }
    },
}


def good_pendo(method, path, query, body) -> Answer:
    """A Pendo that answers everything well: the default script."""
    if path.startswith("/api/v1/metadata/schema/"):
        return Answer(body=b"{}")
    if path == "/api/v1/aggregation":
        source = next(iter(json.loads(body)["request"]["pipeline"][0]["source"]))
        return Answer(body=results([VISITOR] if source == "visitors" else [FEATURE]))
    if path.startswith("/api/v1/visitor/"):
        return Answer(body=b"[]")
    return Answer(404, b"not found", {"Content-Type": "text/plain"})


def on_aggregation(answer: Answer) -> Callable:
    """The good Pendo, except that every aggregation gets `answer`."""
    return lambda m, p, q, b: answer if p == "/api/v1/aggregation" else good_pendo(m, p, q, b)


def on_metadata(answer: Answer) -> Callable:
    return lambda m, p, q, b: answer if "/metadata/" in p else good_pendo(m, p, q, b)


def on_history(answer: Answer) -> Callable:
    return lambda m, p, q, b: answer if p.startswith("/api/v1/visitor/") else good_pendo(m, p, q, b)


def feature_rows(*rows) -> Callable:
    return on_aggregation(Answer(body=results(list(rows))))


# Answers Pendo should never give: the fix is to check where api_url points, or to report it.
ODD_ANSWER_FIX = r"api_url|region|report|upgrade|check|contact"

HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>nginx</p></body></html>"
)
HTML_200 = Answer(
    body=HTML.replace(b"502 Bad Gateway", b"Maintenance"), headers={"Content-Type": "text/html"}
)


@dataclass
class Case:
    """One bad input and the message it must give."""

    problem: str  # regex the CRITICAL line must match: what is wrong
    fix: Optional[str]  # regex it must match: what to do
    config: dict = field(default_factory=dict)  # changes to the good config; DROP removes
    raw_config: Optional[str] = None  # the config file's text, instead
    # a stream to select, a function of the `catalogs` fixture, None, or raw text
    catalog: object = "features"
    state: object = None  # a state dict, or raw text (str)
    script: Callable = good_pendo
    discover: bool = False
    requests: bool = True  # False: it must fail before any request


def good_config(url: str) -> dict:
    return {
        "x_pendo_integration_key": SECRET_KEY,
        "api_url": url,
        "start_date": rfc3339(NOW_MS - 3 * DAY_MS),
        "max_retries": 1,
    }


def with_unknown_stream(catalogs) -> dict:
    catalog = select(catalogs(), ["features"])
    widgets = json.loads(json.dumps(catalog["streams"][0]))
    widgets["tap_stream_id"] = widgets["stream"] = "widgets"
    catalog["streams"].append(widgets)
    return catalog


def with_missing_field(catalogs) -> dict:
    catalog = select(catalogs(), ["features"])
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "features")
    entry["metadata"].append(
        {
            "breadcrumb": ["properties", "colour"],
            "metadata": {"selected": True, "inclusion": "available"},
        }
    )
    return catalog


def config_case(problem, fix, **config):
    return Case(problem, fix, config=config, requests=False)


CASES = {
    # -- config ---------------------------------------------------------------
    "config-missing-key": config_case(
        r"missing 'x_pendo_integration_key'.*'datasync_url'",
        r"add one of them",
        x_pendo_integration_key=DROP,
    ),
    "config-missing-start-date": config_case(
        r"missing 'start_date'", r"add an RFC3339 date", start_date=DROP
    ),
    "config-key-not-a-string": config_case(
        r"'x_pendo_integration_key'", r"must be a string", x_pendo_integration_key=12345
    ),
    # A key pasted with an invisible character, or broken over two lines: the key is
    # no valid header value. One line, and no piece of the key on any output.
    "config-key-not-latin-1": Case(
        r"'x_pendo_integration_key'",
        r"charact|paste|invalid|letters",
        config={"x_pendo_integration_key": SECRET_KEY + "\u200b"},
        discover=True,
    ),
    "config-key-with-a-newline": Case(
        r"'x_pendo_integration_key'",
        r"charact|paste|invalid|line",
        config={"x_pendo_integration_key": SECRET_KEY.replace("-0b5d", "\n-0b5d")},
        discover=True,
    ),
    "config-date-wrong-type": config_case(
        r"'start_date'", r"RFC3339 date string such as", start_date=20240101
    ),
    "config-impossible-date": config_case(
        r"'start_date' is '2024-02-30T00:00:00Z', not a valid RFC3339 date",
        r"use e\.g\.",
        start_date="2024-02-30T00:00:00Z",
    ),
    "config-impossible-end-date": config_case(
        r"'end_date' is '2026-13-01T00:00:00Z'", r"use e\.g\.", end_date="2026-13-01T00:00:00Z"
    ),
    "config-end-before-start": config_case(
        r"'end_date'", r"must be later than 'start_date'", end_date="2001-01-01T00:00:00Z"
    ),
    "config-unknown-period": config_case(
        r"'period' is 'weekRange'", r"use 'dayRange' or 'hourRange'", period="weekRange"
    ),
    "config-unknown-region": config_case(
        r"'region' is 'mars'", r"use one of us", region="mars", api_url=DROP
    ),
    "config-app-ids-not-integers": config_case(
        r"'app_ids' holds ' ?abc'.*not an integer app id", r"use e\.g\.", app_ids="123, abc"
    ),
    "config-app-ids-floats": config_case(r"'app_ids' holds 1\.5", r"use e\.g\.", app_ids=[1.5]),
    "config-app-ids-wrong-type": config_case(
        r"'app_ids'", r"must be a comma-separated string or a list of integers", app_ids={"app": 1}
    ),
    "config-negative-record-limit": config_case(
        r"'record_limit' is -5", r"at least 1", record_limit=-5
    ),
    "config-negative-lookback": config_case(
        r"'lookback_window' is -1", r"at least 0", lookback_window=-1
    ),
    "config-negative-max-retries": config_case(
        r"'max_retries' is -2", r"at least 0", max_retries=-2
    ),
    "config-zero-concurrency": config_case(
        r"'max_concurrent_requests' is 0", r"at least 1", max_concurrent_requests=0
    ),
    "config-number-wrong-type": config_case(
        r"'record_limit' is 'lots'", r"use a number", record_limit="lots"
    ),
    "config-timeout-wrong-type": config_case(
        r"'request_timeout'", r"use a number", request_timeout=[30]
    ),
    "config-boolean-wrong-type": config_case(
        r"'include_anonymous_visitors' is 'yes'",
        r"use true or false",
        include_anonymous_visitors="yes",
    ),
    "config-bad-api-url": config_case(
        r"'api_url' is 'ftp://pendo'", r"use a URL such as", api_url="ftp://pendo"
    ),
    "config-not-json": Case(
        r"config file .*config-raw\.json is not valid JSON",
        r"JSON",
        raw_config='{x_pendo_integration_key: "' + SECRET_KEY + '", start_date: 2024-01-01}',
        requests=False,
    ),
    "config-not-an-object": Case(
        r"config file must hold a JSON object",
        r"such as sample_config\.json",
        raw_config=json.dumps([SECRET_KEY]),
        requests=False,
    ),
    "config-file-missing": Case(
        r"cannot read the config file .*config-raw\.json",
        r"No such file",
        raw_config=None,
        config={"__missing__": True},
        requests=False,
    ),
    # -- catalog --------------------------------------------------------------
    "catalog-not-a-catalog": Case(
        r"not a Singer catalog",
        r"run tap-pendo --discover",
        catalog={"tables": [{"name": "features"}]},
        requests=False,
    ),
    "catalog-not-json": Case(
        r"catalog file .* is not valid JSON", r"JSON", catalog="{streams: [", requests=False
    ),
    "catalog-unknown-stream": Case(
        r"stream 'widgets', which tap-pendo does not have",
        r"run tap-pendo --discover",
        catalog=with_unknown_stream,
        requests=False,
    ),
    "catalog-selected-field-missing": Case(
        r"field 'colour' of stream 'features', which the stream does not have",
        r"run tap-pendo --discover",
        catalog=with_missing_field,
        requests=False,
    ),
    "catalog-other-period": Case(
        r"stream 'events' in the catalog has no field day",
        r"discover again",
        catalog=lambda catalogs: select(catalogs("hourRange"), ["events"]),
        requests=False,
    ),
    "catalog-missing": Case(r"--catalog", r"tap-pendo --discover", catalog=None, requests=False),
    # -- state ----------------------------------------------------------------
    "state-not-json": Case(
        r"state file .* is not valid JSON", r"JSON", state="{'bookmarks': {}}", requests=False
    ),
    "state-not-an-object": Case(
        r"state file must hold a JSON object",
        r'such as \{"bookmarks"',
        state=json.loads("[1, 2]"),
        requests=False,
    ),
    "state-bookmark-not-a-date": Case(
        r"'features\.last_updated_at' is 'last tuesday', not an RFC3339 date",
        r"fix it,? or remove it",
        state={"bookmarks": {"features": {"last_updated_at": "last tuesday"}}},
        requests=False,
    ),
    "state-window-start-not-a-date": Case(
        r"'events\.window_start' is 42",
        r"fix it,? or remove it",
        catalog="events",
        state={"bookmarks": {"events": {"day": "2026-01-01T00:00:00Z", "window_start": 42}}},
        requests=False,
    ),
    "state-from-another-tap": Case(
        r"bookmarks for orders, users, which are not tap-pendo streams",
        r"another tap",
        state={
            "currently_syncing": "orders",
            "bookmarks": {"orders": {"updated_at": "2024-01-01T00:00:00Z"}, "users": {"id": 42}},
        },
        requests=False,
    ),
    "state-other-period": Case(
        r"'events' bookmark is by 'hour'",
        r"set period back",
        catalog="events",
        state={"bookmarks": {"events": {"hour": "2026-01-01T00:00:00Z"}}},
        requests=False,
    ),
    # -- API ------------------------------------------------------------------
    "api-401": Case(
        r"integration key was refused by {host} \(401\)",
        r"check the key and the region",
        script=lambda *a: Answer(401, b'{"message": "unauthorized"}'),
        discover=True,
    ),
    "api-403-on-sync": Case(
        r"integration key was refused by {host} \(403\)",
        r"check the key and the region",
        script=on_aggregation(Answer(403, b"Forbidden", {"Content-Type": "text/plain"})),
    ),
    "api-404": Case(
        r"404.*/api/v1/aggregation",
        ODD_ANSWER_FIX,
        script=on_aggregation(Answer(404, b"404 page not found", {"Content-Type": "text/plain"})),
    ),
    "api-400-filter-error": Case(
        r"400.*Cannot parse filter expression: unexpected token",
        ODD_ANSWER_FIX,
        script=on_aggregation(
            Answer(
                400,
                b"Cannot parse filter expression: unexpected token '&&' at 17",
                {"Content-Type": "text/plain"},
            )
        ),
    ),
    "api-html-error-page-5xx": Case(
        r"gave up on .*502",
        r"run again later",
        script=on_aggregation(Answer(502, HTML, {"Content-Type": "text/html"})),
    ),
    # A 200 that is not JSON is a proxy's or a maintenance page: the run ends at once.
    "api-html-page-200-metadata": Case(
        r"answered the request for metadata_accounts with text/html, not Pendo's JSON",
        r"check api_url or the region, and any proxy",
        script=on_metadata(HTML_200),
        discover=True,
    ),
    "api-html-page-200-aggregation": Case(
        r"answered the request for features .*with text/html, not Pendo's JSON",
        r"check api_url or the region, and any proxy",
        script=on_aggregation(HTML_200),
    ),
    "api-empty-body-metadata": Case(
        r"metadata_accounts is not JSON or stopped part-way \(empty body\)",
        r"run again later",
        script=on_metadata(Answer(body=b"")),
        discover=True,
    ),
    "api-empty-body-aggregation": Case(
        r"features", r"run again later", script=on_aggregation(Answer(body=b""))
    ),
    "api-not-json": Case(
        r"features.*(not JSON|stopped part-way)",
        r"run again later",
        script=on_aggregation(Answer(body=b"hello, this is not JSON")),
    ),
    "api-metadata-not-an-object": Case(
        r"answered list where Pendo.s metadata schema \(a JSON object\) was expected "
        r"from /api/v1/metadata/schema/account",
        ODD_ANSWER_FIX,
        script=on_metadata(Answer(body=b"[1, 2, 3]")),
        discover=True,
    ),
    "api-truncated-after-all-retries": Case(
        r"gave up on features .*stopped part-way",
        r"run again later",
        script=on_aggregation(Answer(body=results([FEATURE])[:40])),
    ),
    "api-cut-connection-after-all-retries": Case(
        r"gave up on features",
        r"run again later",
        script=on_aggregation(Answer(body=results([FEATURE]), cut_at=30)),
    ),
    "api-reset-after-all-retries": Case(
        r"gave up on metadata_accounts .*Connection",
        r"run again later",
        script=on_metadata(Answer(reset=True)),
        discover=True,
    ),
    "api-429-after-all-retries": Case(
        r"gave up on features .*429",
        r"run again later",
        script=on_aggregation(Answer(429, b"slow down", {"Retry-After": "0"})),
    ),
    "api-history-not-a-list": Case(
        r"stream 'visitor_history'.*where a list was expected",
        ODD_ANSWER_FIX,
        catalog="visitor_history",
        script=on_history(Answer(body=b'{"items": []}')),
    ),
    # -- rows of unexpected types -----------------------------------------------
    "rows-time-not-a-time": Case(
        r"stream 'features', field 'last_updated_at'.*'yesterday'",
        r"rerun discovery",
        script=feature_rows({**FEATURE, "lastUpdatedAt": "yesterday"}),
    ),
    "rows-object-where-string": Case(
        r"stream 'features', field 'id'",
        r"rerun discovery",
        script=feature_rows({**FEATURE, "id": {"nested": 1}}),
    ),
    "rows-null-key": Case(
        r"stream 'features', field 'id'",
        r"rerun discovery",
        script=feature_rows({**FEATURE, "id": None}),
    ),
    "rows-metadata-group-not-an-object": Case(
        r"stream 'accounts', field 'metadata_custom'",
        r"rerun discovery",
        catalog="accounts",
        script=on_aggregation(
            Answer(
                body=results(
                    [
                        {
                            "accountId": "a1",
                            "metadata": {"auto": {"lastupdated": NOW_MS}, "custom": "seats=4"},
                        }
                    ]
                )
            )
        ),
    ),
    "rows-not-objects": Case(
        r"stream 'features'.*not an object|stream 'features'.*'a row that is a string'",
        ODD_ANSWER_FIX,
        script=feature_rows("a row that is a string"),
    ),
}


def write_raw(tmp_path, name, text) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_with_one_clear_line(name, catalogs, tmp_path):
    case = CASES[name]
    with ScriptedPendo(case.script) as pendo:
        config = good_config(pendo.url)
        for key, value in case.config.items():
            if value is DROP:
                config.pop(key, None)
            elif not key.startswith("__"):
                config[key] = value
        extra = []
        if case.raw_config is not None:
            extra += ["--config", write_raw(tmp_path, "config-raw.json", case.raw_config)]
        elif "__missing__" in case.config:
            extra += ["--config", str(tmp_path / "config-raw.json")]
        catalog = case.catalog
        if callable(catalog):
            catalog = catalog(catalogs)
        elif isinstance(catalog, str) and catalog.isidentifier():
            catalog = select(catalogs(), [catalog])
        elif isinstance(catalog, str):
            extra += ["--catalog", write_raw(tmp_path, "catalog-raw.json", catalog)]
            catalog = None
        state = case.state
        if isinstance(state, str):
            extra += ["--state", write_raw(tmp_path, "state-raw.json", state)]
            state = None
        run = run_tap(
            tmp_path,
            None if extra and extra[0] == "--config" else config,
            now_ms=NOW_MS,
            catalog=None if case.discover else catalog,
            state=state,
            discover=case.discover,
            args=extra,
        )
        line = assert_clean_failure(run, case.problem.format(host=pendo.host), case.fix)
        if not case.requests:
            assert pendo.requests == [], f"requests were sent before the input was checked: {line}"
        for _, _, headers in pendo.requests:
            assert headers.get("x-pendo-integration-key") == SECRET_KEY
    if case.discover:
        assert run.stdout.strip() == "", "a failed discovery printed a catalog"


def test_at_least_25_cases_cover_every_kind():
    assert len(CASES) >= 25
    kinds = {name.split("-")[0] for name in CASES}
    assert kinds == {"config", "catalog", "state", "api", "rows"}


# -- coercion: rows of unexpected types that the schema can hold ------------------


def test_rows_of_unexpected_types_are_coerced_where_the_schema_allows(tmp_path):
    odd_feature = {
        "id": 123,
        "appId": "-323232",
        "name": 42,
        "lastUpdatedAt": str(NOW_MS),
        "createdAt": float(NOW_MS - DAY_MS),
        "dirty": "true",
        "kind": None,
    }
    odd_account = {
        "accountId": 77,
        "metadata": {
            "auto": {"lastupdated": str(NOW_MS)},
            "custom": {"seats": "42", "ratio": "0.5", "renewal": str(NOW_MS)},
        },
    }
    account_schema = {  # Pendo's metadata schema of accounts: discovery types the fields
        "custom": {
            "seats": {"Type": "integer"},
            "ratio": {"Type": "float"},
            "renewal": {"Type": "time"},
        }
    }

    def script(method, path, query, body):
        if path == "/api/v1/metadata/schema/account":
            return Answer(body=json.dumps(account_schema))
        if path == "/api/v1/aggregation":
            source = next(iter(json.loads(body)["request"]["pipeline"][0]["source"]))
            return Answer(body=results([odd_account] if source == "accounts" else [odd_feature]))
        return good_pendo(method, path, query, body)

    with ScriptedPendo(script) as pendo:
        config = good_config(pendo.url)
        catalog = select(discover(tmp_path / "discover", config, NOW_MS), ["features", "accounts"])
        run = run_tap(tmp_path / "sync", config, now_ms=NOW_MS, catalog=catalog).ok()

    assert "Traceback" not in run.stderr
    (feature,) = run.records["features"]
    assert feature == {
        "id": "123",
        "app_id": -323232,
        "name": "42",
        "last_updated_at": rfc3339(NOW_MS),
        "created_at": rfc3339(NOW_MS - DAY_MS),
        "dirty": True,
        "kind": None,
    }
    (account,) = run.records["accounts"]
    assert account["account_id"] == "77"
    assert account["lastupdated"] == rfc3339(NOW_MS)
    assert account["metadata_custom"] == {"seats": 42, "ratio": 0.5, "renewal": rfc3339(NOW_MS)}
