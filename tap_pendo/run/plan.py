"""The plan: from the config, the state and the stream definitions, before any request,
the scope of every selected stream and the units of work known so far, with their bounds
and resume points. Each stream's reader kind builds its scope and units; streams whose
scopes share a unit group (several streams on one listing) share their units.

Units found while the run goes (the day windows after the first, where a subscription's
days start being Pendo's to say; a listed visitor's days of history) are spawned by the
readers, not planned here.
"""

from dataclasses import dataclass

from ..config import Config
from ..readers import kind_of
from ..timefmt import ms_to_rfc3339


@dataclass(frozen=True)
class Plan:
    """Every selected stream's scope, and the units known before any request."""

    config: Config
    sync_start_ms: int
    scopes: tuple  # one per selected stream, in run order
    units: tuple  # the first units of every stream, each once, in run order

    def units_of(self, stream: str) -> tuple:
        """The planned units whose rows are `stream`'s."""
        return tuple(unit for unit in self.units if stream in unit.streams)

    def units_informing(self, stream: str) -> tuple:
        """The planned units that `stream`'s checkpoint follows."""
        return tuple(unit for unit in self.units if stream in unit.checkpointed_streams)

    def entries(self) -> list:
        """(scope, PlanEntry) per stream, in run order."""
        return [
            (scope, scope.kind.plan_entry(scope, self.units_informing(scope.stream.name)))
            for scope in self.scopes
        ]

    def describe(self) -> list:
        """The plan as lines of text, for `--plan` and the log."""
        config = self.config
        end = ms_to_rfc3339(config.end_ms) if config.end_ms is not None else "now"
        lines = [
            f"plan at {ms_to_rfc3339(self.sync_start_ms)}: {len(self.scopes)} streams, "
            f"start_date {ms_to_rfc3339(config.start_ms)}, end {end}, period {config.period}, "
            f"at most {config.max_concurrent_requests} requests in flight, pages of "
            f"{config.record_limit} rows"
        ]
        entries = self.entries()
        for scope, entry in entries:
            lines.append(f"  {scope.stream.name}: {entry.text}; {_bookmark_text(scope)}")
        more = ", ".join(dict.fromkeys(e.more_requests for _, e in entries if e.more_requests))
        lines.append(
            f"requests: at least {sum(e.requests for _, e in entries)}, one more per page beyond "
            "the first of a listing or window" + (f", and {more}" if more else "")
        )
        return lines

    def as_json(self) -> dict:
        """The plan as one JSON document, for `--plan --format json`: what an orchestrator
        needs to fan a backfill out (each stream's bounds, units and resume position)."""
        config = self.config
        entries = self.entries()
        return {
            "planned_at": ms_to_rfc3339(self.sync_start_ms),
            "start_date": ms_to_rfc3339(config.start_ms),
            "end_date": ms_to_rfc3339(config.end_ms) if config.end_ms is not None else None,
            "period": config.period,
            "max_concurrent_requests": config.max_concurrent_requests,
            "record_limit": config.record_limit,
            "streams": [
                {
                    "stream": scope.stream.name,
                    "kind": scope.kind.name,
                    "bookmark": _time(scope.bookmark_ms),
                    "resume_position": scope.resume_position,
                    "bounds": entry.bounds,
                    "estimated_requests": entry.requests,
                    "more_requests": entry.more_requests or None,
                    "units": list(entry.units),
                }
                for scope, entry in entries
            ],
            "estimated_requests": sum(entry.requests for _, entry in entries),
        }


def build_plan(config: Config, state: dict, streams: list, sync_start_ms: int) -> Plan:
    """The plan of a run of `streams` (StreamDefs, in run order) from `state`."""
    scopes = tuple(kind_of(s).scope(config, state, s, sync_start_ms) for s in streams)
    groups: dict = {}  # unit group -> its scopes, in run order; a group runs where its first would
    for scope in scopes:
        groups.setdefault(scope.unit_group, []).append(scope)
    units = []
    for group in groups.values():
        units.extend(group[0].kind.first_units(config, tuple(group)))
    return Plan(config, sync_start_ms, scopes, tuple(units))


def _time(ms):
    return ms_to_rfc3339(ms) if ms is not None else None


def _bookmark_text(scope) -> str:
    bookmark = scope.bookmark_ms
    text = f"from bookmark {ms_to_rfc3339(bookmark)}" if bookmark is not None else "no bookmark"
    return text + (", resuming an interrupted run" if scope.resume_position is not None else "")
