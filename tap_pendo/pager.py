"""Keyset paging over an aggregation: sort on a total order, filter past the
last row seen, limit. A page cut off part-way resumes after its last good row,
so no row is read twice and none is skipped.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Optional, Union

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
) -> Iterator[Union[dict, PageDone]]:
    """Rows of `source` matching `where`, in `order`, page by page; a PageDone after each page."""
    failures = 0
    source_name = next(iter(source["source"]))
    page = 1
    while True:
        body = request_body(stream, keyset_page(source, where, order, position, limit))
        # Positions hold visitor ids, emails and IPs: logs name the page by number.
        label = " ".join(filter(None, (f"source {source_name}", detail, f"page {page}")))
        count = 0
        last = None
        try:
            for row in client.stream_aggregation(body, stream, label):
                if type(row) is not dict:
                    raise PendoError(
                        f"stream '{stream}': Pendo sent {str(row)[:80]!r} where a row (a JSON "
                        f"object) was expected from source {source_name}; please report this "
                        "line at the tap-pendo issue tracker"
                    )
                count += 1
                last = row
                yield row
        except BodyInterrupted as error:
            if last is not None:
                position = position_of(last, order)
                failures = 0
            failures += 1
            client.pause_before_retry(f"{stream} {label}", failures, error)
            continue
        failures = 0
        if last is not None:
            position = position_of(last, order)
        yield PageDone(position, count)
        if count < limit:
            return
        page += 1
