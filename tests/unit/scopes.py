"""Scopes of the reader kinds built by hand for the unit tests, from RFC3339 literals."""

from datetime import datetime

from tap_pendo.readers.windows import WindowScope
from tap_pendo.streams import STREAMS


def ms(text: str) -> int:
    """`2026-11-01T10:00:00Z` as epoch ms."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def window_scope(lower: str, upper: str, period="dayRange", stream="feature_events", **more):
    """The windows of `stream` over [lower, upper), a first run's."""
    defaults = dict(
        stream=STREAMS[stream],
        period=period,
        lower_ms=ms(lower),
        upper_ms=ms(upper),
        start_ms=ms(lower),
        end_ms=None,
        position=None,
        bookmark_ms=None,
        sync_start_ms=ms(upper),
        params=None,
        record_limit=100,
    )
    return WindowScope(**{**defaults, **more})
