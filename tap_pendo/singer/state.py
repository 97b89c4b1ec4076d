"""The state file: checked before any request, read with older taps' keys.

`{"currently_syncing": stream|null, "bookmarks": {stream: {key: value, ...}}}`.
Besides the replication key, a stream's bookmark may hold the keyset position of its
newest row (`newest`) and where an interrupted run stopped (`window_start`, `after`,
`run_started`, `visitor`, `under_way`); the latter are gone once the stream finishes.
What each holds is its reader kind's to check (docs/DATA-CONTRACT.md, State).
"""

import copy

from ..errors import StateError
from ..readers import kind_of
from ..streams import STREAMS, StreamDef


def check_state(state, period: str) -> dict:
    """A deep copy of `state` once it is known to be usable under `period`."""
    if state in (None, ""):
        return {"bookmarks": {}}
    if not isinstance(state, dict):
        raise StateError('the state file must hold a JSON object such as {"bookmarks": {}}')
    state = copy.deepcopy(state)
    bookmarks = state.setdefault("bookmarks", {})
    if bookmarks is None:
        bookmarks = state["bookmarks"] = {}
    if not isinstance(bookmarks, dict):
        raise StateError("state 'bookmarks' must be an object of stream names")
    unknown = sorted(name for name in bookmarks if name not in STREAMS)
    if unknown and len(unknown) == len(bookmarks):
        raise StateError(
            f"the state holds bookmarks for {', '.join(unknown)}, which are not tap-pendo streams: "
            "is it another tap's state? Pass tap-pendo's own state, or none for a full sync"
        )
    for name, bookmark in bookmarks.items():
        if name in STREAMS:
            _check_bookmark(STREAMS[name], bookmark, period)
    current = state.get("currently_syncing")
    if current is not None and current not in STREAMS:
        state["currently_syncing"] = None
    return state


def _check_bookmark(stream: StreamDef, bookmark, period: str) -> None:
    if not isinstance(bookmark, dict):
        raise StateError(f"state bookmark of '{stream.name}' must be an object")
    # What a bookmark holds (dates, counters, where an interrupted run goes on) is the
    # reader kind's to know.
    kind_of(stream).check_bookmark(stream, bookmark, period)
