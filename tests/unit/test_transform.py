"""The compiled record plans: names, dates, types, selection."""

import pytest

from tap_pendo.errors import PendoError
from tap_pendo.singer.discover import stream_schema
from tap_pendo.streams import STREAMS
from tap_pendo.timefmt import ms_to_rfc3339, parse_datetime_ms
from tap_pendo.transform import RecordPlan, snake

META = {
    "metadata_accounts": {
        "auto": {"lastupdated": {"Type": "time"}},
        "custom": {
            "seats": {"Type": "integer"},
            "renews": {"Type": "time"},
            "tags": {"Type": "list"},
            "anything": {"Type": ""},
            "ratio": {"Type": "float"},
        },
    }
}


def plan(stream, fields=None, period="dayRange"):
    schema = stream_schema(STREAMS[stream], period, META)
    props = schema["properties"]
    return RecordPlan(STREAMS[stream], props, set(fields or props))


@pytest.mark.parametrize(
    "name,expected",
    [
        ("lastUpdatedAt", "last_updated_at"),
        ("remoteIp", "remote_ip"),
        ("DisplayName", "display_name"),
        ("isPerApp", "is_per_app"),
        ("trackTypeId", "track_type_id"),
        ("already_snake", "already_snake"),
        ("parsedUserAgent", "parsed_user_agent"),
        ("HTMLElement", "html_element"),
    ],
)
def test_snake_case(name, expected):
    assert snake(name) == expected


def test_ms_round_trip_in_singer_format():
    assert ms_to_rfc3339(1543726800000) == "2018-12-02T05:00:00.000000Z"
    assert parse_datetime_ms(ms_to_rfc3339(1543726800123)) == 1543726800123


def test_event_row_renamed_dated_and_parameters_kept():
    row = {
        "visitorId": "v",
        "accountId": "",
        "appId": -323232,
        "server": "s",
        "remoteIp": "1.2.3.4",
        "userAgent": "UA",
        "day": 1543726800000,
        "numEvents": 3,
        "numMinutes": 1,
        "featureId": "f",
        "parameters": {"someKey": {"innerKey": 1}},
        "unknownNew": 1,
    }
    record = plan("feature_events").record(row)
    assert record["day"] == "2018-12-02T05:00:00.000000Z"
    assert record["parameters"] == {"someKey": {"innerKey": 1}}
    assert record["remote_ip"] == "1.2.3.4"
    # Pendo's value, verbatim: "" is a visitor without an account, also in a key column.
    assert record["account_id"] == ""
    assert "unknown_new" not in record and "hour" not in record


def test_only_selected_fields_plus_keys():
    row = {"id": "f", "name": "n", "color": "red", "lastUpdatedAt": 1}
    record = plan("features", {"id", "last_updated_at", "name"}).record(row)
    assert record == {"id": "f", "name": "n", "last_updated_at": "1970-01-01T00:00:00.001000Z"}


def test_nested_objects_renamed_recursively():
    row = {
        "id": "g",
        "steps": [{"stepId": 1, "pollIds": ["p"]}],
        "createdByUser": {"firstName": "A"},
    }
    record = plan("guides").record(row)
    assert record["steps"] == [{"step_id": 1, "poll_ids": ["p"]}]
    assert record["created_by_user"] == {"first_name": "A"}


def test_account_metadata_groups_typed_by_the_metadata_schema():
    row = {
        "accountId": "acme",
        "metadata": {
            "auto": {"id": "acme", "lastupdated": 1000, "firstvisit": 2000, "idhash": 7},
            "custom": {
                "seats": "42",
                "renews": 3000,
                "tags": ["a"],
                "anything": {"x": 1},
                "ratio": "0.5",
                "unknownField": "kept",
            },
            "auto__-323232": {"lastvisit": 4000},
            "salesforce": {"Owner": "x"},
        },
    }
    record = plan("accounts").record(row)
    assert record["account_id"] == "acme"
    assert record["lastupdated"] == "1970-01-01T00:00:01.000000Z"
    assert record["metadata_auto"]["firstvisit"] == "1970-01-01T00:00:02.000000Z"
    assert record["metadata_custom"] == {
        "seats": 42,
        "renews": "1970-01-01T00:00:03.000000Z",
        "tags": ["a"],
        "anything": {"x": 1},
        "ratio": 0.5,
        "unknownField": "kept",
    }
    assert record["metadata_auto_per_app"] == {
        "-323232": {"lastvisit": "1970-01-01T00:00:04.000000Z"}
    }
    # A group the catalog does not know is not a column (rediscover to get it).
    assert "metadata_salesforce" not in record


def test_account_without_lastupdated_has_no_lastupdated():
    record = plan("accounts").record({"accountId": "a", "metadata": {"auto": {"id": "a"}}})
    assert "lastupdated" not in record and record["metadata_auto"] == {"id": "a"}


def test_poll_responses_are_text():
    row = {
        "browserTime": 1,
        "visitorId": "v",
        "accountId": "a",
        "appId": 1,
        "remoteIp": "r",
        "serverName": "s",
        "userAgent": "u",
        "pollId": "p",
        "pollResponse": 9,
    }
    assert plan("poll_events").record(row)["poll_response"] == "9"


def test_values_of_unexpected_types_are_coerced_when_safe():
    row = {
        "visitorId": "v",
        "accountId": "a",
        "appId": "5",
        "server": "s",
        "remoteIp": "r",
        "userAgent": "u",
        "day": "1543726800000",
        "numEvents": 3.0,
    }
    record = plan("events").record(row)
    assert record["app_id"] == 5 and record["num_events"] == 3
    assert record["day"] == "2018-12-02T05:00:00.000000Z"


@pytest.mark.parametrize(
    "field,value", [("numEvents", "many"), ("day", "Tuesday"), ("appId", None), ("parameters", [1])]
)
def test_values_that_cannot_fit_fail_naming_stream_and_field(field, value):
    row = {
        "visitorId": "v",
        "accountId": "a",
        "appId": 5,
        "server": "s",
        "remoteIp": "r",
        "userAgent": "u",
        "day": 0,
        "numEvents": 1,
        field: value,
    }
    with pytest.raises(PendoError) as error:
        plan("feature_events").record(row)
    assert "feature_events" in str(error.value) and snake(field) in str(error.value)


def test_integer_custom_field_that_is_not_a_number_fails_clearly():
    row = {"accountId": "a", "metadata": {"custom": {"seats": "lots"}}}
    with pytest.raises(PendoError, match="metadata_custom"):
        plan("accounts").record(row)
