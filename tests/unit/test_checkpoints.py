"""The executor's order and checkpoints: a stream's rows are written unit after unit, and a
STATE claims exactly what is written (the finished units, and the front one up to its last
row)."""

from tap_pendo.pendo.paging import PagingEnd
from tap_pendo.readers.history import HistoryCheckpoint, HistoryDay, HistoryScope
from tap_pendo.readers.items import Spawn
from tap_pendo.readers.listing import ListingUnit
from tap_pendo.readers.windows import WindowCheckpoint
from tap_pendo.run.resequencer import Resequencer
from tap_pendo.streams import STREAMS, VISITORS

from .scopes import window_scope as scope


def test_a_resequencer_writes_units_in_order_whatever_order_they_finish_in():
    a, b, c = object(), object(), object()
    order = Resequencer([a, b])
    assert order.accept(b, "b1", ends=False) == []  # early: waits for a
    assert order.accept(a, "a1", ends=False) == ["a1"]
    order.add([c])
    assert order.accept(c, "c-end", ends=True) == []
    assert order.accept(b, "b-end", ends=True) == []
    # a ends: b's rows and end follow, then c's end.
    assert order.accept(a, "a-end", ends=True) == ["a-end", "b1", "b-end", "c-end"]
    assert order.front is None


def test_a_window_checkpoint_claims_the_front_window_up_to_its_last_written_row():
    window_scope = scope("2026-11-01T12:00:00Z", "2026-11-05T00:00:00Z", period="hourRange")
    first, second, *rest = window_scope.first_windows()
    checkpoint = WindowCheckpoint(window_scope, (first, second, *rest))
    assert checkpoint.entry == {"window_start": "2026-11-01T12:00:00.000000Z"}
    checkpoint.written(first, [first.first_ms, "v1"])
    assert checkpoint.entry["after"] == [first.first_ms, "v1"]
    checkpoint.done(first, PagingEnd([first.first_ms + 7_200_000, "v9"], None))
    assert checkpoint.entry == {
        "hour": "2026-11-01T14:00:00.000000Z",
        "window_start": "2026-11-02T12:00:00.000000Z",
    }
    for window in (second, *rest):
        checkpoint.done(window, PagingEnd(None, None))
    assert checkpoint.finished and checkpoint.entry == {"hour": "2026-11-01T14:00:00.000000Z"}


def history_scope(**more):
    defaults = dict(
        stream=STREAMS["visitor_history"],
        range_start_ms=0,
        range_end_ms=10 * 86_400_000,
        bookmark_ms=None,
        run_started_ms=10 * 86_400_000,
        position=None,
        partial=None,
        app_ids=(),
        include_anonymous=False,
    )
    return HistoryScope(**{**defaults, **more})


def test_a_history_checkpoint_claims_whole_visitors_and_the_days_written_of_the_next():
    history = history_scope()
    listing = ListingUnit(VISITORS, (history,), None, 100)
    checkpoint = HistoryCheckpoint(history, (listing,))
    v1 = tuple(HistoryDay(history, "v1", day) for day in (0, 86_400_000))
    v2 = tuple(HistoryDay(history, "v2", day) for day in (0, 86_400_000, 172_800_000))
    checkpoint.spawned(Spawn("visitor_history", [1, "v1"], v1))
    checkpoint.spawned(Spawn("visitor_history", [2, "v2"], v2))
    checkpoint.spawned(Spawn("visitor_history", [3, "v3"], ()))  # a visitor without days
    checkpoint.done(v1[0], None)
    assert checkpoint.entry["visitor"] == [[1, "v1"], 0] and "after" not in checkpoint.entry
    checkpoint.done(v1[1], None)
    assert checkpoint.entry["after"] == [1, "v1"] and "visitor" not in checkpoint.entry
    checkpoint.done(v2[0], None)
    checkpoint.done(v2[1], None)
    assert checkpoint.entry["visitor"] == [[2, "v2"], 86_400_000]
    checkpoint.done(listing, None)
    assert not checkpoint.finished
    checkpoint.done(v2[2], None)
    assert checkpoint.finished and checkpoint.entry == {
        "modified_ts": "1970-01-11T00:00:00.000000Z"
    }


def test_a_resumed_visitor_asks_only_the_days_not_written_yet():
    history = history_scope(partial=[[2, "v2"], 86_400_000])
    row = {
        "visitorId": "v2",
        "metadata": {"auto": {"firstvisit": 0, "lastvisit": 3 * 86_400_000 - 1}},
    }
    (spawn,) = history.take(row, [2, "v2"])
    assert [unit.day_ms for unit in spawn.units] == [172_800_000]
    (other,) = history.take({**row, "visitorId": "v4"}, [4, "v4"])
    assert len(other.units) == 3
