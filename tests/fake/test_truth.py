"""The ground truth: the contract's records per stream, keys, filters and conversions."""

import re
from collections import Counter

import pytest

from tests.fake_pendo.dataset import DEFAULT_APP, Dataset
from tests.fake_pendo.periods import HOUR_MS, add_periods, period_start
from tests.fake_pendo.truth import (
    PRIMARY_KEYS,
    active_visitor_days,
    primary_key,
    rfc3339,
    snake,
    truth,
)

DAY_MS = 24 * HOUR_MS
START = 1_764_000_000_000 + 17 * 60_000 + 123
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
AGGREGATED_STREAMS = ["events", "feature_events", "page_events", "track_events"]
EVENT_STREAMS = [*AGGREGATED_STREAMS, "guide_events", "poll_events"]


@pytest.fixture(scope="module")
def dataset():
    return Dataset(seed=1, start_ms=START)


@pytest.fixture(scope="module")
def records(dataset):
    """truth() of the module's dataset, each answer computed once: the dataset never changes."""
    answers = {}

    def records(stream, **settings):
        settings = {"period": "dayRange", "include_anonymous": False, "start_ms": 0, **settings}
        key = (stream, tuple(sorted((name, repr(value)) for name, value in settings.items())))
        if key not in answers:
            answers[key] = truth(dataset, stream, **settings)
        return answers[key]

    return records


def ms(text):
    """RFC3339 back to epoch ms."""
    from datetime import datetime

    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


# ----------------------------------------------------------------- conventions


def test_primary_keys_follow_the_period():
    assert primary_key("events", "dayRange")[-1] == "day"
    assert primary_key("events", "hourRange")[-1] == "hour"
    assert "hour" in primary_key("feature_events", "hourRange")
    assert primary_key("guide_events", "hourRange") == PRIMARY_KEYS["guide_events"]
    assert primary_key("metadata_accounts") == []
    assert primary_key("visitor_history") == ["visitor_id", "app_id", "ts", "type"]
    assert len(PRIMARY_KEYS) == 15


@pytest.mark.parametrize(
    "camel, snake_name",
    [
        ("lastUpdatedAt", "last_updated_at"),
        ("remoteIp", "remote_ip"),
        ("DisplayName", "display_name"),
        ("isPerApp", "is_per_app"),
        ("parsedUserAgent", "parsed_user_agent"),
        ("HTTPServer", "http_server"),
        ("contentUrlCSS", "content_url_css"),
        ("utf8String", "utf8_string"),
        ("Type", "type"),
        ("already_snake", "already_snake"),
        ("auto__-323232", "auto__-323232"),
    ],
)
def test_names_become_snake_case(camel, snake_name):
    assert snake(camel) == snake_name


def test_times_are_written_like_singer_python():
    assert rfc3339(1543726800000) == "2018-12-02T05:00:00.000000Z"
    assert rfc3339(1700000000123) == "2023-11-14T22:13:20.123000Z"
    assert rfc3339(None) is None


def test_an_unknown_stream_is_an_error(dataset, records):
    with pytest.raises(ValueError):
        records("nope")


# -------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    "stream, period",
    [(stream, "dayRange") for stream in PRIMARY_KEYS]
    + [(stream, "hourRange") for stream in EVENT_STREAMS],
)
def test_records_are_unique_on_the_primary_key_without_nulls(dataset, records, stream, period):
    anonymous = stream in ("visitors", "visitor_history")
    found = records(stream, period=period, include_anonymous=anonymous)
    assert found
    key = primary_key(stream, period)
    values = [tuple(record.get(name) for name in key) for record in found]
    assert all(None not in value for value in values)
    assert len(set(values)) == len(values)
    other = {"dayRange": "hour", "hourRange": "day"}[period]
    for record in found:
        assert all(name == snake(name) for name in record)
        if stream in EVENT_STREAMS:
            assert other not in record


# ------------------------------------------------------------------- filters


def test_day_and_hour_records_hold_the_same_activity(records):
    for stream in AGGREGATED_STREAMS:
        totals = [
            sum(r["num_events"] for r in records(stream, period=p))
            for p in ("dayRange", "hourRange")
        ]
        assert totals[0] == totals[1] > 0
    for stream in ("guide_events", "poll_events"):
        days = records(stream, period="dayRange")
        hours = records(stream, period="hourRange")
        assert len(days) == len(hours) > 0


def test_anonymous_visitors_only_when_included(dataset, records):
    for stream in ("visitors", "visitor_history"):
        without = records(stream)
        with_them = records(stream, include_anonymous=True)
        assert not any(r["visitor_id"].startswith("_PENDO_T_") for r in without)
        assert any(r["visitor_id"].startswith("_PENDO_T_") for r in with_them)
        assert len(with_them) > len(without)
    events = records("events")
    assert any(r["visitor_id"].startswith("_PENDO_T_") for r in events)


def test_do_not_process_visitors_are_read_but_have_no_history(dataset, records):
    blocked = {
        r["visitor_id"]
        for r in records("visitors", include_anonymous=True)
        if r["metadata_pendo"]["donotprocess"]
    }
    assert blocked
    history = records("visitor_history", include_anonymous=True)
    assert not blocked & {r["visitor_id"] for r in history}
    assert blocked & {r["visitor_id"] for r in records("events")}


def test_app_ids_select_events_entities_accounts_and_history(dataset, records):
    other = dataset.apps[1]
    for stream in [*EVENT_STREAMS, "features", "pages", "guides", "track_types", "visitor_history"]:
        everything = records(stream)
        only = records(stream, app_ids=[other])
        assert only and {r["app_id"] for r in only} == {other}
        assert len(only) == sum(r["app_id"] == other for r in everything)
    accounts = {r["account_id"] for r in records("accounts", app_ids=[other])}
    expected = {
        r["accountId"]
        for r in dataset.entities("accounts")
        if other in dataset.account_apps(r["accountId"])
    }
    assert accounts == expected
    assert len(records("accounts", app_ids=[DEFAULT_APP])) < len(records("accounts"))
    assert records("features", app_ids=[]) == records("features")


@pytest.mark.parametrize(
    "stream, field",
    [
        ("accounts", "lastupdated"),
        ("visitors", "lastupdated"),
        ("features", "last_updated_at"),
        ("guides", "last_updated_at"),
    ],
)
def test_start_keeps_later_rows_and_rows_without_a_replication_key(dataset, records, stream, field):
    start = START - 10 * DAY_MS
    everything = records(stream, include_anonymous=True)
    later = records(stream, include_anonymous=True, start_ms=start)
    assert 0 < len(later) < len(everything)
    assert later == [r for r in everything if field not in r or ms(r[field]) >= start]


def test_event_records_are_the_periods_starting_at_or_after_start(dataset, records):
    day = period_start(START - 5 * DAY_MS, "dayRange", dataset.tz)
    next_day = add_periods(day, 1, "dayRange", dataset.tz)
    inside = records("feature_events", start_ms=day + HOUR_MS)
    assert min(ms(r["day"]) for r in inside) == next_day
    assert min(ms(r["day"]) for r in records("feature_events", start_ms=day)) == day
    bounded = records("guide_events", start_ms=day, end_ms=next_day)
    assert bounded and {ms(r["day"]) for r in bounded} == {day}
    hours = records("events", period="hourRange", start_ms=day, end_ms=day + 3 * HOUR_MS)
    assert {ms(r["hour"]) for r in hours} == {day, day + HOUR_MS, day + 2 * HOUR_MS}


# --------------------------------------------------------------- conversions


def test_accounts_convert_metadata_by_the_schema(dataset, records):
    records = {r["account_id"]: r for r in records("accounts")}
    rows = {r["accountId"]: r for r in dataset.entities("accounts")}
    as_text = [a for a, r in rows.items() if isinstance(r["metadata"]["custom"]["seatCount"], str)]
    assert as_text
    for account in as_text:
        custom = records[account]["metadata_custom"]
        assert custom["seatCount"] == int(rows[account]["metadata"]["custom"]["seatCount"])
    for record in records.values():
        custom = record["metadata_custom"]
        assert isinstance(custom["arr"], float)
        assert custom["renewalDate"] is None or RFC3339.match(custom["renewalDate"])
        assert "crmSyncedAt" not in custom or isinstance(custom["crmSyncedAt"], int)
        assert RFC3339.match(record["metadata_agent"]["contractStart"])
        if "lastupdated" in record:
            assert record["lastupdated"] == record["metadata_auto"]["lastupdated"]
        for app, group in record.get("metadata_auto_per_app", {}).items():
            assert int(app) in dataset.apps
            assert RFC3339.match(group["firstvisit"]) and RFC3339.match(group["lastvisit"])
        assert not any(column.startswith("metadata_auto__") for column in record)
    assert any("metadata_salesforce" in record for record in records.values())
    assert any("crmSyncedAt" in r["metadata_custom"] for r in records.values())


def test_visitors_convert_metadata_by_the_schema(dataset, records):
    records = records("visitors")
    customs = [r["metadata_custom"] for r in records]
    assert all(isinstance(c["loginCount"], int) for c in customs)
    assert all(isinstance(c["score"], float) for c in customs if "score" in c)
    assert any("score" not in c for c in customs)
    assert {type(c["notes"]) for c in customs} >= {str, int, type(None)}
    assert any(isinstance(c.get("legacyImportTs"), int) for c in customs)
    auto = [r["metadata_auto"] for r in records]
    assert all(RFC3339.match(a["firstvisit"]) for a in auto if "firstvisit" in a)
    assert all(isinstance(a["idhash"], int) for a in auto)


def test_entities_convert_top_level_times_only(dataset, records):
    for record in records("guides"):
        assert RFC3339.match(record["created_at"]) and RFC3339.match(record["last_updated_at"])
        assert record["published_at"] is None or RFC3339.match(record["published_at"])
        assert "reset_at" not in record or RFC3339.match(record["reset_at"])
        assert isinstance(record["group"]["created_at"], int)
        assert all(isinstance(step["last_updated_at"], int) for step in record["steps"])
        assert "created_by_user" in record and "user_type" in record["created_by_user"]
    assert any("reset_at" in record for record in records("guides"))
    features = records("features")
    assert all("page_id" in r and "element_path_rules" in r for r in features)


def test_metadata_records_rename_the_attributes_only(dataset, records):
    for stream, kind in [("metadata_accounts", "account"), ("metadata_visitors", "visitor")]:
        (record,) = records(stream)
        schema = dataset.metadata_schema(kind)
        assert set(record) == set(schema)
        for group, fields in schema.items():
            assert set(record[group]) == set(fields)
        field = next(iter(record["custom"].values()))
        assert {"type", "display_name", "is_per_app", "never_index", "dirty"} <= set(field)
    assert "lastLoginAt" in records("metadata_visitors")[0]["custom"]


def test_event_records_keep_parameters_and_properties_verbatim(dataset, records):
    features = [r for r in records("feature_events") if "parameters" in r]
    assert features and all("elementText" in r["parameters"] for r in features)
    tracks = [r for r in records("track_events") if "properties" in r]
    assert tracks and all("cycleType" in r["properties"]["billingInfo"] for r in tracks)
    for record in records("events", period="hourRange")[:500]:
        for name in ("hour", "first_time", "last_time"):
            assert RFC3339.match(record[name])
        assert isinstance(record["num_events"], int)
    polls = records("poll_events")
    assert all(
        RFC3339.match(r["browser_time"]) and RFC3339.match(r["guide_timestamp"]) for r in polls
    )


def test_history_records(dataset, records):
    records = records("visitor_history")
    for record in records[:2000]:
        assert RFC3339.match(record["ts"]) and RFC3339.match(record["last_ts"])
        assert record["modified_ts"] == max(record["ts"], record["last_ts"])
        assert set(record["parsed_user_agent"]) == {"name", "version", "os"}
    assert Counter(r["type"] for r in records).keys() == {"page", "feature", "guide", "untagged"}


# ------------------------------------------------------------------- history


def simulated_tap(dataset, start_ms, include_anonymous=False):
    """Ask history only for the days each eligible visitor can have activity; count requests."""
    now = dataset.now_ms
    seen, requests = set(), 0
    for row in dataset.entities("visitors"):
        auto = row["metadata"]["auto"]
        anonymous = row["visitorId"].startswith("_PENDO_T_")
        if row["metadata"]["pendo"]["donotprocess"] or (anonymous and not include_anonymous):
            continue
        if auto.get("lastvisit", -1) < start_ms:
            continue
        slice_start = start_ms + (max(auto["firstvisit"], start_ms) - start_ms) // DAY_MS * DAY_MS
        while slice_start <= min(auto["lastvisit"], now):
            if slice_start >= now - 180 * DAY_MS:
                requests += 1
                for item in dataset.history(row["visitorId"], slice_start):
                    if item["ts"] >= start_ms:
                        seen.add((row["visitorId"], item["appId"], item["ts"], item["type"]))
            slice_start += DAY_MS
    return seen, requests


@pytest.mark.parametrize(
    "start, include_anonymous", [(0, False), (START - 10 * DAY_MS - 4321, True)]
)
def test_history_truth_is_what_the_days_of_activity_return(
    dataset, records, start, include_anonymous
):
    seen, requests = simulated_tap(dataset, start, include_anonymous)
    records = records("visitor_history", include_anonymous=include_anonymous, start_ms=start)
    assert {(r["visitor_id"], r["app_id"], ms(r["ts"]), r["type"]) for r in records} == seen
    assert active_visitor_days(dataset, start, include_anonymous) == requests > 0


def test_history_truth_leaves_out_items_older_than_180_days(dataset, records):
    limit = dataset.now_ms - 180 * DAY_MS
    visitors = [r["visitorId"] for r in dataset.entities("visitors")]
    assert any(item["ts"] < limit for v in visitors for item in dataset.history_items(v))
    assert all(ms(r["ts"]) >= limit for r in records("visitor_history", start_ms=0))


def test_truth_follows_the_clock():
    ds = Dataset(seed=1, scale=0.2, start_ms=START)
    before = truth(ds, "events", period="hourRange", start_ms=START - DAY_MS)
    ds.advance(6)
    after = truth(ds, "events", period="hourRange", start_ms=START - DAY_MS)
    assert max(ms(r["hour"]) for r in after) > max(ms(r["hour"]) for r in before)
    assert sum(r["num_events"] for r in after) > sum(r["num_events"] for r in before)
