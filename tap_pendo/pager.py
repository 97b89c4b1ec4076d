"""Keyset paging over an aggregation: sort on a total order, filter past the
last row seen, limit. A page cut off part-way resumes after its last good row,
so no row is read twice and none is skipped.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Optional

from .aggregation import keyset_page, request_body
from .client import BodyInterrupted, PendoClient
from .errors import PendoError


@dataclass(frozen=True)
class PageDone:
    """Every row up to and including `position` has been yielded."""

    position: Optional[list]
    rows: int


def path_value(row: dict, path: str):
    """`row["metadata"]["auto"]["lastupdated"]` for `metadata.auto.lastupdated`; None if missing."""
    if "." not in path:
        return row.get(path)
    value = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def position_of(row: dict, order: Sequence[str]) -> list:
    """The row's values in the keyset order."""
    return [path_value(row, field) for field in order]


def keyset_rows(
    client: PendoClient,
    stream: str,
    source: dict,
    where: Optional[str],
    order: Sequence[str],
    limit: int,
    position: Optional[list] = None,
    detail: str = "",
    page_end: Callable = PageDone,
) -> Iterator:
    """Rows of `source` matching `where`, in `order`, page by page.

    After each page it yields `page_end(position, rows)`: a PageDone unless the
    caller makes something else of it (a Checkpoint), so that callers can
    pass the rows on with `yield from`, the cheapest way per row.
    """
    failures = 0
    source_name = next(iter(source["source"]))
    page = 1
    while True:
        body = request_body(stream, keyset_page(source, where, order, position, limit))
        # Positions hold visitor ids, emails and IPs: logs name the page by number.
        label = " ".join(filter(None, (f"source {source_name}", detail, f"page {page}")))
        # After the loop (or an interruption), `row` is the last row yielded.
        count, row = 0, None
        try:
            rows = enumerate(client.stream_aggregation(body, stream, label), 1)
            for count, row in rows:  # noqa: B007 - both are read after the loop
                if type(row) is not dict:
                    raise PendoError(
                        f"stream '{stream}': Pendo sent {str(row)[:80]!r} where a row (a JSON "
                        f"object) was expected from source {source_name}; please report this "
                        "line at the tap-pendo issue tracker"
                    )
                yield row
        except BodyInterrupted as error:
            if row is not None:
                position = position_of(row, order)
                failures = 0
            failures += 1
            client.pause_before_retry(f"{stream} {label}", failures, error)
            continue
        failures = 0
        if row is not None:
            position = position_of(row, order)
        yield page_end(position, count)
        if count < limit:
            return
        page += 1
