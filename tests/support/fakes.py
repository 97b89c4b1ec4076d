"""A fake Pendo pinned at a moment, and the config that points a tap at it."""

from __future__ import annotations

from tests.fake_pendo import FakePendo

from .moments import DAY_MS, rfc3339
from .secret import SECRET_KEY


def pinned_fake(now_ms: int, **settings) -> FakePendo:
    """A FakePendo (not started: use it in a `with`) whose clock stands at `now_ms`, with
    the suites' integration key. `settings` are FakePendo's (seed, scale, days, tz, ...)."""
    return FakePendo(key=SECRET_KEY, start_ms=now_ms, **settings)


def base_config(fake, **overrides) -> dict:
    """A config pointing at `fake`, from two days before its first activity."""
    start = fake.dataset.now_ms - (fake.dataset.days + 2) * DAY_MS
    config = {
        "x_pendo_integration_key": fake.key,
        "api_url": fake.url,
        "start_date": rfc3339(start - start % 1000).replace(".000000Z", "Z"),
        "period": "dayRange",
    }
    config.update(overrides)
    return config
