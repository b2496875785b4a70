"""One error hierarchy for everything the client can meet; no raw httpx exception escapes."""

from __future__ import annotations

from typing import Any

from mjstudio.api.status import explain_fail_code


class MJError(Exception):
    """Base of every error the client raises."""

    title = "Error"
    hint = "Try again in a moment."

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIStatusError(MJError):
    """The provider answered with an error status (HTTP or the body's ``code``)."""

    title = "Provider refused the request"

    def __init__(self, message: str, *, status_code: int, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class BadRequestError(APIStatusError):
    """400: the provider refused the parameters."""

    title = "Invalid parameters"
    hint = "Check the parameters named in the message; nothing was created."


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""

    title = "API key refused"
    hint = "Check the API key (Settings page, MJ_API_KEY or .streamlit/secrets.toml)."


class RateLimitError(APIStatusError):
    """429: too many requests or too many running tasks."""

    title = "Rate limited"
    hint = "The provider is busy with your requests: wait a few seconds and try again."

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the provider failed."""

    title = "Provider error"
    hint = "The provider had a problem; try again later."


class APIConnectionError(MJError):
    """The provider could not be reached."""

    title = "Network problem"
    hint = "Check the network and the provider URL (Settings page)."


class APITimeoutError(APIConnectionError):
    """The provider did not answer in time."""

    title = "Timed out"
    hint = "The provider is slow to answer; try again in a moment."


class CreateOutcomeUnknown(MJError):
    """The create call may or may not have created a task (timeout, dropped connection).

    It is never retried, so a task is never paid for twice; the studio records it as
    "unknown" for the designer to check.
    """

    title = "Outcome unknown"
    hint = (
        "The provider may have started this task. It was not sent again, so you are not "
        "charged twice; check the provider's dashboard before generating it again."
    )

    def __init__(self, message: str, *, cause: MJError | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class TaskFailed(MJError):
    """The task ended in ``failed``."""

    title = "Task failed"

    def __init__(self, task_id: str, fail_code: str | None, fail_msg: str | None) -> None:
        self.task_id = task_id
        self.fail_code = fail_code
        self.fail_msg = fail_msg
        self.explanation = explain_fail_code(fail_code)
        super().__init__(f"Task {task_id} failed ({fail_code or 'no code'}): {fail_msg or ''}")

    @property
    def hint(self) -> str:  # type: ignore[override]
        """What to do about it."""
        return self.explanation


class WaitTimeout(MJError):
    """The task did not end before the wait's deadline."""

    title = "Still running"
    hint = "The task is still running at the provider; it is kept and checked again later."


FETCH_FAILED = "the URL could not be fetched"


class FetchRefused(MJError):
    """An outbound fetch the fence refused or that failed.

    The message is ``FETCH_FAILED`` plus at most a safe reason (private address refused, too
    large, timed out...): it never tells an open port from a closed one.
    """

    title = "Could not fetch"
    hint = "Only public http(s) addresses are fetched; check the URL and try again."

    def __init__(self, reason: str = "", *, retryable: bool = False) -> None:
        super().__init__(f"{FETCH_FAILED} ({reason})" if reason else FETCH_FAILED)
        self.reason = reason
        self.retryable = retryable


class ResultTooLarge(FetchRefused):
    """A fetched file over the byte cap, or an image over the pixel cap; it is not kept."""

    title = "Too large"
    hint = "The file is over the studio's size limit, so it was not kept."


class RedirectRefused(MJError):
    """An API call was redirected to another origin (or too often): not followed, key kept."""

    title = "Redirect refused"
    hint = "If the provider has moved, set its new URL on the Settings page (MJ_BASE_URL)."

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    429: RateLimitError,
}


def status_error(
    status_code: int, message: str, body: Any = None, retry_after: float | None = None
) -> APIStatusError:
    """The error class for a status code, built in one place."""
    if status_code == 429:
        return RateLimitError(message, body=body, retry_after=retry_after)
    cls = STATUS_ERRORS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    return cls(message, status_code=status_code, body=body)


def describe(exc: MJError) -> str:
    """An error as a designer reads it: what happened, then what to do."""
    return f"{exc.title}: {exc.message} — {exc.hint}"
