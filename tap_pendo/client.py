"""PendoClient: HTTP to Pendo. Auth, timeouts, retries, 429 pacing, streamed JSON.

It knows nothing of Singer: it takes request bodies and paths, and gives back
rows (Pendo's camelCase dicts) or parsed JSON documents.
"""

import http.client
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Optional

import ijson
import orjson
import requests
import singer
import urllib3

from .config import Config
from .errors import PendoError

LOGGER = singer.get_logger()
RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 60.0
# Failures while a body is read: a reset, a cut-off chunked body, a read
# timeout, or JSON that stops in the middle.
BODY_ERRORS = (ijson.JSONError, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
CONNECT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


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


class BodyInterrupted(RetryableError):
    """The answer stopped part-way; the rows read before it are good."""


class PendoClient:
    """One requests.Session to one Pendo host, shared by every stream of a run."""

    def __init__(self, config: Config, session: Optional[requests.Session] = None):
        self.config = config
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "x-pendo-integration-key": config.integration_key,
                "content-type": "application/json",
                "user-agent": config.user_agent or "tap-pendo",
            }
        )
        # Shared by every worker thread: a 429 seen by one pauses them all.
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.requests_by_stream: Counter = Counter()
        self.retries = 0

    # -- public API -----------------------------------------------------------

    def stream_aggregation(self, body: dict, stream: str, detail: str) -> Iterator[dict]:
        """POST an aggregation and yield `results.item` rows as they are parsed.

        Failures before the body starts are retried here. A failure while the
        body is read raises BodyInterrupted after the rows already yielded, so
        that the caller (a keyset pager) resumes after the last row it got.
        """
        label = f"{stream} {detail}"
        response = self._send(
            "POST", "/api/v1/aggregation", stream, label, json_body=body, streamed=True
        )
        try:
            response.raw.decode_content = True
            yield from ijson.items(response.raw, "results.item", use_float=True)
        except BODY_ERRORS as error:
            raise BodyInterrupted(
                f"the answer to {label} stopped part-way or is not JSON ({_describe(error)})"
            ) from None
        finally:
            response.close()

    def get_json(self, path: str, stream: str, params: Optional[dict] = None, quiet=False):
        """GET a small JSON document, retrying the whole request on any failure."""
        label = stream
        return self.with_retries(
            label, lambda: self._get_json_once(path, stream, label, params, quiet)
        )

    def with_retries(self, label: str, attempt):
        """Call `attempt()` until it succeeds, sleeping between RetryableErrors."""
        failures = 0
        while True:
            try:
                return attempt()
            except RetryableError as error:
                failures += 1
                self.pause_before_retry(label, failures, error)

    def pause_before_retry(self, label: str, failures: int, error: RetryableError) -> None:
        """Sleep before try number `failures + 1`, or give up with a clear PendoError."""
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
                self._not_before = max(self._not_before, time.monotonic() + delay)
        else:
            # Full jitter: spreads retries of parallel workers apart.
            delay = random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**failures))
        LOGGER.warning(
            "retry %d/%d of %s in %.1fs: %s", failures, self.config.max_retries, label, delay, error
        )
        time.sleep(delay)

    # -- one request ----------------------------------------------------------

    def _get_json_once(self, path, stream, label, params, quiet):
        response = self._send("GET", path, stream, label, params=params, quiet=quiet)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise RetryableError(
                f"the answer to {label} is not JSON ({_snippet(response.content)})"
            ) from None

    def _send(
        self, method, path, stream, label, json_body=None, params=None, streamed=False, quiet=False
    ):
        """Send once per try until a 200 arrives; map statuses to retries or clear errors."""

        def attempt():
            self._wait_for_rate_limit()
            with self._lock:
                self.requests_by_stream[stream] += 1
            (LOGGER.debug if quiet else LOGGER.info)("%s %s (%s)", method, path, label)
            try:
                response = self.session.request(
                    method,
                    self.config.base_url + path,
                    data=orjson.dumps(json_body) if json_body is not None else None,
                    params=params,
                    timeout=self.config.request_timeout,
                    stream=streamed,
                )
            except CONNECT_ERRORS as error:
                if isinstance(error, requests.ReadTimeout):
                    raise RetryableError(_describe(error)) from None
                reason = _reason(error)
                # A host that cannot be reached is a setting to check; a reset is load.
                hint = UNREACHABLE if NOT_REACHED.search(str(error)) else OVERLOADED
                raise RetryableError(
                    f"connection to {self.config.host} failed ({reason})", hint=hint
                ) from None
            self._check_status(response, method, path, label)
            return response

        return self.with_retries(label, attempt)

    def _check_status(self, response, method: str, path: str, label: str) -> None:
        status = response.status_code
        if status == 200:
            return
        body = response.content if status < 500 else b""
        response.close()
        if status in (401, 403):
            raise PendoError(
                f"the integration key was refused by {self.config.host} ({status}): "
                "check the key and the region"
            )
        if status == 429:
            raise RetryableError("429 Too Many Requests", _retry_after(response))
        if status >= 500:
            raise RetryableError(f"{status} {response.reason}")
        if status == 404:
            raise PendoError(
                f"{self.config.host} answered 404 Not Found to {method} {path}: check api_url "
                "or the region"
            )
        raise PendoError(
            f"Pendo answered {status} to {method} {path} ({label}): {_snippet(body)}; "
            "please report this line at the tap-pendo issue tracker"
        )

    def _wait_for_rate_limit(self) -> None:
        with self._lock:
            wait = self._not_before - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def _retry_after(response) -> Optional[float]:
    value = response.headers.get("Retry-After")
    try:
        return min(max(float(value), 0.0), RETRY_CAP_SECONDS * 5) if value else None
    except ValueError:
        return None


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
