"""What a run resumed from a STATE may emit again, and the state compared across runs.

A STATE claims exactly the rows written before it (docs/DATA-CONTRACT.md, State). A
run resumed from it emits those rows again only as the re-reads that every
incremental run makes of a stream that was done: the lookback of late data (event
streams, visitor history), undated entity rows and ties at the bookmark, and the
keyless metadata documents. A stream under way at that STATE repeats none of them.
"""

from __future__ import annotations

import json

from .bookmarks import ENTITY_FIELDS, entity_rows_after
from .moments import DAY_MS, HOUR_MS, ms
from .records import by_key, primary_key
from .tap import TIMEOUT

# Bookmark keys that say a stream was under way when a STATE was written.
RESUME_KEYS = {"window_start", "after", "run_started", "visitor"}
# The keys of a finished stream's bookmark: event streams' and history's replication
# keys, with the record field each one bounds; entities' (tests/support/bookmarks.py).
PERIOD_KEYS = {"day": "day", "hour": "hour", "browser_time": "browser_time"}
HISTORY_KEYS = {"modified_ts": "ts"}
ENTITY_KEYS = {"lastupdated", "last_updated_at", "lastUpdatedAt", "newest"}


def bookmark_of(state: dict | None, stream: str) -> dict:
    return ((state or {}).get("bookmarks") or {}).get(stream) or {}


def under_way(state: dict | None, stream: str) -> bool:
    """Was `stream` interrupted (its bookmark says where to go on) at this STATE?"""
    return bool(RESUME_KEYS & set(bookmark_of(state, stream)))


def records_before_last_state(run) -> tuple:
    """(stream -> the records printed before the run's last STATE, that STATE); ({}, None)
    when the run printed no STATE."""
    messages = run.messages
    states = [i for i, m in enumerate(messages) if m["type"] == "STATE"]
    if not states:
        return {}, None
    before: dict = {}
    for message in messages[: states[-1]]:
        if message["type"] == "RECORD":
            before.setdefault(message["stream"], []).append(message["record"])
    return before, messages[states[-1]]["value"]


def records_after_last_state(run) -> dict:
    """stream -> the records printed after the run's last STATE (all, without a STATE)."""
    messages = run.messages
    states = [i for i, m in enumerate(messages) if m["type"] == "STATE"]
    after: dict = {}
    for message in messages[states[-1] + 1 if states else 0 :]:
        if message["type"] == "RECORD":
            after.setdefault(message["stream"], []).append(message["record"])
    return after


def assert_resume_repeats_only_rereads(
    name: str, before: dict, state: dict, resumed, lookback_days: int = 1
) -> None:
    """Rows printed before `state` (`before`: stream -> records) come again in `resumed`
    only as an incremental run's re-reads, judged by every key of each stream's bookmark:

    - under way (a resume position in the bookmark): none;
    - `day`, `hour`, `browser_time`: only rows of the periods from the one that holds the
      bookmark less the lookback (a day of periods can last 25 hours);
    - `modified_ts` (visitor_history): only items from the bookmark less the lookback;
    - entities: only rows without a date, and rows past the bookmark (its keyset position,
      or for segments and reports its value: ties again);
    - a keyless stream (the metadata documents): its one document, every run;
    - an empty or missing bookmark, or a key none of the above: none.
    """
    reach = lookback_days * DAY_MS
    for stream, records in before.items():
        key = primary_key(stream)
        done = by_key(records, key)
        again = [r for k, r in by_key(resumed.records.get(stream, []), key).items() if k in done]
        if not again:
            continue
        where = f"{name}: {stream}"
        bookmark = bookmark_of(state, stream)
        if not key:
            continue  # the one document of a keyless stream, read by every run
        assert bookmark, (
            f"{where}: {len(again)} rows confirmed by the last STATE came again, and its "
            f"bookmark is empty, e.g. {again[0]}"
        )
        assert not under_way(state, stream), (
            f"{where}: {len(again)} rows printed before the last STATE came again, e.g. {again[0]}"
        )
        if stream in ENTITY_FIELDS:
            known = ENTITY_KEYS
        else:
            known = set(HISTORY_KEYS if stream == "visitor_history" else PERIOD_KEYS)
        unknown = set(bookmark) - known
        assert not unknown, f"{where}: bookmark keys {sorted(unknown)} of {bookmark} say nothing"
        if stream in ENTITY_FIELDS:
            allowed = entity_rows_after(stream, again, bookmark)
            dated = [r for r in again if r not in allowed]
            assert not dated, f"{where}: rows the bookmark claims came again, e.g. {dated[0]}"
            continue
        for name_of_key, value in bookmark.items():
            mark = ms(value)
            if name_of_key in PERIOD_KEYS:
                field = PERIOD_KEYS[name_of_key]
                lowest = mark - reach - 25 * HOUR_MS
                early = [r for r in again if ms(r[field]) < lowest]
                assert not early, f"{where}: rows before the lookback came again, e.g. {early[0]}"
            else:
                early = [r for r in again if ms(r[HISTORY_KEYS[name_of_key]]) < mark - reach]
                assert not early, f"{where}: history items read again, e.g. {early[0]}"


def normalized_state(state: dict, now_ms: int) -> dict:
    """The state without what depends on when its run started: visitor_history's bookmark
    is the start of its run, checked to lie between the fake's clock (where the tap's
    clock starts) and the longest a run may take after it."""
    state = json.loads(json.dumps(state))
    history = (state.get("bookmarks") or {}).get("visitor_history") or {}
    for key in ("modified_ts", "run_started"):
        if history.get(key):
            moment = ms(history[key])
            assert now_ms - 1000 <= moment <= now_ms + TIMEOUT * 1000, (
                f"visitor_history {key} {history[key]} is not the start of a run of this test"
            )
            history[key] = "<a run's start>"
    return state
