"""How the tracker reads a poll's outcome: when to poll next, and what to tell the designer.

Pure decisions, no I/O: a status that is no status (HTML, garbage) is a provider error, never
"pending"; a provider's ``Retry-After`` is honoured up to a cap, and the error says the real wait.
"""

from __future__ import annotations

import time
from typing import Any

from mjstudio.api.client import PollSchedule
from mjstudio.api.contract import TaskStatus
from mjstudio.api.errors import AuthenticationError, MJError, RateLimitError, describe
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.schedule import Expected, next_poll_in

SLOW_POLL_S = 60.0  # past the deadline, or without a key: keep checking, slowly
CALLBACK_SAFETY_POLL_S = 300.0  # callback mode: the provider calls us; poll only as a safety net
MAX_RETRY_AFTER_S = 120.0  # a provider's Retry-After is honoured up to this
WAITING_FOR_KEY = "Waiting for this workspace's API key: enter it on the Settings page to resume."
NOT_A_STATUS = "The provider answered with something that is not a task status"


def is_task_status(status: TaskStatus, task_id: str) -> bool:
    """False for an answer that only parsed as a status by default (HTML, garbage, no state).

    The client turns a 200 whose body is not a status object into a state-less "pending"
    status; a real one always names its state, and the task asked about.
    """
    return bool(status.raw_state.strip()) and status.task_id == task_id


def not_a_status(plan: PollSchedule) -> tuple[str, float]:
    """The error and the wait after an answer that is not a task status."""
    wait = error_wait(plan)
    return f"{NOT_A_STATUS}; checking again in {wait:.0f} s.", wait


def poll_failed(exc: MJError, plan: PollSchedule) -> tuple[str, float]:
    """The error to show and the seconds to wait after a failed poll."""
    if isinstance(exc, RateLimitError):
        asked = exc.retry_after if exc.retry_after and exc.retry_after > 0 else None
        wait = min(asked, MAX_RETRY_AFTER_S) if asked else error_wait(plan)
        error = f"Rate limited by the provider: checking again in {wait:.0f} s"
        if asked and asked > wait:
            error += f" (it asked for {asked:.0f} s)"
        return error + ".", wait
    wait = SLOW_POLL_S if isinstance(exc, AuthenticationError) else error_wait(plan)
    return describe(exc), wait


def error_wait(plan: PollSchedule) -> float:
    """Seconds before the next poll after a failed one."""
    return plan.every_s * 3


def next_in(
    record: TaskRecord,
    plan: PollSchedule,
    now: float | None = None,
    expected: Expected | None = None,
) -> float:
    """Seconds from a poll of a running task to its next one (slowly once past the deadline).

    Around the task's expected finish when its kind's durations are known (``schedule``),
    else the seed's ``every_s``; callback tasks only get the safety poll.
    """
    if record.request.get("request_type") == "callback":
        return CALLBACK_SAFETY_POLL_S
    now = time.time() if now is None else now
    elapsed = now - (record.submitted_at or record.created_at)
    if elapsed > plan.deadline_s:
        return SLOW_POLL_S
    return next_poll_in(elapsed, record.polls + 1, plan, expected)


def status_changes(
    record: TaskRecord, status: TaskStatus, next_in_s: float, now: float
) -> dict[str, Any]:
    """What a status sets on its record; a final one is due at once (to be downloaded)."""
    changes: dict[str, Any] = {
        "state": RecordState(status.state.value),
        "polls": record.polls + 1,
        "error": None,
        "next_poll_at": now + next_in_s,
    }
    if status.is_final:
        changes.update(
            finished_at=status.complete_time / 1000 if status.complete_time else now,
            next_poll_at=now,
            fail_code=status.fail_code,
            fail_msg=status.fail_msg,
            result_urls=status.result_urls,
            cost_s=cost_s(status),
        )
    return changes


def cost_s(status: TaskStatus) -> float | None:
    """The provider's cost of a final task in seconds (its ``costTime``), when it says one."""
    return status.cost_time / 1000 if status.cost_time and status.cost_time > 0 else None
