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
MIN_SECRET_CHARS = 6
PERIODS = {"dayRange": "dayRange", "day": "dayRange", "hourRange": "hourRange", "hour": "hourRange"}


@dataclass(frozen=True)
class Setting:
    """One config key: the single description that the validation, `--about`, the README's
    table and meltano.yml (checked by a test) all follow."""

    name: str
    kind: str  # string, date-time, integer, number, boolean, options, app-ids, object
    description: str
    default: Any = None
    required: bool = False
    secret: bool = False
    options: tuple = ()


SETTINGS = (
    Setting(
        "x_pendo_integration_key",
        "string",
        "Pendo integration key (Settings > Integrations > Integration Keys; an admin creates "
        "it; read access is enough). Needed for the API streams; a Data Sync-only config can "
        "leave it out. Never logged.",
        secret=True,
    ),
    Setting(
        "start_date",
        "date-time",
        "RFC3339 date: the first run reads rows from here on (the event period that holds it "
        "is read whole).",
        required=True,
    ),
    Setting(
        "end_date",
        "date-time",
        "Optional RFC3339 date bounding the event streams and visitor_history (periods and "
        "events before it), for backfills in slices.",
    ),
    Setting(
        "period",
        "options",
        "Granularity of events, feature_events, page_events and track_events: a `day` or an "
        "`hour` column (`day` and `hour` are accepted too).",
        default="dayRange",
        options=("dayRange", "hourRange"),
    ),
    Setting(
        "region",
        "options",
        "The Pendo data centre of the subscription; ignored when api_url is set. A key ending "
        "in .eu means eu when no region is given.",
        default="us",
        options=tuple(REGION_URLS),
    ),
    Setting("api_url", "string", "Base URL overriding the region: a proxy, or a test server."),
    Setting(
        "app_ids",
        "app-ids",
        'Only these apps: a comma-separated string or a list of integers, e.g. "-323232,'
        '5668600916475904". Empty reads every app.',
    ),
    Setting(
        "include_anonymous_visitors",
        "boolean",
        "Also read anonymous (_PENDO_T_...) visitors in visitors and visitor_history. Event "
        "streams always include their rows.",
        default=False,
    ),
    Setting(
        "lookback_window",
        "integer",
        "Days re-read before the bookmark for late data; a day is always re-read.",
        default=0,
    ),
    Setting("request_timeout", "number", "Seconds per request.", default=300),
    Setting(
        "record_limit", "integer", "Rows per aggregation request (page size).", default=100_000
    ),
    Setting(
        "max_concurrent_requests",
        "integer",
        "Requests (and Data Sync files) in flight at once, for every stream. 4 keeps a sync's "
        "wall time bound by Pendo's answer time without putting the load of a bulk export on "
        "Pendo; a Retry-After (429, 5xx) pauses every request whatever the setting.",
        default=4,
    ),
    Setting(
        "max_retries",
        "integer",
        "Retries of one request (429, 5xx, network errors, cut-off answers) before the run stops.",
        default=8,
    ),
    Setting("user_agent", "string", "User-Agent header sent to Pendo.", default="tap-pendo"),
    Setting(
        "datasync_url",
        "string",
        "The folder that holds Pendo Data Sync's `datasync/` folder: s3://bucket/prefix, "
        "gs://bucket/prefix, az://container/prefix (or abfs://), file:// or a local path. "
        "Setting it adds the datasync_* streams.",
    ),
    Setting(
        "datasync_subscription",
        "string",
        "The subscription folder to read under datasync/, when it holds several.",
    ),
    Setting(
        "datasync_storage_options",
        "object",
        "Options of the store's filesystem (s3fs, gcsfs, adlfs): keys, a profile or role, "
        "endpoint_url, a service account file, a connection string. Without it, the store's "
        "usual credentials apply (environment, instance role). Never logged.",
        secret=True,
    ),
)
SETTING = {setting.name: setting for setting in SETTINGS}
KNOWN_KEYS = set(SETTING)


@dataclass(frozen=True)
class Config:
    """Everything a run needs from the config file, checked and typed."""

    integration_key: Optional[str]  # None: Data Sync only
    start_ms: int
    end_ms: Optional[int]
    period: str
    base_url: str
    app_ids: tuple
    include_anonymous_visitors: bool
    lookback_days: int
    request_timeout: float
    record_limit: int
    user_agent: str
    max_concurrent_requests: int
    max_retries: int
    datasync_url: Optional[str] = None
    datasync_subscription: Optional[str] = None
    datasync_storage_options: Optional[dict] = None

    @property
    def secrets(self) -> dict:
        """Every secret text of the config and what to show instead, for the filter that keeps
        them out of the logs."""
        # Short values (a region, `true`) would blank out common words; secrets are long.
        secrets = {
            text: "<storage option>"
            for text in _texts(self.datasync_storage_options)
            if len(text) >= MIN_SECRET_CHARS
        }
        if self.integration_key:
            secrets[self.integration_key] = "<integration key>"
        return secrets

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
    datasync_url = _optional_string(raw, "datasync_url")
    key = _integration_key(raw, required=datasync_url is None)
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
        include_anonymous_visitors=_boolean(raw, "include_anonymous_visitors"),
        lookback_days=_number(raw, "lookback_window", int, minimum=0),
        request_timeout=_number(raw, "request_timeout", float, minimum=1),
        record_limit=_number(raw, "record_limit", int, minimum=1),
        user_agent=_optional_string(raw, "user_agent") or SETTING["user_agent"].default,
        max_concurrent_requests=_number(raw, "max_concurrent_requests", int, minimum=1),
        max_retries=_number(raw, "max_retries", int, minimum=0),
        datasync_url=datasync_url,
        datasync_subscription=_optional_string(raw, "datasync_subscription"),
        datasync_storage_options=_object(raw, "datasync_storage_options"),
    )


def unknown_keys(raw: dict) -> list:
    """Config keys the tap does not know (probably typos), for a warning."""
    return sorted(k for k in raw if k not in KNOWN_KEYS)


def _integration_key(raw: dict, required: bool) -> Optional[str]:
    if not required and raw.get("x_pendo_integration_key") in (None, ""):
        return None
    if raw.get("x_pendo_integration_key") in (None, ""):
        raise ConfigError(
            "config is missing 'x_pendo_integration_key' (for Pendo's API) and 'datasync_url' "
            "(for Data Sync exports): add one of them (see sample_config.json)"
        )
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


def _object(raw: dict, name: str) -> Optional[dict]:
    value = raw.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"config '{name}' must be a JSON object of the store's options")
    return value


def _texts(value) -> list:
    """The strings inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


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
        return SETTING["period"].default
    if value not in PERIODS:
        raise ConfigError(f"config 'period' is {value!r}: use 'dayRange' or 'hourRange'")
    return PERIODS[value]


def _base_url(raw: dict, key: Optional[str]) -> str:
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
        region = "eu" if key and key.endswith(".eu") else SETTING["region"].default
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


def _boolean(raw: dict, name: str) -> bool:
    value = raw.get(name)
    if value in (None, ""):
        return SETTING[name].default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(f"config '{name}' is {value!r}: use true or false")


def _number(raw: dict, name: str, kind, minimum):
    value = raw.get(name)
    if value in (None, ""):
        return kind(SETTING[name].default)
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
