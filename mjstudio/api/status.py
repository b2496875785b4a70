"""The task API's answers: task state and status, parsed tolerantly, and the envelopes.

Real providers differ (api-notes.md, "Tolerance"): the body's ``code`` may carry the error,
``resultJson`` may be a string or an object, states vary in case, fields may be missing.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

FAIL_CODES = {
    "CONTENT_VIOLATION": (
        "The prompt or image was refused by the provider's content rules. "
        "Reword the prompt (or pick another image) and try again."
    ),
    "INVALID_IMAGE_URL": (
        "The provider could not fetch or read a reference image. It must be a public "
        "JPG, PNG or WebP URL (or data: URL) of at most 10 MB."
    ),
    "INVALID_TASK_ID": (
        "The parent task does not exist for this key, or has no image at that index. "
        "Pick a finished task from this workspace."
    ),
}


def explain_fail_code(code: str | None) -> str:
    """A human explanation of a task fail code (generic for unknown codes)."""
    if code and code in FAIL_CODES:
        return FAIL_CODES[code]
    return "The provider reported a failure; its message below says why."


class TaskState(StrEnum):
    """A task's state as the studio understands it."""

    PENDING = "pending"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True for success and failed."""
        return self in (TaskState.SUCCESS, TaskState.FAILED)

    @classmethod
    def parse(cls, raw: Any) -> TaskState:
        """Map a provider's state (any case; unknown means still running) onto ours."""
        text = str(raw or "").strip().lower()
        aliases = {
            "success": cls.SUCCESS,
            "succeeded": cls.SUCCESS,
            "completed": cls.SUCCESS,
            "complete": cls.SUCCESS,
            "done": cls.SUCCESS,
            "finished": cls.SUCCESS,
            "failed": cls.FAILED,
            "failure": cls.FAILED,
            "error": cls.FAILED,
            "fail": cls.FAILED,
            "pending": cls.PENDING,
            "queued": cls.PENDING,
            "waiting": cls.PENDING,
            "submitted": cls.PENDING,
        }
        return aliases.get(text, cls.PROCESSING if text else cls.PENDING)


class TaskStatus(BaseModel):
    """One status answer, parsed tolerantly (missing fields, odd types, unknown states)."""

    task_id: str
    state: TaskState
    raw_state: str = ""
    result_urls: list[str] = []
    fail_code: str | None = None
    fail_msg: str | None = None
    create_time: int | None = None
    complete_time: int | None = None
    cost_time: int | None = None

    @property
    def is_final(self) -> bool:
        """True once the task has succeeded or failed."""
        return self.state.is_final

    @property
    def explanation(self) -> str:
        """A human explanation of the fail code."""
        return explain_fail_code(self.fail_code)

    @classmethod
    def from_data(cls, data: Any, task_id: str = "") -> TaskStatus:
        """Parse the status ``data`` object; never raises on odd or missing fields."""
        data = data if isinstance(data, dict) else {}
        raw_state = str(data.get("state") or "")
        urls = result_urls(data.get("resultJson"))
        if not urls:
            urls = result_urls({"resultUrls": data.get("resultUrls")})
        state = TaskState.parse(raw_state)
        if state is TaskState.SUCCESS and not urls:
            state, fail = TaskState.FAILED, "The provider reported success but sent no images."
        else:
            fail = None
        return cls(
            task_id=str(data.get("taskId") or task_id),
            state=state,
            raw_state=raw_state,
            result_urls=urls,
            fail_code=_opt_str(data.get("failCode")) or ("NO_RESULT" if fail else None),
            fail_msg=_opt_str(data.get("failMsg")) or fail,
            create_time=_opt_int(data.get("createTime")),
            complete_time=_opt_int(data.get("completeTime")),
            cost_time=_opt_int(data.get("costTime")),
        )

    def to_data(self) -> dict[str, Any]:
        """The status ``data`` object as the API sends it (used by the sandbox and callbacks)."""
        result = json.dumps({"resultUrls": self.result_urls}) if self.result_urls else None
        return {
            "taskId": self.task_id,
            "state": self.state.value,
            "resultJson": result,
            "failCode": self.fail_code,
            "failMsg": self.fail_msg,
            "createTime": self.create_time,
            "completeTime": self.complete_time,
            "costTime": self.cost_time,
        }


def result_urls(result_json: Any) -> list[str]:
    """URLs from ``resultJson``, which may be a JSON string, an object, or missing."""
    if isinstance(result_json, str):
        try:
            result_json = json.loads(result_json) if result_json.strip() else {}
        except ValueError:
            return []
    if isinstance(result_json, list):
        result_json = {"resultUrls": result_json}
    if not isinstance(result_json, dict):
        return []
    urls = result_json.get("resultUrls") or result_json.get("urls") or []
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list):
        return []
    out = []
    for item in urls:
        url = item.get("url") if isinstance(item, dict) else item
        if isinstance(url, str) and url.strip():
            out.append(url.strip())
    return out


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _opt_int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def envelope(code: int, msg: str, data: Any = None) -> dict[str, Any]:
    """The API's response envelope."""
    body: dict[str, Any] = {"code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return body


def body_code(http_status: int, body: Any) -> int:
    """The effective status: the body's ``code`` when it is a number, else the HTTP status."""
    if isinstance(body, dict):
        code = _opt_int(body.get("code"))
        if code is not None and 100 <= code <= 599:
            return code if http_status < 400 else http_status
    return http_status
