"""The fake's generated dataset: determinism, sizes, every trap, the clock, consistency."""

import time
from collections import Counter, defaultdict

import pytest

from tests.fake import nested_keys
from tests.fake_pendo.dataset import DEFAULT_APP, Dataset
from tests.fake_pendo.periods import HOUR_MS, add_periods, period_start, period_starts

DAY_MS = 24 * HOUR_MS
# 2025-11-24 16:17 UTC, a Monday: the 30 days before it span the end of DST (2 Nov).
START = 1_764_000_000_000 + 17 * 60_000 + 123
AGGREGATED = {
    "events": None,
    "featureEvents": "featureId",
    "pageEvents": "pageId",
    "trackEvents": "trackTypeId",
}
EVENT_SOURCES = [*AGGREGATED, "guideEvents", "pollEvents"]
ENTITY_SOURCES = ["accounts", "visitors", "features", "pages", "guides", "trackTypes"]
CONTEXT = ["visitorId", "accountId", "appId", "server", "remoteIp", "userAgent"]


def window(ds, period):
    """Starts of the periods from 31 days before the start up to now."""
    return list(period_starts(ds.start_ms - 31 * DAY_MS, ds.now_ms + 1, period, ds.tz))


def rows_of(ds, source, period="dayRange"):
    return list(ds.event_rows(source, period, window(ds, period)))


def replication_value(source, row):
    if source in ("accounts", "visitors"):
        return row["metadata"]["auto"].get("lastupdated")
    return row.get("lastUpdatedAt")


def total_events(ds, source):
    return sum(row["numEvents"] for row in rows_of(ds, source))


# ------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_data(dataset):
    other = Dataset(seed=1, start_ms=START)
    for source in ENTITY_SOURCES:
        assert other.entities(source) == dataset.entities(source)
    for source in EVENT_SOURCES:
        assert rows_of(other, source) == rows_of(dataset, source)
    assert (other.segments(), other.reports()) == (dataset.segments(), dataset.reports())
    visitor = dataset.entities("visitors")[0]["visitorId"]
    assert other.history_items(visitor) == dataset.history_items(visitor)


def test_another_seed_gives_other_data(dataset):
    other = Dataset(seed=2, start_ms=START)
    assert rows_of(other, "events") != rows_of(dataset, "events")
    assert other.entities("features") != dataset.entities("features")
    assert other.segments() != dataset.segments()


def test_the_data_does_not_depend_on_how_the_clock_was_advanced():
    in_one_step = Dataset(seed=1, scale=0.2, start_ms=START)
    in_one_step.advance(30)
    in_steps = Dataset(seed=1, scale=0.2, start_ms=START)
    for hours in (0.5, 11.5, 18):
        in_steps.advance(hours)
    for source in ENTITY_SOURCES:
        assert in_steps.entities(source) == in_one_step.entities(source)
    for source in EVENT_SOURCES:
        assert rows_of(in_steps, source, "hourRange") == rows_of(in_one_step, source, "hourRange")
    assert in_steps.segments() == in_one_step.segments()
    assert in_steps.reports() == in_one_step.reports()


@pytest.mark.parametrize("source", ["features", "pages", "guides", "trackTypes"])
def test_entity_counts_spread_the_same_activity(source):
    few = Dataset(seed=1, scale=0.3, start_ms=START, counts={source: 5})
    many = Dataset(seed=1, scale=0.3, start_ms=START, counts={source: 500})
    assert len(few.entities(source)) == 5
    assert len(many.entities(source)) == 500
    for event_source in AGGREGATED:
        assert total_events(few, event_source) == total_events(many, event_source)
    for event_source in ("guideEvents", "pollEvents"):
        assert len(rows_of(few, event_source)) == len(rows_of(many, event_source))


# ------------------------------------------------------------------------- sizes


def test_sizes_at_scale_1(dataset):
    sizes = {source: len(dataset.entities(source)) for source in ENTITY_SOURCES}
    assert sizes == {
        "accounts": 60,
        "visitors": 300,
        "features": 60,
        "pages": 45,
        "guides": 40,
        "trackTypes": 40,
    }
    for period in ("dayRange", "hourRange"):
        for source in EVENT_SOURCES:
            assert 3_000 <= len(rows_of(dataset, source, period)) <= 30_000, (source, period)
    history = sum(len(dataset.history_items(v["visitorId"])) for v in dataset.entities("visitors"))
    assert 30_000 <= history <= 100_000


def test_segments_and_reports_grow_slowly_with_scale(dataset):
    assert (len(dataset.segments()), len(dataset.reports())) == (25, 30)
    small = Dataset(seed=1, scale=0.05, start_ms=START)
    assert (len(small.segments()), len(small.reports())) == (8, 10)
    assert len(Dataset(seed=1, scale=0.05, start_ms=START, counts={"reports": 12}).reports()) == 12
    with pytest.raises(ValueError):
        Dataset(seed=1, scale=0.05, start_ms=START, counts={"segments": 2})


def test_rows_grow_linearly_with_scale(dataset, double_dataset):
    double = double_dataset
    for source in ("events", "featureEvents", "guideEvents"):
        assert 1.9 < len(rows_of(double, source)) / len(rows_of(dataset, source)) < 2.3


# ------------------------------------------------------------------------- traps


@pytest.mark.parametrize("source", ENTITY_SOURCES)
def test_more_rows_share_a_replication_key_value_than_fit_a_small_page(dataset, source):
    rows = dataset.entities(source)
    value, count = Counter(
        replication_value(source, row) for row in rows if replication_value(source, row)
    ).most_common(1)[0]
    assert count >= 30
    if source not in ("accounts", "visitors"):
        assert {row["appId"] for row in rows if row["lastUpdatedAt"] == value} == {DEFAULT_APP}


@pytest.mark.parametrize(
    "source, id_field",
    [("visitors", "visitorId"), ("accounts", "accountId"), ("features", "id"), ("pages", "id")],
)
def test_ids_contain_awkward_characters(dataset, source, id_field):
    ids = [row[id_field] for row in dataset.entities(source)]
    for char in ('"', "\\", "/", " ", "@"):
        assert any(char in i for i in ids), char
    assert any(not i.isascii() for i in ids)


def test_awkward_ids_have_activity(dataset):
    visitors = {row["visitorId"] for row in rows_of(dataset, "events")}
    assert 'o"connor@example.com' in visitors and "back\\slash" in visitors
    features = {row["featureId"] for row in rows_of(dataset, "featureEvents")}
    assert any('"' in feature for feature in features)


def test_anonymous_and_do_not_process_visitors_have_activity(dataset):
    rows = dataset.entities("visitors")
    anonymous = {r["visitorId"] for r in rows if r["visitorId"].startswith("_PENDO_T_")}
    blocked = {r["visitorId"] for r in rows if r["metadata"]["pendo"]["donotprocess"]}
    assert len(anonymous) >= 10 and len(blocked) >= 5
    active = {row["visitorId"] for row in rows_of(dataset, "events")}
    assert len(anonymous & active) >= 10
    assert len(blocked & active) >= 5
    assert all(dataset.history_items(visitor) == [] for visitor in blocked)
    assert any(dataset.history_items(visitor) for visitor in anonymous)


@pytest.mark.parametrize("source", ["accounts", "visitors"])
def test_some_rows_have_no_lastupdated(dataset, source):
    rows = dataset.entities(source)
    assert sum("lastupdated" not in row["metadata"]["auto"] for row in rows) >= 3


@pytest.mark.parametrize("source", ENTITY_SOURCES[2:])
def test_entities_exist_in_every_app(dataset, source):
    assert {row["appId"] for row in dataset.entities(source)} == set(dataset.apps)


@pytest.mark.parametrize("source", EVENT_SOURCES)
def test_events_exist_in_every_app(dataset, source):
    assert {row["appId"] for row in rows_of(dataset, source)} == set(dataset.apps)


def test_apps(dataset):
    assert dataset.default_app == DEFAULT_APP
    assert len(dataset.apps) >= 3
    assert all(0 < app < 2**53 for app in dataset.apps if app != DEFAULT_APP)


def test_some_accounts_have_activity_only_outside_the_default_app(dataset):
    apps = [dataset.account_apps(row["accountId"]) for row in dataset.entities("accounts")]
    assert all(apps)
    assert any(DEFAULT_APP not in account_apps for account_apps in apps)
    assert any(len(account_apps) > 1 for account_apps in apps)
    assert dataset.account_apps("no such account") == set()


def test_accounts_carry_per_app_groups(dataset):
    for row in dataset.entities("accounts"):
        per_app = {group for group in row["metadata"] if group.startswith("auto__")}
        assert per_app <= {f"auto__{app}" for app in dataset.account_apps(row["accountId"])}
    assert any("auto__-323232" in row["metadata"] for row in dataset.entities("accounts"))


def test_entity_lists_without_expand_hold_the_default_app_only(dataset):
    for kind, source in [("page", "pages"), ("feature", "features"), ("tracktype", "trackTypes")]:
        assert dataset.entity_list(kind, True) == dataset.entities(source)
        default_only = dataset.entity_list(kind, False)
        assert default_only and {row["appId"] for row in default_only} == {DEFAULT_APP}
    assert len(dataset.entity_list("guide", False)) < len(dataset.entity_list("guide", True))


@pytest.mark.parametrize("kind", ["account", "visitor"])
def test_custom_fields_of_every_type(dataset, kind):
    schema = dataset.metadata_schema(kind)
    types = {field["Type"] for group in schema.values() for field in group.values()}
    assert types == {"string", "time", "boolean", "integer", "float", "list", ""}
    assert {"auto", "agent", "custom"} <= set(schema)
    for group in schema.values():
        for field in group.values():
            assert set(field) == {
                "Type", "DisplayName", "ElementType", "ElementFormat", "Dirty", "isHidden",
                "isDeleted", "isCalculated", "isPerApp", "neverIndex",
            }  # fmt: skip
    custom = schema["custom"]
    integer = next(name for name, field in custom.items() if field["Type"] == "integer")
    values = [
        row["metadata"].get("custom", {}).get(integer) for row in dataset.entities(f"{kind}s")
    ]
    assert any(isinstance(value, str) and value.isdigit() for value in values)
    assert any(isinstance(value, int) for value in values)
    undeclared = {
        name
        for row in dataset.entities(f"{kind}s")
        for name in row["metadata"].get("custom", {})
        if name not in custom
    }
    assert undeclared


def test_accounts_have_a_crm_group(dataset):
    assert "salesforce" in dataset.metadata_schema("account")
    assert any("salesforce" in row["metadata"] for row in dataset.entities("accounts"))


@pytest.mark.parametrize(
    "source, field",
    [
        (source, field)
        for source in AGGREGATED
        for field in ("server", "appId", "userAgent", "remoteIp", "accountId")
        # A feature, page or track type belongs to one app.
        if field != "appId" or source == "events"
    ],
)
def test_event_rows_that_differ_only_by_one_field(dataset, source, field):
    identity = [name for name in CONTEXT if name != field] + ["day"]
    if AGGREGATED[source]:
        identity.append(AGGREGATED[source])
    values = defaultdict(set)
    for row in rows_of(dataset, source):
        values[tuple(row[name] for name in identity)].add(row[field])
    assert any(len(found) > 1 for found in values.values())


def test_visitors_without_an_account_have_an_empty_account_id(dataset):
    no_account = {
        row["visitorId"]
        for row in dataset.entities("visitors")
        if "accountid" not in row["metadata"]["auto"]
    }
    assert any(not v.startswith("_PENDO_T_") for v in no_account)
    for source in EVENT_SOURCES:
        rows = [row for row in rows_of(dataset, source) if row["visitorId"] in no_account]
        assert rows and all(row["accountId"] == "" for row in rows)


def test_the_current_period_is_partial_and_grows():
    ds = Dataset(seed=1, start_ms=START)
    today = period_start(ds.now_ms, "dayRange", ds.tz)
    before = {s: total_in(ds, s, "dayRange", today) for s in EVENT_SOURCES}
    assert all(before.values())
    ds.advance(2)
    after = {s: total_in(ds, s, "dayRange", today) for s in EVENT_SOURCES}
    assert all(after[s] > before[s] for s in EVENT_SOURCES)
    for row in ds.event_rows("events", "dayRange", [today]):
        assert row["lastTime"] <= ds.now_ms


def total_in(ds, source, period, start):
    rows = list(ds.event_rows(source, period, [start]))
    return sum(row.get("numEvents", 1) for row in rows)


def test_late_data_changes_finished_periods():
    ds = Dataset(seed=1, start_ms=START)
    hours = [period_start(ds.now_ms, "hourRange", ds.tz) - k * HOUR_MS for k in range(1, 7)]
    before = [total_in(ds, "events", "hourRange", hour) for hour in hours]
    ds.advance(8)
    after = [total_in(ds, "events", "hourRange", hour) for hour in hours]
    assert all(a >= b for a, b in zip(after, before))
    assert after != before


def test_guide_events_share_browser_times_and_differ_by_type(dataset):
    rows = rows_of(dataset, "guideEvents")
    by_moment = defaultdict(list)
    for row in rows:
        by_moment[row["visitorId"], row["browserTime"]].append(row)
    shared = [group for group in by_moment.values() if len(group) > 1]
    assert len(shared) >= 10
    assert all(len({row["type"] for row in group}) == len(group) for group in shared)
    assert any(row["guideTimestamp"] != row["browserTime"] for row in rows)


def test_poll_events_share_browser_times_and_differ_by_poll(dataset):
    by_moment = defaultdict(list)
    for row in rows_of(dataset, "pollEvents"):
        by_moment[row["visitorId"], row["browserTime"]].append(row)
    shared = [group for group in by_moment.values() if len(group) > 1]
    assert len(shared) >= 10
    assert all(len({row["pollId"] for row in group}) == len(group) for group in shared)
    responses = {type(row["pollResponse"]) for group in shared for row in group}
    assert responses == {int, str}


# ------------------------------------------------------------------------- clock


def test_the_clock_is_frozen_until_advanced(monkeypatch):
    ds = Dataset(seed=1, scale=0.1, start_ms=START)
    monkeypatch.setattr(time, "time", lambda: START / 1000 + 3600)  # an hour goes by
    assert ds.now_ms == START
    ds.advance(1.5)
    assert ds.now_ms == START + int(1.5 * HOUR_MS)
    with pytest.raises(ValueError):
        ds.advance(-1)


def test_the_start_defaults_to_now_rounded_to_the_second(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_764_000_123.987)
    ds = Dataset(seed=1, scale=0.05)
    assert ds.start_ms == ds.now_ms == 1_764_000_123_000


def test_advancing_brings_new_activity_and_updates():
    ds = Dataset(seed=1, start_ms=START)
    before = ds.now_ms
    lastvisits = {
        r["visitorId"]: r["metadata"]["auto"].get("lastvisit") for r in ds.entities("visitors")
    }
    ds.advance(24)
    new_hours = list(period_starts(before + HOUR_MS, ds.now_ms, "hourRange", ds.tz))
    for source in EVENT_SOURCES:
        assert list(ds.event_rows(source, "hourRange", new_hours)), source
    for source in ENTITY_SOURCES:
        moved = [
            row
            for row in ds.entities(source)
            if before < (replication_value(source, row) or 0) <= ds.now_ms
        ]
        assert moved, source
    # Late data can move a lastvisit on to a time before the old clock, too.
    later = [
        r
        for r in ds.entities("visitors")
        if (r["metadata"]["auto"].get("lastvisit") or 0) > (lastvisits[r["visitorId"]] or 0)
    ]
    assert sum(r["metadata"]["auto"]["lastvisit"] > before for r in later) > 10


@pytest.mark.parametrize("hours", [0.25, 6, 30])
def test_a_row_changes_only_with_its_replication_key(hours):
    """What an incremental sync relies on: a changed row has a new lastupdated, or none."""
    ds = Dataset(seed=1, start_ms=START)
    ids = {"accounts": "accountId", "visitors": "visitorId"}
    before = {s: {r[ids.get(s, "id")]: r for r in ds.entities(s)} for s in ENTITY_SOURCES}
    then = ds.now_ms
    ds.advance(hours)
    for source in ENTITY_SOURCES:
        changed = [r for r in ds.entities(source) if r != before[source][r[ids.get(source, "id")]]]
        assert changed or hours < 1, source
        for row in changed:
            value = replication_value(source, row)
            assert value is None or then < value <= ds.now_ms


def test_advancing_keeps_the_ties_and_the_missing_lastupdated():
    ds = Dataset(seed=1, start_ms=START)
    ds.advance(72)
    for source in ENTITY_SOURCES:
        values = Counter(replication_value(source, row) for row in ds.entities(source))
        assert max(count for value, count in values.items() if value) >= 30
    for source in ("accounts", "visitors"):
        assert None in {replication_value(source, row) for row in ds.entities(source)}


# ------------------------------------------------------------------- consistency


@pytest.mark.parametrize("source", list(AGGREGATED))
def test_day_rows_are_sums_of_hour_rows_across_dst(dataset, source):
    id_field = AGGREGATED[source]
    identity = CONTEXT + ([id_field] if id_field else [])
    days = window(dataset, "dayRange")
    assert len({add_periods(day, 1, "dayRange", dataset.tz) - day for day in days}) > 1  # DST
    for day in days:
        hours = list(
            period_starts(day, add_periods(day, 1, "dayRange", dataset.tz), "hourRange", dataset.tz)
        )
        summed = {}
        for row in dataset.event_rows(source, "hourRange", hours):
            key = tuple(row[name] for name in identity)
            events, minutes, first, last = summed.get(key, (0, 0, row["firstTime"], 0))
            summed[key] = (
                events + row["numEvents"],
                minutes + row["numMinutes"],
                min(first, row["firstTime"]),
                max(last, row["lastTime"]),
            )
        whole = {
            tuple(row[name] for name in identity): (
                row["numEvents"], row["numMinutes"], row["firstTime"], row["lastTime"],
            )
            for row in dataset.event_rows(source, "dayRange", [day])
        }  # fmt: skip
        assert whole == summed


@pytest.mark.parametrize("source", ["guideEvents", "pollEvents"])
def test_guide_rows_are_the_same_by_day_and_by_hour(dataset, source):
    def without_period(rows, field):
        return sorted(tuple(sorted((k, str(v)) for k, v in r.items() if k != field)) for r in rows)

    assert without_period(rows_of(dataset, source, "dayRange"), "day") == without_period(
        rows_of(dataset, source, "hourRange"), "hour"
    )


def test_rows_carry_their_period_start(dataset):
    day = window(dataset, "dayRange")[5]
    hour = window(dataset, "hourRange")[100]
    for source in EVENT_SOURCES:
        day_rows = list(dataset.event_rows(source, "dayRange", [day]))
        hour_rows = list(dataset.event_rows(source, "hourRange", [hour]))
        assert day_rows and {row["day"] for row in day_rows} == {day}
        assert hour_rows and {row["hour"] for row in hour_rows} == {hour}
        assert all("hour" not in row for row in day_rows)


def test_aggregated_rows_are_consistent(dataset):
    for source in AGGREGATED:
        for row in rows_of(dataset, source, "hourRange"):
            assert 1 <= row["numMinutes"] <= min(row["numEvents"], 60)
            assert row["hour"] <= row["firstTime"] <= row["lastTime"] < row["hour"] + HOUR_MS


def test_visits_bound_history_and_event_rows(dataset):
    visits = {
        row["visitorId"]: (
            row["metadata"]["auto"].get("firstvisit"),
            row["metadata"]["auto"].get("lastvisit"),
        )
        for row in dataset.entities("visitors")
    }
    for row in rows_of(dataset, "events", "hourRange"):
        first, last = visits[row["visitorId"]]
        assert first <= row["firstTime"] and row["lastTime"] <= last
    for visitor, (first, last) in visits.items():
        for item in dataset.history_items(visitor):
            assert first <= item["ts"] <= item["lastTs"] <= last


def test_history_items_are_unique_and_shaped(dataset):
    for row in dataset.entities("visitors"):
        items = dataset.history_items(row["visitorId"])
        keys = [(item["appId"], item["ts"], item["type"]) for item in items]
        assert len(keys) == len(set(keys))
        for item in items:
            id_field = {"page": "pageId", "feature": "featureId", "guide": "guideId"}.get(
                item["type"], "untaggedUrl"
            )
            assert item[id_field] and item["uri"].startswith("https://")
            assert set(item["parsedUserAgent"]) == {"name", "version", "os"}
            assert item["duration"] == item["lastTs"] - item["ts"]


def test_history_answers_one_day_from_starttime(dataset):
    visitor = max(
        dataset.entities("visitors"), key=lambda r: len(dataset.history_items(r["visitorId"]))
    )["visitorId"]
    starttime = dataset.now_ms - 3 * DAY_MS + 12_345
    items = dataset.history(visitor, starttime)
    expected = [
        i for i in dataset.history_items(visitor) if starttime <= i["ts"] < starttime + DAY_MS
    ]
    assert items and items == expected
    assert dataset.history("nobody at all", starttime) == []


def test_history_older_than_180_days_exists_but_is_not_served(dataset):
    now = dataset.now_ms
    old = {}
    for row in dataset.entities("visitors"):
        items = dataset.history_items(row["visitorId"])
        ages = [(now - item["ts"]) / DAY_MS for item in items]
        assert not any(31 < age < 199 for age in ages)
        if any(age > 200 for age in ages):
            old[row["visitorId"]] = min(item["ts"] for item in items)
            assert row["metadata"]["auto"]["firstvisit"] <= old[row["visitorId"]]
    assert len(old) >= 5
    for visitor, first in old.items():
        assert dataset.history(visitor, first - first % DAY_MS) == []


def test_history_of_a_starttime_beyond_180_days_is_empty_even_when_partly_newer(long_dataset):
    ds = long_dataset
    limit = ds.now_ms - 180 * DAY_MS
    visitors = [row["visitorId"] for row in ds.entities("visitors")]
    in_partly_newer_day = [
        v
        for v in visitors
        if any(limit <= i["ts"] < limit + DAY_MS - HOUR_MS for i in ds.history_items(v))
    ]
    assert in_partly_newer_day
    for visitor in in_partly_newer_day:
        assert ds.history(visitor, limit - HOUR_MS) == []
        assert ds.history(visitor, limit)


# ------------------------------------------------------------------- guide steps and polls

STEP_FIELDS = {"id", "guideId", "type", "contentType", "rank", "advanceMethod", "thumbnailUrls",
               "pollIds"}  # fmt: skip


def test_steps_and_polls_have_the_contract_shape(dataset):
    guides = dataset.entities("guides")
    for guide in guides:
        assert guide["steps"]
        assert [step["rank"] for step in guide["steps"]] == list(range(len(guide["steps"])))
        poll_ids = [poll["id"] for poll in guide["polls"]]
        assert len(set(poll_ids)) == len(poll_ids)
        assert len({step["id"] for step in guide["steps"]}) == len(guide["steps"])
        for step in guide["steps"]:
            assert set(step) == STEP_FIELDS and step["guideId"] == guide["id"]
            assert step["thumbnailUrls"] is None or isinstance(step["thumbnailUrls"], list)
            assert set(step["pollIds"]) <= set(poll_ids)
            assert (step["type"] == "poll") == bool(step["pollIds"])
        for poll in guide["polls"]:
            assert set(poll) == {"id", "question", "attributes"}
            assert set(poll["attributes"]) == {"type"}
        if poll_ids:
            assert {i for step in guide["steps"] for i in step["pollIds"]} == set(poll_ids)
    steps = [step for guide in guides for step in guide["steps"]]
    assert {type(step["thumbnailUrls"]) for step in steps} == {type(None), list}
    types = {poll["attributes"]["type"] for guide in guides for poll in guide["polls"]}
    assert types == {"NPSRating", "FreeForm", "NumberScale"}


@pytest.mark.parametrize("part", ["steps", "polls"])
@pytest.mark.parametrize("scale", [1, 0.05])
def test_step_and_poll_ids_repeat_in_other_guides(dataset, part, scale):
    ds = dataset if scale == 1 else Dataset(seed=1, scale=scale, start_ms=START)
    guides_of = defaultdict(set)
    for guide in ds.entities("guides"):
        for item in guide[part]:
            guides_of[item["id"]].add(guide["id"])
    assert any(len(guides) > 1 for guides in guides_of.values())


def test_poll_events_name_a_poll_of_their_guide_and_answer_it_in_kind(dataset):
    guides = {guide["id"]: guide for guide in dataset.entities("guides")}
    answered = set()
    for row in rows_of(dataset, "pollEvents"):
        guide = guides[row["guideId"]]
        (poll,) = [poll for poll in guide["polls"] if poll["id"] == row["pollId"]]
        (step,) = [step for step in guide["steps"] if step["id"] == row["guideStepId"]]
        assert row["pollId"] in step["pollIds"]
        kind = poll["attributes"]["type"]
        answered.add(kind)
        if kind == "FreeForm":
            assert isinstance(row["pollResponse"], str)
        else:
            assert isinstance(row["pollResponse"], int) and 0 <= row["pollResponse"] <= 10
    assert answered == {"NPSRating", "FreeForm", "NumberScale"}
    shared = Counter(poll["id"] for guide in guides.values() for poll in guide["polls"])
    assert any(shared[row["pollId"]] > 1 for row in rows_of(dataset, "pollEvents"))


def test_guide_events_name_a_step_of_their_guide(dataset):
    steps = {guide["id"]: {s["id"] for s in guide["steps"]} for guide in dataset.entities("guides")}
    for row in rows_of(dataset, "guideEvents"):
        assert row["guideStepId"] in steps[row["guideId"]]


# ---------------------------------------------------------------------- segments and reports

SEGMENT_FIELDS = {"id", "name", "shared", "createdAt", "createdByUser", "lastUpdatedAt",
                  "lastUpdatedByUser", "pipeline", "dirty"}  # fmt: skip
REPORT_FIELDS = {"id", "name", "kind", "level", "shared", "scope", "definition", "createdAt",
                 "createdByUser", "lastUpdatedAt", "lastUpdatedByUser", "lastRunAt"}  # fmt: skip


@pytest.mark.parametrize("scale", [1, 0.05, 2])
def test_segments_and_reports_have_the_contract_shape_and_traps(dataset, double_dataset, scale):
    ds = {1: dataset, 2: double_dataset}.get(scale) or Dataset(seed=1, scale=scale, start_ms=START)
    for items, fields, query in (
        (ds.segments(), SEGMENT_FIELDS, "pipeline"),
        (ds.reports(), REPORT_FIELDS, "definition"),
    ):
        assert all(set(item) == fields for item in items)
        assert len({item["id"] for item in items}) == len(items)
        for item in items:
            assert item["createdAt"] <= item["lastUpdatedAt"] < ds.now_ms
            assert {"id", "username", "userType"} <= set(item["createdByUser"])
            assert isinstance(item["shared"], bool)
            assert any(c.isupper() for key in nested_keys(item[query]) for c in key)
        names = [item["name"] for item in items]
        assert any('"' in n for n in names) and any("\\" in n for n in names)
        assert any(not n.isascii() for n in names)
        # A bulk edit: at least three items share one lastUpdatedAt.
        assert Counter(item["lastUpdatedAt"] for item in items).most_common(1)[0][1] >= 3
    assert all(
        isinstance(s["pipeline"], list) and "source" in s["pipeline"][0] for s in ds.segments()
    )
    reports = ds.reports()
    assert {r["kind"] for r in reports} == {"visitor", "account", "path", "funnel", "retention"}
    assert {r["level"] for r in reports} == {"visitor", "account"}
    assert "subscription" in {r["scope"] for r in reports}
    assert all(isinstance(r["definition"], dict) for r in reports)
    assert any(r["lastRunAt"] is None for r in reports)
    assert all(r["lastRunAt"] is None or r["lastRunAt"] >= r["lastUpdatedAt"] for r in reports)
    assert "Funnel – report 4" in {r["name"] for r in reports}
    assert 'Zoë\'s "power" users' in {s["name"] for s in ds.segments()}


@pytest.mark.parametrize("hours", [0.7, 1, 6, 30])
def test_advancing_edits_segments_and_reports(hours):
    ds = Dataset(seed=1, scale=0.2, start_ms=START)
    before = {"segments": ds.segments(), "reports": ds.reports()}
    ties = {
        name: Counter(i["lastUpdatedAt"] for i in items).most_common(1)[0]
        for name, items in before.items()
    }
    then = ds.now_ms
    ds.advance(hours)
    for name, items in (("segments", ds.segments()), ("reports", ds.reports())):
        old = {item["id"]: item for item in before[name]}
        assert [item["id"] for item in items] == list(old)
        changed = [item for item in items if item != old[item["id"]]]
        assert changed, name
        query = "pipeline" if name == "segments" else "definition"
        for item in changed:
            assert then < item["lastUpdatedAt"] <= ds.now_ms
            assert item[query] != old[item["id"]][query]
            if name == "reports":
                assert item["lastRunAt"] == item["lastUpdatedAt"]
        tie_value, tie_count = ties[name]
        assert sum(item["lastUpdatedAt"] == tie_value for item in items) == tie_count
    assert ds.segments() is ds.segments()  # rows are built once per clock


def test_segments_and_reports_change_only_when_the_clock_moves():
    ds = Dataset(seed=1, scale=0.2, start_ms=START)
    first = (ds.segments(), ds.reports())
    ds.advance(0)
    assert (ds.segments(), ds.reports()) == first
