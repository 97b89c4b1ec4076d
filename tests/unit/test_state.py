"""State files: checked up front, older taps' keys read."""

import pytest

from tap_pendo.errors import StateError
from tap_pendo.readers.base import bookmark_ms
from tap_pendo.singer.state import check_state
from tap_pendo.streams import STREAMS


def test_empty_state_is_fine():
    assert check_state(None, "dayRange") == {"bookmarks": {}}


def test_singer_io_feature_bookmark_key_is_read():
    state = check_state(
        {"bookmarks": {"features": {"lastUpdatedAt": "2026-01-02T00:00:00Z"}}}, "dayRange"
    )
    assert bookmark_ms(state, STREAMS["features"], "dayRange") == 1767312000000


def test_current_key_wins_over_the_legacy_one():
    state = {
        "bookmarks": {
            "features": {
                "last_updated_at": "2026-01-03T00:00:00Z",
                "lastUpdatedAt": "2026-01-02T00:00:00Z",
            }
        }
    }
    assert (
        bookmark_ms(check_state(state, "dayRange"), STREAMS["features"], "dayRange")
        == 1767398400000
    )


@pytest.mark.parametrize(
    "state,words",
    [
        ([1, 2], "JSON object"),
        ({"bookmarks": []}, "bookmarks"),
        ({"bookmarks": {"accounts": {"lastupdated": "not a date"}}}, "accounts.lastupdated"),
        ({"bookmarks": {"users": {"updated_at": "2026-01-01"}}}, "another tap"),
        ({"bookmarks": {"accounts": "2026-01-01"}}, "accounts"),
    ],
)
def test_unusable_state_is_one_line_naming_the_problem(state, words):
    with pytest.raises(StateError) as error:
        check_state(state, "dayRange")
    assert words in str(error.value) and "\n" not in str(error.value)


def test_period_change_stops_before_any_request_with_the_fix():
    state = {"bookmarks": {"feature_events": {"day": "2026-01-01T05:00:00.000000Z"}}}
    with pytest.raises(StateError) as error:
        check_state(state, "hourRange")
    message = str(error.value)
    assert "'day'" in message and "hourRange" in message and "rename" in message


def test_guide_events_bookmark_does_not_depend_on_the_period():
    state = {"bookmarks": {"guide_events": {"browser_time": "2026-01-01T05:00:00.000000Z"}}}
    assert check_state(state, "hourRange")["bookmarks"]["guide_events"]


def test_a_whole_singer_io_state_is_read():
    """The shape singer-io's tap-pendo (and so Stitch) writes, with its extra keys."""
    old = {
        "currently_syncing": None,
        "bookmarks": {
            "accounts": {"lastupdated": "2026-01-01T00:00:00.000000Z"},
            "pages": {"lastUpdatedAt": "2026-01-02T00:00:00.000000Z"},
            "feature_events": {
                "day": "2026-01-03T05:00:00.000000Z",
                "last_processed": "feature-id",
            },
            "guide_events": {"browser_time": "2026-01-04T00:00:00.000000Z"},
            "visitor_history": {
                "modified_ts": "2026-01-05T00:00:00.000000Z",
                "last_processed": "visitor-id",
            },
        },
    }
    state = check_state(old, "dayRange")
    read = {name: bookmark_ms(state, STREAMS[name], "dayRange") for name in old["bookmarks"]}
    assert read == {
        "accounts": 1767225600000,
        "pages": 1767312000000,
        "feature_events": 1767416400000,
        "guide_events": 1767484800000,
        "visitor_history": 1767571200000,
    }
