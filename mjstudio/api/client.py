"""The httpx client of the Midjourney task API: auth, timeouts, retries, typed errors, wait()."""

from __future__ import annotations

import io
import logging
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from mjstudio.api.contract import (
    CREATE_PATH,
    DEFAULT_AUTH_HEADER,
    STATUS_PATH,
    TaskRequest,
    TaskStatus,
    body_code,
)
from mjstudio.api.errors import (
    APIConnectionError,
    APITimeoutError,
    CreateOutcomeUnknown,
    FetchRefused,
    MJError,
    RateLimitError,
    RedirectRefused,
    ResultTooLarge,
    ServerError,
    TaskFailed,
    WaitTimeout,
    status_error,
)
from mjstudio.api.fence import Fence, FencePolicy

log = logging.getLogger("mjstudio.api.client")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_RETRY_AFTER_S = 60.0
MAX_API_REDIRECTS = 3
MAX_RESULT_PIXELS = 80_000_000  # images.MAX_PIXELS (api/ may not import it): no bombs decoded


@dataclass(frozen=True)
class PollSchedule:
    """When to poll a task: first check, then every N seconds, until a deadline."""

    first_s: float
    every_s: float
    expected_s: float
    deadline_s: float

    def delay(self, polls_done: int) -> float:
        """Seconds to wait before poll number ``polls_done + 1``."""
        return self.first_s if polls_done == 0 else self.every_s


SCHEDULES = {
    # The seed: fast takes ~30-45 s, turbo ~15-25 s; wait ~20 s, then poll every 3 s.
    "fast": PollSchedule(first_s=20.0, every_s=3.0, expected_s=40.0, deadline_s=15 * 60),
    "turbo": PollSchedule(first_s=10.0, every_s=3.0, expected_s=20.0, deadline_s=10 * 60),
    "relax": PollSchedule(first_s=60.0, every_s=10.0, expected_s=180.0, deadline_s=60 * 60),
}


def schedule_for(speed: str | None, *, sandbox_latency: float | None = None) -> PollSchedule:
    """The polling schedule for a speed; a short one when the provider is the sandbox."""
    if sandbox_latency is not None:
        step = max(0.25, min(1.0, sandbox_latency / 4))
        return PollSchedule(step, step, sandbox_latency, max(60.0, sandbox_latency * 20))
    return SCHEDULES.get(speed or "fast", SCHEDULES["fast"])


def mask_key(key: str | None) -> str:
    """A key shown safely: its length hidden, at most its last four characters visible."""
    if not key:
        return "(none)"
    return "••••••••" + (key[-4:] if len(key) >= 12 else "")


class MJClient:
    """Client of the task API for one provider URL and key (``mjstudio.config`` reads them)."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        auth_header: str = DEFAULT_AUTH_HEADER,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        fence: FencePolicy | None = None,
        max_pixels: int = MAX_RESULT_PIXELS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.auth_header = auth_header or DEFAULT_AUTH_HEADER
        self.max_retries = max_retries
        self.max_pixels = max_pixels
        self._sleep = sleep
        try:
            self._origin = httpx.URL(self.base_url)
            self._http = httpx.Client(
                base_url=self.base_url,
                timeout=timeout,
                transport=transport,
                follow_redirects=True,  # on the provider's own origin only: see _stay_on_origin
                max_redirects=MAX_API_REDIRECTS,
                event_hooks={"response": [self._stay_on_origin]},
            )
        except httpx.InvalidURL:
            raise APIConnectionError(f"The provider URL {self.base_url!r} is not valid") from None
        # Result files: through the fence, the provider's own host always allowed.
        self._files = Fence((fence or FencePolicy()).with_own_host(self.base_url))

    def __repr__(self) -> str:
        return f"MJClient(base_url={self.base_url!r}, api_key={mask_key(self._key)!r})"

    def __enter__(self) -> MJClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools."""
        self._http.close()
        self._files.close()

    def _headers(self) -> dict[str, str]:
        return auth_headers(self.auth_header, self._key)

    # ------------------------------------------------------------------ the two calls

    def create(self, request: TaskRequest) -> str:
        """Create a task and return its id.

        Retried only when no task can have been created (429, connection refused); a timeout
        or dropped connection raises CreateOutcomeUnknown instead, so nothing is paid twice.
        """
        body = request.to_api()
        for attempt in range(self.max_retries + 1):
            try:
                data = self._send("POST", CREATE_PATH, json=body)
            except RateLimitError as exc:
                if attempt == self.max_retries:
                    raise
                self._backoff(attempt, exc.retry_after)
                continue
            except _NotSent as exc:
                if attempt == self.max_retries:
                    raise exc.error from None
                self._backoff(attempt)
                continue
            except (APITimeoutError, APIConnectionError, ServerError) as exc:
                raise CreateOutcomeUnknown(
                    f"The create call ended without an answer ({exc.message}); "
                    "the task may or may not exist.",
                    cause=exc,
                ) from None
            task_id = data.get("taskId") if isinstance(data, dict) else None
            if not task_id:
                raise CreateOutcomeUnknown("The provider accepted the call but sent no taskId.")
            return str(task_id)
        raise AssertionError("unreachable")

    def status(self, task_id: str) -> TaskStatus:
        """Fetch a task's status; retried on 429, 5xx, timeouts and connection errors."""
        for attempt in range(self.max_retries + 1):
            try:
                data = self._send("GET", STATUS_PATH, params={"taskId": task_id})
                return TaskStatus.from_data(data, task_id)
            except (RateLimitError, ServerError, APIConnectionError, _NotSent) as exc:
                if attempt == self.max_retries:
                    raise _unwrap(exc) from None
                self._backoff(attempt, getattr(exc, "retry_after", None))
        raise AssertionError("unreachable")

    def download(self, url: str) -> bytes:
        """Download a result file through the fence (no API key sent; byte and pixel caps).

        Retried like status on a failed connection, 429 and 5xx; a refusal (address, size,
        deadline, redirects) is raised at once as FetchRefused / ResultTooLarge.
        """
        for attempt in range(self.max_retries + 1):
            try:
                got = self._files.get(url)
            except FetchRefused as exc:
                if not exc.retryable:
                    raise
                err: MJError = exc
            else:
                if got.status_code < 300:
                    _check_pixels(got.content, self.max_pixels)
                    return got.content
                err = status_error(got.status_code, f"Download: HTTP {got.status_code}")
                if got.status_code < 500 and got.status_code != 429:
                    raise err
            if attempt == self.max_retries:
                raise err
            self._backoff(attempt)
        raise AssertionError("unreachable")

    def wait(
        self,
        task_id: str,
        *,
        speed: str = "fast",
        schedule: PollSchedule | None = None,
        on_progress: Callable[[TaskStatus, float], None] | None = None,
    ) -> TaskStatus:
        """Poll until the task ends; returns the success status or raises TaskFailed/WaitTimeout."""
        plan = schedule or schedule_for(speed)
        start = time.monotonic()
        polls = 0
        while True:
            self._sleep(plan.delay(polls))
            status = self.status(task_id)
            polls += 1
            elapsed = time.monotonic() - start
            if on_progress:
                on_progress(status, elapsed)
            if status.is_final:
                if status.state == "failed":
                    raise TaskFailed(task_id, status.fail_code, status.fail_msg)
                return status
            if elapsed + plan.every_s > plan.deadline_s:
                raise WaitTimeout(f"Task {task_id} still {status.state} after {elapsed:.0f} s")

    # ------------------------------------------------------------------ plumbing

    def _backoff(self, attempt: int, retry_after: float | None = None) -> None:
        if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER_S:
            delay = retry_after
        else:
            delay = min(8.0, 0.5 * 2**attempt)
        self._sleep(delay * random.uniform(0.8, 1.2) if retry_after is None else delay)

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        """One HTTP call: returns the envelope's ``data`` or raises a typed error."""
        try:
            resp = self._http.request(method, path, headers=self._headers(), **kwargs)
        except SEND_ERRORS as exc:
            raise request_error(exc, f"{method} {path}") from None
        log.debug("%s %s -> %s", method, path, resp.status_code)
        return envelope_data(resp, self._key)

    def _stay_on_origin(self, response: httpx.Response) -> None:
        """Response hook: refuse a redirect off the provider's origin before it is followed."""
        check_origin(self._origin, response)


def auth_headers(auth_header: str, key: str) -> dict[str, str]:
    """The header that carries the key (``Authorization: Bearer <key>`` by default)."""
    if not key:
        return {}
    if auth_header.lower() == "authorization":
        return {"Authorization": f"Bearer {key}"}
    return {auth_header: key}


def envelope_data(resp: httpx.Response, key: str = "") -> Any:
    """An answer's envelope ``data``, or its typed error (the body's code counts; key hidden)."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    code = body_code(resp.status_code, body)
    if code >= 400:
        msg = body.get("msg") if isinstance(body, dict) else None
        text = str(msg or resp.reason_phrase or f"HTTP {code}")
        text = text.replace(key, "[key]") if key else text
        raise status_error(code, text, body, _retry_after(resp.headers.get("Retry-After")))
    return body.get("data") if isinstance(body, dict) else None


def check_origin(origin: httpx.URL, response: httpx.Response) -> None:
    """Refuse (raise) a redirect off the provider's origin before it is followed."""
    if not response.has_redirect_location:
        return
    target = response.request.url.join(response.headers["location"])
    if not same_origin(origin, target):
        raise _OffOrigin(response.status_code, target.host)


class _NotSent(MJError):
    """Internal: the request surely never reached the provider (safe to repeat)."""

    def __init__(self, error: APIConnectionError) -> None:
        super().__init__(error.message)
        self.error = error


class _OffOrigin(Exception):
    """Internal: an API call was redirected off the provider's origin."""

    def __init__(self, status_code: int, host: str) -> None:
        super().__init__(host)
        self.status_code = status_code
        self.host = host


def same_origin(base: httpx.URL, target: httpx.URL) -> bool:
    """True when ``target`` is on ``base``'s origin (an http -> https upgrade of it counts)."""
    if target.host != base.host:
        return False
    if target.scheme == base.scheme:
        return target.port == base.port
    upgrade = base.scheme == "http" and target.scheme == "https"
    return upgrade and base.port in (None, 80) and target.port in (None, 443)


def _check_pixels(data: bytes, max_pixels: int) -> None:
    """Refuse an image whose header declares more than ``max_pixels`` (nothing is decoded)."""
    from PIL import Image  # here, not at import: the server's start-up path stays light

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError:
        raise ResultTooLarge("too many pixels") from None
    except Exception:  # noqa: BLE001 - not an image: decoding it later says so
        return
    if width * height > max_pixels:
        raise ResultTooLarge(f"too many pixels: {width}x{height}")


SEND_ERRORS = (_OffOrigin, httpx.HTTPError, httpx.InvalidURL)


def request_error(exc: Exception, what: str) -> MJError:
    """Our error for a request that got no answer we can read (``SEND_ERRORS``)."""
    if isinstance(exc, _OffOrigin):
        return RedirectRefused(
            f"{what}: the provider redirected the call to another host "
            f"({exc.host}); it was not followed, so the key was not sent there",
            status_code=exc.status_code,
        )
    if isinstance(exc, httpx.TooManyRedirects):
        return RedirectRefused(f"{what}: redirected too many times")
    return _transport_error(exc, what)  # type: ignore[arg-type]


def _transport_error(exc: httpx.HTTPError | httpx.InvalidURL, what: str) -> MJError:
    """Map an httpx exception onto our hierarchy (_NotSent when nothing left this machine)."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return _NotSent(APITimeoutError(f"{what}: could not connect in time"))
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{what}: no answer in time")
    if isinstance(exc, httpx.ConnectError):
        return _NotSent(APIConnectionError(f"{what}: connection refused or host unreachable"))
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return APIConnectionError(f"{what}: the provider URL is not valid")
    return APIConnectionError(f"{what}: the connection failed ({type(exc).__name__})")


def _unwrap(exc: MJError) -> MJError:
    return exc.error if isinstance(exc, _NotSent) else exc


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
