"""Epoch milliseconds <-> RFC3339, fast enough for every row of a large sync."""

import re
from datetime import date, datetime, timedelta, timezone

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
_EPOCH_DAY = date(1970, 1, 1)
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
# The seconds and milliseconds of a minute, as text: `"07.123000Z"` at 7123.
SECONDS_TEXT = tuple(
    seconds + millis
    for seconds in [f"{s:02d}." for s in range(60)]
    for millis in [f"{m:03d}000Z" for m in range(1000)]
)
# The minutes of a day, as text: `"T05:07:"` at 307.
CLOCK_TEXT = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))


def date_text(day: int) -> str:
    """`'2018-12-02'` for the day `ms // 86400000`."""
    return (_EPOCH_DAY + timedelta(days=day)).isoformat()


def ms_to_rfc3339(ms: int) -> str:
    """`1543726800000` -> `'2018-12-02T05:00:00.000000Z'`, the format singer-python writes."""
    day, in_day = divmod(ms, DAY_MS)
    return date_text(day) + CLOCK_TEXT[in_day // MINUTE_MS] + SECONDS_TEXT[in_day % MINUTE_MS]


class _MinuteTexts(dict):
    """Minute (`ms // 60000`) -> `'2018-12-02T05:07:'`, made on first use from the day's
    text (remembered too) and a table of the clock; bounded."""

    MAX_MINUTES = 200_000

    def __init__(self):
        super().__init__()
        self.days: dict = {}  # day -> `'2018-12-02'`

    def __missing__(self, minute: int) -> str:
        if len(self) > self.MAX_MINUTES:
            self.clear()
            self.days.clear()
        day, in_day = divmod(minute, 1440)
        day_text = self.days.get(day)
        if day_text is None:
            day_text = self.days[day] = date_text(day)
        text = self[minute] = day_text + CLOCK_TEXT[in_day]
        return text


class TimeTexts:
    """The RFC3339 texts of one stream's times, remembered: the times of a sync share
    their minutes, the seconds come from a table, and period starts repeat row after
    row. Each compiled transform owns one (transform.shapes inlines the lookups), bounded
    so that memory stays flat."""

    MAX_REPEATED = 4096

    def __init__(self):
        self.minutes = _MinuteTexts()
        self.repeated: dict = {}  # ms -> full text, for values that repeat

    def text(self, ms: int) -> str:
        """ms_to_rfc3339, through the remembered minutes."""
        return self.minutes[ms // MINUTE_MS] + SECONDS_TEXT[ms % MINUTE_MS]

    def repeating(self, ms: int) -> str:
        """ms_to_rfc3339 for values that repeat row after row (period starts)."""
        text = self.repeated.get(ms)
        if text is None:
            if len(self.repeated) > self.MAX_REPEATED:
                self.repeated.clear()
            text = self.repeated[ms] = self.text(ms)
        return text


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
