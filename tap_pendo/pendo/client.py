"""PendoClient: HTTP to Pendo. Auth, timeouts, the retry policy, 429 pacing, streamed JSON.

It knows nothing of Singer: it takes request bodies and paths, and gives back
rows (Pendo's camelCase dicts) or parsed JSON documents. Every request is
reported to an observer (stream, HTTP status, seconds), which makes the
metrics of it.
"""

import email.utils
import http.client
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timezone
from typing import Optional

import ijson
import orjson
import requests
import singer
import urllib3

from ..config import Config
from ..errors import PendoError

LOGGER = singer.get_logger()
RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 60.0
RETRY_AFTER_CAP_SECONDS = 5 * RETRY_CAP_SECONDS
# Failures while a body is read: a reset, a cut-off chunked body, a read
# timeout, or JSON that stops in the middle.
BODY_ERRORS = (ijson.JSONError, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
CONNECT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# An empty answer is `{"startTime":…,"results":[]}`: its whole body fits in this.
HEAD_BYTES = 4096
START_TIME = re.compile(rb'^\s*\{\s*"startTime"\s*:\s*(-?\d+)')

OVERLOADED = "Pendo may be overloaded; run again later"
UNREACHABLE = "check api_url or the region, and the network"
NOT_REACHED = re.compile(
    r"refused|Name or service|resolve|No route|unreachable|ConnectTimeout|connect timeout", re.I
)


class RetryableError(Exception):
    """A failure worth another try: 429, 5xx, a reset, a timeout, a cut-off body.

    `hint` says what to do if it outlasts the retries.
    """

    def __init__(self, message: str, retry_after: Optional[float] = None, hint=OVERLOADED):
        super().__init__(message)
        self.retry_after = retry_after
        self.hint = hint


class _HeadKeeper:
    """A file-like reader that keeps the first HEAD_BYTES it passes on."""

    def __init__(self, raw):
        self._raw = raw
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        return data


class AggregationAnswer:
    """A 200 answer of POST /api/v1/aggregation, read as a stream of rows."""

    def __init__(self, response: requests.Response, label: str):
        response.raw.decode_content = True
        self._response = response
        self._reader = _HeadKeeper(response.raw)
        self._label = label

    # What reading the rows raises when the body stops part-way (a reset, a cut-off
    # chunk, a read timeout, JSON that stops): the rows before it are good.
    cut_off = BODY_ERRORS

    def rows(self) -> Iterator[dict]:
        """`results.item` as it is parsed; `cut_off` errors when the body stops part-way.
        (No generator of its own around ijson's: that layer cost 2% of a sync's CPU.)"""
        return ijson.items(self._reader, "results.item", use_float=True)

    def retryable(self, error: BaseException) -> RetryableError:
        """The retryable error for a `cut_off` one."""
        return RetryableError(f"the answer to {self._label} stopped part-way ({_describe(error)})")

    def start_time(self) -> Optional[int]:
        """The answer's `startTime` (epoch ms) when it opens the body, as Pendo sends it."""
        found = START_TIME.match(self._reader.head)
        return int(found.group(1)) if found else None

    def close(self) -> None:
        self._response.close()


class PendoClient:
    """One requests.Session to one Pendo host, shared by every worker of a run."""

    def __init__(
        self,
        config: Config,
        session: Optional[requests.Session] = None,
        observe: Optional[Callable[[str, int, float], None]] = None,
        clock: Optional["Clock"] = None,
    ):
        self.config = config
        self._clock = clock or Clock()
        self.session = session or _session(config.max_concurrent_requests)
        self.session.headers.update(
            {
                "x-pendo-integration-key": config.integration_key,
                "content-type": "application/json",
                "user-agent": config.user_agent,
            }
        )
        # `observe(stream, http_status, seconds)` for every try; status 0: no answer.
        self._observe = observe or (lambda stream, status, seconds: None)
        # Shared by every worker thread: a 429 seen by one pauses them all.
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.requests_by_stream: Counter = Counter()
        self.retries = 0

    # -- requests -------------------------------------------------------------

    def post_aggregation(self, body: dict, stream: str, label: str) -> AggregationAnswer:
        """POST an aggregation; its answer once Pendo has said 200. Raises RetryableError
        (to be retried by the caller, which knows where to resume) or PendoError."""
        response = self._send("POST", "/api/v1/aggregation", stream, label, json_body=body)
        return AggregationAnswer(response, label)

    def get_json(self, path: str, stream: str, params: Optional[dict] = None, quiet=False):
        """GET a small JSON document, retrying the whole request on any retryable failure."""
        failures = 0
        while True:
            try:
                response = self._send("GET", path, stream, stream, params=params, quiet=quiet)
                try:
                    content = response.content
                except (*CONNECT_ERRORS, *BODY_ERRORS) as error:
                    raise RetryableError(
                        f"the answer to {stream} stopped part-way ({_describe(error)})"
                    ) from None
                try:
                    return orjson.loads(content)
                except orjson.JSONDecodeError:
                    raise RetryableError(
                        f"the answer to {stream} is not JSON or stopped part-way "
                        f"({_snippet(content)})"
                    ) from None
            except RetryableError as error:
                failures += 1
                self.backoff(stream, failures, error)

    # -- the retry policy -----------------------------------------------------

    def backoff(self, label: str, failures: int, error: RetryableError) -> None:
        """Sleep before try number `failures + 1`, or give up with a clear PendoError.

        The one retry policy of the tap: the pager and get_json loop over it.
        """
        if failures > self.config.max_retries:
            raise PendoError(
                f"gave up on {label} after {failures} tries: {error}. "
                f"{error.hint} (the state resumes where this stopped)"
            )
        with self._lock:
            self.retries += 1
        if error.retry_after is not None:
            delay = error.retry_after
            with self._lock:
                self._not_before = max(self._not_before, self._clock.monotonic() + delay)
        else:
            # Full jitter: spreads retries of parallel workers apart.
            delay = random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**failures))
        LOGGER.warning(
            "retry %d/%d of %s in %.1fs: %s", failures, self.config.max_retries, label, delay, error
        )
        self._clock.sleep(delay)

    # -- one try --------------------------------------------------------------

    def _send(self, method, path, stream, label, json_body=None, params=None, quiet=False):
        """One try; a 200 with a JSON body, or RetryableError / PendoError."""
        self._wait_for_rate_limit()
        with self._lock:
            self.requests_by_stream[stream] += 1
        (LOGGER.debug if quiet else LOGGER.info)("%s %s (%s)", method, path, label)
        started = self._clock.monotonic()
        try:
            response = self.session.request(
                method,
                self.config.base_url + path,
                data=orjson.dumps(json_body) if json_body is not None else None,
                params=params,
                timeout=self.config.request_timeout,
                stream=True,
            )
        except CONNECT_ERRORS as error:
            self._observe(stream, 0, self._clock.monotonic() - started)
            if isinstance(error, requests.ReadTimeout):
                raise RetryableError(_describe(error)) from None
            # A host that cannot be reached is a setting to check; a reset is load.
            hint = UNREACHABLE if NOT_REACHED.search(str(error)) else OVERLOADED
            raise RetryableError(
                f"connection to {self.config.host} failed ({_reason(error)})", hint=hint
            ) from None
        self._observe(stream, response.status_code, self._clock.monotonic() - started)
        self._check_status(response, method, path, label)
        return response

    def _check_status(self, response, method: str, path: str, label: str) -> None:
        status = response.status_code
        if status == 200:
            self._check_json(response, label)
            return
        body = response.content if status < 500 else b""
        response.close()
        if status in (401, 403):
            raise PendoError(
                f"the integration key was refused by {self.config.host} ({status}): "
                "check the key and the region"
            )
        # Retry-After: Pendo's (or a proxy's) own word on when to try again.
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._clock.now())
        if status == 429:
            raise RetryableError("429 Too Many Requests", retry_after)
        if status >= 500:
            raise RetryableError(f"{status} {response.reason}", retry_after)
        if status == 404:
            raise PendoError(
                f"{self.config.host} answered 404 Not Found to {method} {path}: check api_url "
                "or the region"
            )
        raise PendoError(
            f"Pendo answered {status} to {method} {path} ({label}): {_snippet(body)}; "
            "please report this line at the tap-pendo issue tracker"
        )

    def _check_json(self, response, label: str) -> None:
        """A 200 that is not JSON is not Pendo's answer (a proxy's login page, a maintenance
        page): trying again would only repeat it, so the run ends here."""
        content_type = response.headers.get("content-type") or ""
        if "json" in content_type.lower():
            return
        response.close()
        raise PendoError(
            f"{self.config.host} answered the request for {label} with "
            f"{content_type or 'no content type'}, not Pendo's JSON: check api_url or the "
            "region, and any proxy or firewall between the tap and Pendo"
        )

    def _wait_for_rate_limit(self) -> None:
        with self._lock:
            wait = self._not_before - self._clock.monotonic()
        if wait > 0:
            self._clock.sleep(wait)


def _session(workers: int) -> requests.Session:
    """A session whose connection pool keeps a connection for every worker."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=workers + 2)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Clock:
    """The clocks and the sleep of the client: the system's, or a test's."""

    monotonic = staticmethod(time.monotonic)
    now = staticmethod(time.time)  # epoch seconds, for an HTTP-date
    sleep = staticmethod(time.sleep)


def retry_after_seconds(value: Optional[str], now: float) -> Optional[float]:
    """A Retry-After header as seconds to wait from `now` (epoch seconds): delay-seconds
    (`120`) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`); None if absent or unreadable.
    Bounded, so that a wrong header cannot stall a run for hours."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # an HTTP-date is GMT; obsolete forms may lack the zone
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = moment.timestamp() - now
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


def _snippet(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    if not text:
        return "empty body"
    return text[:200] + ("..." if len(text) > 200 else "")


def _reason(error: BaseException) -> str:
    """The innermost reason of a connection error, e.g. 'Connection refused'."""
    text = str(error)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if found:
        return found[-1].strip()
    found = re.findall(r"(Remote end closed connection without response|Connection aborted)", text)
    return found[0] if found else type(error).__name__


def _describe(error: BaseException) -> str:
    """A short description of a network error, without request headers."""
    text = " ".join(str(error).split())
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(error).__name__}: {text}"
