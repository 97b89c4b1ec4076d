"""Every selected stream's checkpoint while the executor runs, and the STATE they make.

Each stream's rows are written in the stream's order of units (resequencer.py), so a
checkpoint follows one unit at a time: every unit before it is finished, and the current
one is written up to a known position. A STATE therefore claims exactly the rows written
before it, never a unit still running beyond them. Each reader kind makes its streams'
checkpoints; only the executor's thread uses them.
"""


class Checkpoints:
    """stream -> its reader kind's checkpoint, in run order."""

    def __init__(self, plan):
        self._by_stream = {
            scope.stream.name: scope.kind.checkpoint(scope, plan.units_informing(scope.stream.name))
            for scope in plan.scopes
        }

    def __getitem__(self, stream: str):
        return self._by_stream[stream]

    @property
    def streams(self) -> tuple:
        return tuple(self._by_stream)

    @property
    def all_finished(self) -> bool:
        return all(checkpoint.finished for checkpoint in self._by_stream.values())

    def update(self, state: dict) -> dict:
        """`state` with every stream's bookmark as its checkpoint says now."""
        bookmarks = state.setdefault("bookmarks", {})
        for stream, checkpoint in self._by_stream.items():
            if checkpoint.entry is not None:
                bookmarks[stream] = checkpoint.entry
        # Singer's one stream "currently syncing": the first one not finished.
        state["currently_syncing"] = next(
            (stream for stream, c in self._by_stream.items() if not c.finished), None
        )
        return state
