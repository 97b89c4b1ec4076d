"""Epoch milliseconds <-> RFC3339, fast enough for every row of a large sync."""

import re
from datetime import date, datetime, timedelta, timezone

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_EPOCH_DAY = date(1970, 1, 1)
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
MINUTE_MS = 60_000
# Times of one sync share their minutes: the text up to the minute is made
# once per minute, the seconds and milliseconds come from a table.
MINUTE_TEXT: dict = {}
SECONDS_TEXT = tuple(
    seconds + millis
    for seconds in [f"{s:02d}." for s in range(60)]
    for millis in [f"{m:03d}000Z" for m in range(1000)]
)


def minute_text(minute: int) -> str:
    """`'2018-12-02T05:00:'` for the minute `ms // 60000`, remembered."""
    if len(MINUTE_TEXT) > 500_000:
        MINUTE_TEXT.clear()
    day, minutes = divmod(minute, 1440)
    date_text = (_EPOCH_DAY + timedelta(days=day)).isoformat()
    text = MINUTE_TEXT[minute] = f"{date_text}T{minutes // 60:02d}:{minutes % 60:02d}:"
    return text


def ms_to_rfc3339(ms: int) -> str:
    """`1543726800000` -> `'2018-12-02T05:00:00.000000Z'`, the format singer-python writes.

    transform.ShapeMapper inlines the same two lookups into its compiled code.
    """
    return (MINUTE_TEXT.get(ms // MINUTE_MS) or minute_text(ms // MINUTE_MS)) + SECONDS_TEXT[
        ms % MINUTE_MS
    ]


def parse_datetime_ms(text: str) -> int:
    """RFC3339 (or a plain date) -> epoch ms, UTC when no offset is given. ValueError if invalid."""
    if not isinstance(text, str) or not _RFC3339.match(text.strip()):
        raise ValueError(f"not an RFC3339 date: {text!r}")
    text = text.strip().replace("t", "T").replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(_six_digit_fraction(text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return delta // timedelta(milliseconds=1)


def _six_digit_fraction(text: str) -> str:
    # fromisoformat before Python 3.11 takes exactly 3 or 6 fraction digits.
    return re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)


def now_ms() -> int:
    """The current time in epoch ms."""
    return int(datetime.now(timezone.utc).timestamp() * 1000)
