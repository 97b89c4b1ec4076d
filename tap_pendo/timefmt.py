"""Epoch milliseconds <-> RFC3339, fast enough for every row of a large sync."""

import re
from datetime import date, datetime, timedelta, timezone

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_EPOCH_DAY = date(1970, 1, 1)
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
# Dates repeat across rows (every row of a day shares it), so the calendar
# arithmetic is done once per day; the time of day is plain integer maths.
_date_text: dict = {}


def ms_to_rfc3339(ms: int) -> str:
    """`1543726800000` -> `'2018-12-02T05:00:00.000000Z'`, the format singer-python writes."""
    day, rest = divmod(ms, DAY_MS)
    text = _date_text.get(day)
    if text is None:
        text = _date_text[day] = (_EPOCH_DAY + timedelta(days=day)).isoformat()
    hours, rest = divmod(rest, HOUR_MS)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{text}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}000Z"


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
