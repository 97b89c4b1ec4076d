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
_minute_text: dict = {}
_SECONDS_TEXT = tuple(f"{ms // 1000:02d}.{ms % 1000:03d}000Z" for ms in range(MINUTE_MS))


def ms_to_rfc3339(ms: int) -> str:
    """`1543726800000` -> `'2018-12-02T05:00:00.000000Z'`, the format singer-python writes."""
    minute, rest = divmod(ms, MINUTE_MS)
    text = _minute_text.get(minute)
    if text is None:
        if len(_minute_text) > 500_000:
            _minute_text.clear()
        day, minutes = divmod(minute, 1440)
        date_text = (_EPOCH_DAY + timedelta(days=day)).isoformat()
        text = _minute_text[minute] = f"{date_text}T{minutes // 60:02d}:{minutes % 60:02d}:"
    return text + _SECONDS_TEXT[rest]


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
