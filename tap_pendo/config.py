"""The config file, validated once before any request, into a typed Config."""

import re
from dataclasses import dataclass
from typing import Any, Optional

from .errors import ConfigError
from .timefmt import parse_datetime_ms

REGION_URLS = {
    "us": "https://app.pendo.io",
    "us1": "https://us1.app.pendo.io",
    "eu": "https://app.eu.pendo.io",
    "jpn": "https://app.jpn.pendo.io",
    "au": "https://app.au.pendo.io",
}
PERIODS = {"dayRange": "dayRange", "day": "dayRange", "hourRange": "hourRange", "hour": "hourRange"}
DEFAULT_REQUEST_TIMEOUT = 300.0
DEFAULT_RECORD_LIMIT = 100_000
DEFAULT_MAX_CONCURRENT_REQUESTS = 8
DEFAULT_MAX_RETRIES = 8
KNOWN_KEYS = {
    "x_pendo_integration_key",
    "start_date",
    "end_date",
    "period",
    "region",
    "api_url",
    "app_ids",
    "include_anonymous_visitors",
    "lookback_window",
    "request_timeout",
    "record_limit",
    "user_agent",
    "max_concurrent_requests",
    "max_retries",
}


@dataclass(frozen=True)
class Config:
    """Everything a run needs from the config file, checked and typed."""

    integration_key: str
    start_ms: int
    end_ms: Optional[int]
    period: str
    base_url: str
    app_ids: tuple
    include_anonymous_visitors: bool
    lookback_days: int
    request_timeout: float
    record_limit: int
    user_agent: Optional[str]
    max_concurrent_requests: int
    max_retries: int

    @property
    def host(self) -> str:
        """The host name, for messages such as 'the key was refused by app.eu.pendo.io'."""
        return re.sub(r"^[a-z]+://", "", self.base_url).split("/")[0]

    def __repr__(self) -> str:
        # The key must never reach a log line, even through a repr.
        return (
            f"Config(base_url={self.base_url!r}, period={self.period!r}, app_ids={self.app_ids!r})"
        )


def load_config(raw: Any) -> Config:
    """Check every value of a parsed config file; raise ConfigError naming the key and the fix."""
    if not isinstance(raw, dict):
        raise ConfigError("the config file must hold a JSON object such as sample_config.json")
    key = _integration_key(raw)
    start_ms = _date(raw, "start_date", required=True)
    end_ms = _date(raw, "end_date", required=False)
    if end_ms is not None and end_ms <= start_ms:
        raise ConfigError("config 'end_date' must be later than 'start_date'")
    return Config(
        integration_key=key,
        start_ms=start_ms,
        end_ms=end_ms,
        period=_period(raw.get("period")),
        base_url=_base_url(raw, key),
        app_ids=_app_ids(raw.get("app_ids")),
        include_anonymous_visitors=_boolean(raw, "include_anonymous_visitors", False),
        lookback_days=_number(raw, "lookback_window", 0, int, minimum=0),
        request_timeout=_number(raw, "request_timeout", DEFAULT_REQUEST_TIMEOUT, float, minimum=1),
        record_limit=_number(raw, "record_limit", DEFAULT_RECORD_LIMIT, int, minimum=1),
        user_agent=_optional_string(raw, "user_agent"),
        max_concurrent_requests=_number(
            raw, "max_concurrent_requests", DEFAULT_MAX_CONCURRENT_REQUESTS, int, minimum=1
        ),
        max_retries=_number(raw, "max_retries", DEFAULT_MAX_RETRIES, int, minimum=0),
    )


def unknown_keys(raw: dict) -> list:
    """Config keys the tap does not know (probably typos), for a warning."""
    return sorted(k for k in raw if k not in KNOWN_KEYS)


def _integration_key(raw: dict) -> str:
    key = _required_string(raw, "x_pendo_integration_key")
    if not re.fullmatch(r"[\x21-\x7e]+", key):
        # An HTTP header cannot carry it, and requests would echo it in its error.
        raise ConfigError(
            "config 'x_pendo_integration_key' holds a space, a line break or an invisible "
            "character: copy the key again from Pendo (Settings > Integrations)"
        )
    return key


def _required_string(raw: dict, name: str) -> str:
    value = raw.get(name)
    if value is None or value == "":
        raise ConfigError(f"config is missing '{name}': add it (see sample_config.json)")
    if not isinstance(value, str):
        raise ConfigError(f"config '{name}' must be a string")
    return value.strip()


def _optional_string(raw: dict, name: str) -> Optional[str]:
    value = raw.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"config '{name}' must be a string")
    return value


def _date(raw: dict, name: str, required: bool) -> Optional[int]:
    value = raw.get(name)
    if value in (None, ""):
        if required:
            raise ConfigError(
                f"config is missing '{name}': add an RFC3339 date such as 2024-01-01T00:00:00Z"
            )
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"config '{name}' must be an RFC3339 date string such as 2024-01-01T00:00:00Z"
        )
    try:
        return parse_datetime_ms(value)
    except ValueError:
        raise ConfigError(
            f"config '{name}' is {value!r}, not a valid RFC3339 date: use e.g. 2024-01-01T00:00:00Z"
        ) from None


def _period(value: Any) -> str:
    if value in (None, ""):
        return "dayRange"
    if value not in PERIODS:
        raise ConfigError(f"config 'period' is {value!r}: use 'dayRange' or 'hourRange'")
    return PERIODS[value]


def _base_url(raw: dict, key: str) -> str:
    api_url = raw.get("api_url")
    if api_url not in (None, ""):
        if not isinstance(api_url, str) or not re.match(r"^https?://[^/\s]+", api_url):
            raise ConfigError(
                f"config 'api_url' is {api_url!r}: use a URL such as https://app.pendo.io"
            )
        return api_url.rstrip("/")
    region = raw.get("region")
    if region in (None, ""):
        # Older taps chose the EU host from a key ending in ".eu"; keep that working.
        region = "eu" if key.endswith(".eu") else "us"
    if not isinstance(region, str) or region.lower() not in REGION_URLS:
        raise ConfigError(f"config 'region' is {region!r}: use one of {', '.join(REGION_URLS)}")
    return REGION_URLS[region.lower()]


def _app_ids(value: Any) -> tuple:
    """App ids as a tuple of ints; empty means every app."""
    if value in (None, "", []):
        return ()
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        items = str(value).split(",")
    elif isinstance(value, list):
        items = value
    else:
        raise ConfigError("config 'app_ids' must be a comma-separated string or a list of integers")
    app_ids = []
    for item in items:
        text = str(item).strip() if not isinstance(item, bool) else "?"
        if isinstance(item, float) or not re.fullmatch(r"-?\d+", text):
            raise ConfigError(
                f"config 'app_ids' holds {item!r}, which is not an integer app id: "
                'use e.g. "-323232,5668600916475904"'
            )
        app_ids.append(int(text))
    return tuple(dict.fromkeys(app_ids))


def _boolean(raw: dict, name: str, default: bool) -> bool:
    value = raw.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(f"config '{name}' is {value!r}: use true or false")


def _number(raw: dict, name: str, default, kind, minimum):
    value = raw.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        value = "?"
    try:
        number = kind(value)  # int() and float() take surrounding spaces
        if kind is int and isinstance(value, float) and value != int(value):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"config '{name}' is {value!r}: use a number") from None
    if number < minimum:
        raise ConfigError(f"config '{name}' is {value!r}: use a number of at least {minimum}")
    return number
