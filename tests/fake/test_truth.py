"""The ground truth: the contract's records per stream, keys, filters and conversions."""

import re
from collections import Counter

import pytest

from tests.fake import nested_keys
from tests.fake_pendo.dataset import DEFAULT_APP, Dataset
from tests.fake_pendo.periods import HOUR_MS, add_periods, period_field, period_start
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
STEP_FIELDS = {
    "id", "guide_id", "type", "content_type", "rank", "advance_method", "thumbnail_urls",
    "poll_ids", "last_updated_at",
}  # fmt: skip


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
    assert list(PRIMARY_KEYS)[:15] == [
        "accounts", "visitors", "features", "pages", "guides", "track_types",
        "metadata_accounts", "metadata_visitors", "events", "feature_events", "page_events",
        "track_events", "guide_events", "poll_events", "visitor_history",
    ]  # fmt: skip
    assert list(PRIMARY_KEYS)[15:] == ["guide_steps", "polls", "segments", "reports"]
    assert primary_key("guide_steps") == primary_key("polls") == ["guide_id", "id"]
    assert primary_key("segments") == primary_key("reports") == ["id"]


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


def periods_of(found, field="day"):
    return {ms(r[field]) for r in found}


def test_aggregated_records_are_the_periods_that_end_after_start(dataset, records):
    day = period_start(START - 5 * DAY_MS, "dayRange", dataset.tz)
    next_day = add_periods(day, 1, "dayRange", dataset.tz)
    for stream in AGGREGATED_STREAMS:
        whole = records(stream, start_ms=day)
        assert min(periods_of(whole)) == day
        # The period that contains the start is included whole.
        assert records(stream, start_ms=day + HOUR_MS) == whole
        assert records(stream, start_ms=next_day - 1) == whole
        assert min(periods_of(records(stream, start_ms=next_day))) == next_day
    hours = records("events", period="hourRange", start_ms=day + HOUR_MS + 1)
    assert min(periods_of(hours, "hour")) == day + HOUR_MS


def test_aggregated_records_stop_at_the_periods_that_start_before_end(dataset, records):
    day = period_start(START - 5 * DAY_MS, "dayRange", dataset.tz)
    next_day = add_periods(day, 1, "dayRange", dataset.tz)
    inside = day + 7 * HOUR_MS + 1
    assert periods_of(records("events", start_ms=inside, end_ms=next_day)) == {day}
    assert periods_of(records("events", start_ms=inside, end_ms=next_day + 1)) == {day, next_day}
    hours = records(
        "events", period="hourRange", start_ms=day + 90 * 60_000, end_ms=day + 3 * HOUR_MS
    )
    assert periods_of(hours, "hour") == {day + HOUR_MS, day + 2 * HOUR_MS}
    assert periods_of(records("events", start_ms=inside, end_ms=inside + 1)) == {day}
    assert records("events", start_ms=day, end_ms=day) == []


def test_aggregated_records_reach_the_current_partial_period_and_no_further(dataset, records):
    now = dataset.now_ms
    for period, field in (("dayRange", "day"), ("hourRange", "hour")):
        found = periods_of(records("events", period=period), field)
        assert max(found) == period_start(now, period, dataset.tz)
        assert records("events", period=period, end_ms=now + 10 * DAY_MS) == records(
            "events", period=period
        )


@pytest.mark.parametrize(
    "stream, period",
    [
        ("events", "dayRange"),
        ("feature_events", "hourRange"),
        ("guide_events", "dayRange"),
        ("poll_events", "hourRange"),
    ],
)
def test_slices_together_hold_every_row_of_one_run(dataset, records, stream, period):
    a = START - 6 * DAY_MS - 12_345
    b = START - 3 * DAY_MS + 5 * HOUR_MS + 17
    key = primary_key(stream, period)
    whole = {tuple(r[k] for k in key) for r in records(stream, period=period, start_ms=a)}
    first = records(stream, period=period, start_ms=a, end_ms=b)
    second = records(stream, period=period, start_ms=b)
    parts = [tuple(r[k] for k in key) for r in first + second]
    assert set(parts) == whole
    if stream in ("guide_events", "poll_events"):
        assert len(parts) == len(whole)  # events are cut by their time, not by period
    else:
        # b lies inside a period: that period is in both slices, with the same keys.
        field = period_field(period)
        straddling = {r[field] for r in first} & {r[field] for r in second}
        assert straddling == {rfc3339(period_start(b, period, dataset.tz))}


@pytest.mark.parametrize("stream", ["guide_events", "poll_events"])
def test_guide_and_poll_events_are_cut_by_browser_time(dataset, records, stream):
    start = START - 5 * DAY_MS - 12_345
    end = start + 2 * DAY_MS + 777
    everything = records(stream)
    got = records(stream, start_ms=start, end_ms=end)
    assert got == [r for r in everything if start <= ms(r["browser_time"]) < end]
    assert min(ms(r["day"]) for r in got) < start  # rows of the period that contains the start
    assert records(stream, start_ms=start) == [
        r for r in everything if start <= ms(r["browser_time"])
    ]
    hours = records(stream, period="hourRange", start_ms=start, end_ms=end)
    assert [r["browser_time"] for r in hours] == [r["browser_time"] for r in got]


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
        assert all(set(step) == STEP_FIELDS - {"last_updated_at"} for step in record["steps"])
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


def simulated_tap(dataset, start_ms, include_anonymous=False, end_ms=None):
    """Read history through `Dataset.history` only: 24-hour windows from the later of start_ms
    and 180 days ago, asked only where a visitor can have activity. Count the requests."""
    now = dataset.now_ms
    origin = max(start_ms, now - 180 * DAY_MS)
    seen, requests = set(), 0
    for row in dataset.entities("visitors"):
        auto = row["metadata"]["auto"]
        anonymous = row["visitorId"].startswith("_PENDO_T_")
        if row["metadata"]["pendo"]["donotprocess"] or (anonymous and not include_anonymous):
            continue
        if auto.get("lastvisit", -1) < origin:
            continue
        window = origin + (max(auto["firstvisit"], origin) - origin) // DAY_MS * DAY_MS
        while window <= min(auto["lastvisit"], now) and (end_ms is None or window < end_ms):
            requests += 1
            for item in dataset.history(row["visitorId"], window):
                if item["ts"] >= start_ms and (end_ms is None or item["ts"] < end_ms):
                    seen.add((row["visitorId"], item["appId"], item["ts"], item["type"]))
            window += DAY_MS
    return seen, requests


def history_keys(found):
    return {(r["visitor_id"], r["app_id"], ms(r["ts"]), r["type"]) for r in found}


@pytest.mark.parametrize(
    "start, include_anonymous", [(0, False), (START - 10 * DAY_MS - 4321, True)]
)
def test_history_truth_is_what_the_days_of_activity_return(
    dataset, records, start, include_anonymous
):
    seen, requests = simulated_tap(dataset, start, include_anonymous)
    found = records("visitor_history", include_anonymous=include_anonymous, start_ms=start)
    assert history_keys(found) == seen
    assert len(found) == len(seen)
    assert active_visitor_days(dataset, start, include_anonymous) == requests > 0


def test_history_truth_ends_before_end(dataset, records):
    start = START - 10 * DAY_MS - 4321
    end = START - 4 * DAY_MS + 3 * HOUR_MS + 99
    seen, _ = simulated_tap(dataset, start, end_ms=end)
    found = records("visitor_history", start_ms=start, end_ms=end)
    assert found and history_keys(found) == seen
    assert all(start <= ms(r["ts"]) < end for r in found)
    later = records("visitor_history", start_ms=end)
    assert history_keys(found) | history_keys(later) == history_keys(
        records("visitor_history", start_ms=start)
    )


def test_history_truth_leaves_out_items_older_than_180_days(dataset, records):
    limit = dataset.now_ms - 180 * DAY_MS
    visitors = [r["visitorId"] for r in dataset.entities("visitors")]
    assert any(item["ts"] < limit for v in visitors for item in dataset.history_items(v))
    assert all(ms(r["ts"]) >= limit for r in records("visitor_history", start_ms=0))


def test_history_truth_keeps_the_last_180_days_whatever_the_start(long_dataset):
    """Not the 24-hour slices of one tap: every item of the last 180 days is there, the
    ones in the first hours after the limit too (a window from start_ms that straddles the
    limit answers [], so a tap must start its windows at the limit)."""
    ds = long_dataset
    limit = ds.now_ms - 180 * DAY_MS
    found = truth(ds, "visitor_history", start_ms=0)
    times = sorted(ms(r["ts"]) for r in found)
    assert times[0] >= limit and times[0] < limit + 6 * HOUR_MS
    seen, requests = simulated_tap(ds, 0)
    assert history_keys(found) == seen
    assert active_visitor_days(ds, 0) == requests


def test_truth_follows_the_clock():
    ds = Dataset(seed=1, scale=0.2, start_ms=START)
    before = truth(ds, "events", period="hourRange", start_ms=START - DAY_MS)
    ds.advance(6)
    after = truth(ds, "events", period="hourRange", start_ms=START - DAY_MS)
    assert max(ms(r["hour"]) for r in after) > max(ms(r["hour"]) for r in before)
    assert sum(r["num_events"] for r in after) > sum(r["num_events"] for r in before)


# ------------------------------------------------------ guide steps, polls, segments, reports


def by_guide(found):
    out = {}
    for record in found:
        out.setdefault(record["guide_id"], []).append(record)
    return out


@pytest.mark.parametrize(
    "settings",
    [{}, {"app_ids": [DEFAULT_APP]}, {"start_ms": START - 60 * DAY_MS}, {"start_ms": START}],
)
def test_steps_and_polls_are_those_of_the_guides_read(dataset, records, settings):
    guides = records("guides", **settings)
    for stream, field in (("guide_steps", "steps"), ("polls", "polls")):
        found = by_guide(records(stream, **settings))
        expected = {g["id"]: g for g in guides if g[field]}
        assert set(found) == set(expected)
        for guide_id, parts in found.items():
            guide = expected[guide_id]
            assert [p["id"] for p in parts] == [p["id"] for p in guide[field]]
            for part, renamed in zip(parts, guide[field]):
                assert part == {
                    **renamed,
                    "guide_id": guide_id,
                    "last_updated_at": guide["last_updated_at"],
                }


def test_steps_have_the_contract_fields_renamed(dataset, records):
    steps = records("guide_steps")
    assert len(steps) == sum(len(g["steps"]) for g in dataset.entities("guides"))
    for step in steps:
        assert set(step) == STEP_FIELDS
        assert RFC3339.match(step["last_updated_at"])
        assert isinstance(step["rank"], int) and isinstance(step["poll_ids"], list)
    assert any(step["thumbnail_urls"] is None for step in steps)
    assert any(isinstance(step["thumbnail_urls"], list) for step in steps)
    assert any(step["poll_ids"] for step in steps)


def test_polls_have_the_contract_fields_renamed(dataset, records):
    polls = records("polls")
    for poll in polls:
        assert set(poll) == {"id", "guide_id", "question", "attributes", "last_updated_at"}
        assert set(poll["attributes"]) == {"type"}
    assert {p["attributes"]["type"] for p in polls} >= {"NPSRating", "FreeForm"}
    # A poll step names polls of its own guide.
    for guide_id, steps in by_guide(records("guide_steps")).items():
        own = {p["id"] for p in by_guide(polls).get(guide_id, [])}
        assert all(set(step["poll_ids"]) <= own for step in steps)
    # Poll events name a poll of their guide, and answer it in a fitting form.
    types = {(p["guide_id"], p["id"]): p["attributes"]["type"] for p in polls}
    for event in records("poll_events"):
        poll_type = types[event["guide_id"], event["poll_id"]]
        if poll_type in ("NPSRating", "NumberScale"):
            assert event["poll_response"].isdigit()


@pytest.mark.parametrize("stream", ["guide_steps", "polls"])
def test_step_and_poll_ids_repeat_across_guides(records, stream):
    found = records(stream)
    guides_of = {}
    for record in found:
        guides_of.setdefault(record["id"], set()).add(record["guide_id"])
    assert any(len(guides) > 1 for guides in guides_of.values())
    keys = [(r["guide_id"], r["id"]) for r in found]
    assert len(keys) == len(set(keys))


def test_steps_of_a_guide_without_last_updated_at_have_none():
    class Guides:
        def entities(self, source):
            assert source == "guides"
            step = {"id": "s1", "guideId": "g1", "pollIds": ["p1"], "thumbnailUrls": None}
            poll = {"id": "p1", "question": "Why?", "attributes": {"type": "FreeForm"}}
            return [{"id": "g1", "appId": 1, "steps": [step], "polls": [poll]}]

    (step,) = truth(Guides(), "guide_steps", start_ms=START)
    assert step == {"id": "s1", "guide_id": "g1", "poll_ids": ["p1"], "thumbnail_urls": None}
    (poll,) = truth(Guides(), "polls", app_ids=[1])
    assert poll == {
        "id": "p1", "question": "Why?", "attributes": {"type": "FreeForm"}, "guide_id": "g1",
    }  # fmt: skip
    assert truth(Guides(), "polls", app_ids=[2]) == []


@pytest.mark.parametrize(
    "stream, query, times",
    [
        ("segments", "pipeline", ("created_at", "last_updated_at")),
        ("reports", "definition", ("created_at", "last_updated_at", "last_run_at")),
    ],
)
def test_segments_and_reports_keep_their_query_verbatim(dataset, records, stream, query, times):
    items = {row["id"]: row for row in getattr(dataset, stream)()}
    found = records(stream)
    assert [r["id"] for r in found] == list(items)
    camel = re.compile(r"[a-z][A-Z]")
    for record in found:
        row = items[record["id"]]
        assert record[query.lower()] == row[query]
        for name in times:
            value = row[snake_to_camel(name)]
            assert record[name] == (None if value is None else rfc3339(value))
        assert record["created_by_user"]["user_type"] == row["createdByUser"]["userType"]
        outside = {k: v for k, v in record.items() if k != query}
        assert not camel.search(repr(sorted(nested_keys(outside))))
    assert any(camel.search(repr(sorted(nested_keys(r[query])))) for r in found)
    if stream == "reports":
        assert any(r["last_run_at"] is None for r in found)


def snake_to_camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize("stream", ["segments", "reports"])
def test_segments_and_reports_from_start_and_with_no_app_filter(dataset, records, stream):
    everything = records(stream)
    tied = Counter(r["last_updated_at"] for r in everything).most_common(1)[0]
    start = ms(tied[0])
    later = records(stream, start_ms=start)
    assert later == [r for r in everything if ms(r["last_updated_at"]) >= start]
    assert tied[1] >= 3 and 0 < len(later) < len(everything)
    assert records(stream, start_ms=start + 1) == [
        r for r in later if ms(r["last_updated_at"]) > start
    ]
    assert records(stream, app_ids=[dataset.apps[1]]) == everything


def test_segments_and_reports_without_last_updated_at_are_always_read():
    class Saved:
        def segments(self):
            return [
                {"id": "s1", "pipeline": [{"source": {"visitors": None}}]},
                {"id": "s2", "lastUpdatedAt": 5},
            ]

        def reports(self):
            return [{"id": "r1", "lastRunAt": None, "definition": {"timeSeries": {}}}]

    assert [r["id"] for r in truth(Saved(), "segments", start_ms=6)] == ["s1"]
    assert truth(Saved(), "reports", start_ms=6) == [
        {"id": "r1", "last_run_at": None, "definition": {"timeSeries": {}}}
    ]
