"""A fake Pendo v1 API for the tests, the demo and the benchmark.

    with FakePendo(seed=1, scale=0.1) as fake:
        requests.post(fake.url + "/api/v1/aggregation",
                      headers={"x-pendo-integration-key": fake.key}, json=...)
        fake.advance(hours=6)
        expected = fake.truth("accounts")

`python -m tests.fake_pendo` serves the same from a command line.

Modules: `dataset.py` (the generated data, described there; its parts in
`constants`, `values`, `population`, `catalog`, `activity`, `entity_rows`,
`event_rows`, `history`; saved segments and reports in `saved`), `periods.py`,
`query.py` (the aggregation engine; with `filters`, `steps`, `time_series`),
`server.py` (HTTP; with `endpoints`, `faults`, `request_log`), `truth.py` (the
records a correct tap emits; with `conventions`) and `process.py` (a client for
the fake in another process).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .server import Arrival, FakePendoServer, RequestHook

__all__ = ["Arrival", "FakePendo", "RequestHook"]


class FakePendo:
    """A generated dataset served on 127.0.0.1; a context manager that starts and stops it.

    `seed`, `scale`, `days`, `tz`, `start_ms` and `counts` shape the dataset;
    `start_ms` pins its clock (default: now, to the second), e.g. to put a
    DST change inside the data's days. `counts` overrides the number of
    accounts, visitors, features, pages, guides, trackTypes, segments or
    reports. `latency` (seconds per request) and `faults` (FaultSettings
    names, e.g. `{"p429": 0.1, "phtml": 0.05}`) shape the answers. Faults
    draw from their own random stream, seeded with `fault_seed` (default:
    `seed`).
    """

    def __init__(
        self,
        key: str = "test-key",
        seed: int = 1,
        scale: float = 1.0,
        days: int = 30,
        tz: str = "America/New_York",
        latency: float = 0.0,
        faults: dict | None = None,
        start_ms: int | None = None,
        counts: dict | None = None,
        *,
        port: int = 0,
        fault_seed: int | None = None,
    ):
        # Imported here so that the engine and the server import without the dataset.
        from .dataset import Dataset

        self.key = key
        self.dataset = Dataset(
            seed=seed, scale=scale, days=days, tz=tz, start_ms=start_ms, counts=counts
        )
        self.server = FakePendoServer(
            self.dataset,
            key,
            port=port,
            latency=latency,
            faults=faults,
            fault_seed=seed if fault_seed is None else fault_seed,
            truth=self.truth,
        )

    def start(self) -> FakePendo:
        """Serve on 127.0.0.1 (the port given, or a free one) in a daemon thread."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        self.server.stop()

    def __enter__(self) -> FakePendo:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:PORT`."""
        return self.server.url

    def advance(self, hours: float) -> None:
        """Move the fake's clock on; new activity appears."""
        self.dataset.advance(hours)

    @property
    def log(self) -> dict:
        """A snapshot of the request log (see `RequestLog.snapshot`): counts per endpoint,
        source, status class and fault, bytes sent, and `time_series` (requests,
        longest_span_ms, over_25_hours) over the aggregations with a timeSeries."""
        return self.server.log.snapshot()

    def reset_log(self) -> None:
        self.server.log.reset()

    def set_faults(self, **settings: Any) -> None:
        """Change fault probabilities, `slow_seconds`, `retry_after` or `latency` at run time."""
        self.server.faults.update(**settings)

    @contextmanager
    def hooked(self, *hooks: RequestHook) -> Iterator[FakePendo]:
        """Run `hooks` (see server.RequestHook) for every `/api/` request inside the block."""
        before = self.server.hooks
        self.server.hooks = before + hooks
        try:
            yield self
        finally:
            self.server.hooks = before

    def truth(self, stream: str, **settings: Any) -> list:
        """The rows a correct tap emits for `stream` under these settings (see truth.truth)."""
        from .truth import truth

        return truth(self.dataset, stream, **settings)
