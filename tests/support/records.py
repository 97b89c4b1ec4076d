"""Records by primary key, several runs merged, and compared with the fake's truth.

Primary keys are the data contract's (docs/DATA-CONTRACT.md), as the fake writes
them down (`tests.fake_pendo.truth.primary_key`); a keyless stream (the metadata
documents) has the empty key, so its records collapse into one.
"""

from __future__ import annotations

from tests.fake_pendo.truth import EVENT_STREAMS, PRIMARY_KEYS, primary_key

__all__ = [
    "ALL_STREAMS",
    "EVENTS",
    "assert_same_records",
    "assert_truth",
    "by_key",
    "key_of",
    "merged",
    "primary_key",
]

ALL_STREAMS = list(PRIMARY_KEYS)  # every API stream: Stitch's 15 first, then those beyond them
EVENTS = list(EVENT_STREAMS)


def key_of(record: dict, key) -> tuple:
    return tuple(record.get(name) for name in key)


def by_key(records, key) -> dict:
    """Records by primary key; the later of two with one key wins (an upsert)."""
    return {key_of(record, key): record for record in records}


def merged(runs, stream: str, period: str = "dayRange") -> list:
    """The records of `stream` in several runs (TapRuns, or dicts stream -> records) as an
    upserting loader keeps them: one per key, a later run's version winning."""
    key = primary_key(stream, period)
    rows: dict = {}
    for run in runs:
        rows.update(by_key(getattr(run, "records", run).get(stream, []), key))
    return list(rows.values())


def assert_same_records(what: str, got: list, expected: list, key) -> None:
    """`got` holds every record of `expected` exactly once (by key), with its values, and
    nothing else; the message counts (and shows a few) missing, extra and changed keys."""
    mine = by_key(got, key)
    theirs = by_key(expected, key)
    twice = len(got) - len(mine)
    missing = [k for k in theirs if k not in mine]
    extra = [k for k in mine if k not in theirs]
    changed = [k for k in theirs if k in mine and mine[k] != theirs[k]]
    assert not (twice or missing or extra or changed), (
        f"{what}: {len(got)} records for {len(theirs)} expected; {twice} keys emitted twice, "
        f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]}), "
        f"{len(changed)} with other values "
        f"(e.g. {[(mine[k], theirs[k]) for k in changed[:1]]})"
    )


def assert_truth(
    run_or_records, fake, streams, *, period: str = "dayRange", what: str = "", **settings
) -> None:
    """Each stream's records (of a TapRun, or a dict stream -> records) are exactly the
    fake's truth under `settings` (start_ms, end_ms, app_ids, include_anonymous), each
    key once; a stream whose truth is empty fails, as it would prove nothing."""
    records = getattr(run_or_records, "records", run_or_records)
    for stream in streams:
        expected = fake.truth(stream, period=period, **settings)
        assert expected, f"{what}{stream}: the truth is empty, so the test proves nothing"
        got = records.get(stream, [])
        assert_same_records(f"{what}{stream}", got, expected, primary_key(stream, period))
