"""Keyset paging over an aggregation: sort on a total order, filter past the last row
seen, limit. The pager alone owns paging and the resumption of a page that was cut
off: it tries again after the last good row, so no row is read twice and none is
skipped. It yields rows and a PageEnd after each page, and returns a PagingEnd.
"""

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Optional, Union

from ..errors import PendoError
from .aggregation import keyset_page, request_body
from .client import PendoClient, RetryableError


@dataclass(frozen=True)
class PageEnd:
    """Every row up to and including `position` has been yielded; `rows` in this page."""

    position: Optional[list]
    rows: int


@dataclass(frozen=True)
class PagingEnd:
    """The pages are over: its last position, and Pendo's `startTime` of its first answer."""

    position: Optional[list]
    start_time: Optional[int]


def path_value(row: dict, path: str):
    """`row["a"]["b"]["c"]` for the path `a.b.c`; None if any part is missing."""
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
) -> Generator[Union[dict, PageEnd], None, PagingEnd]:
    """Rows of `source` matching `where`, in `order`, after `position`, page by page."""
    failures = 0
    source_name = next(k for k in source["source"] if k != "timeSeries")
    start_time = None
    page = 1
    while True:
        body = request_body(stream, keyset_page(source, where, order, position, limit))
        # Positions hold visitor ids, emails and IPs: logs name the page by number.
        label = " ".join(filter(None, (f"{stream} source {source_name}", detail, f"page {page}")))
        # After the loop (or an interruption), `row` is the last row yielded.
        count, row = 0, None
        try:
            answer = client.post_aggregation(body, stream, label)
            try:
                for count, row in enumerate(answer.rows(), 1):  # noqa: B007 - read after
                    if type(row) is not dict:
                        raise PendoError(
                            f"stream '{stream}': Pendo sent {str(row)[:80]!r} where a row (a "
                            f"JSON object) was expected from source {source_name}; please "
                            "report this line at the tap-pendo issue tracker"
                        )
                    yield row
                if start_time is None:
                    start_time = answer.start_time()
            except answer.cut_off as error:
                raise answer.retryable(error) from None
            finally:
                answer.close()
        except RetryableError as error:
            if row is not None:
                # The rows before the cut are good: the next try starts after them.
                position = position_of(row, order)
                failures = 0
            failures += 1
            client.backoff(label, failures, error)
            continue
        failures = 0
        if row is not None:
            position = position_of(row, order)
        yield PageEnd(position, count)
        if count < limit:
            return PagingEnd(position, start_time)
        page += 1
