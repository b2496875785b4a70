"""A task as the studio keeps it: its state machine and the record the store holds."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RecordState(StrEnum):
    """Where a stored task stands; the provider's four states plus the studio's own three.

    ``queued``: stored, not handed to the provider yet (safe to send after a restart).
    ``creating``: the create call is under way. ``unknown``: the create may or may not have
    reached the provider (never resent). ``rejected``: the provider refused the create.
    """

    QUEUED = "queued"
    CREATING = "creating"
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> RecordState:
        """A state this version does not know (say, from a newer one) counts as running."""
        return cls.PROCESSING

    @property
    def is_final(self) -> bool:
        """True once nothing more will happen at the provider."""
        return self in FINAL_STATES

    @property
    def is_unsent(self) -> bool:
        """True while the studio does not know a provider task id for sure."""
        return self in UNSENT_STATES


FINAL_STATES = frozenset({RecordState.SUCCESS, RecordState.FAILED, RecordState.REJECTED})
UNSENT_STATES = frozenset({RecordState.QUEUED, RecordState.CREATING, RecordState.UNKNOWN})
RUNNING_STATES = frozenset({RecordState.PENDING, RecordState.PROCESSING})
STUCK_AFTER_MIN_S = 15 * 60.0  # a sent task still running after this long is "stuck"...
STUCK_AFTER_EXPECTED = 10.0  # ...or after ten times its expected duration, whichever is later


def sql_list(states: frozenset[RecordState] | tuple[RecordState, ...]) -> str:
    """States as an SQL list literal, e.g. ``('failed', 'rejected')`` (fixed values, no input)."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(states)) + ")"


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(kw_only=True)
class TaskRecord:
    """One task as the studio knows it: the request sent, the provider's state, the results."""

    id: str = field(default_factory=_new_id)
    workspace: str
    mode: str
    request: dict[str, Any] = field(default_factory=dict)
    prompt: str = ""
    task_id: str | None = None
    state: RecordState = RecordState.CREATING
    fail_code: str | None = None
    fail_msg: str | None = None
    error: str | None = None
    parent_id: str | None = None
    parent_index: int | None = None
    result_urls: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    thumbs: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    next_poll_at: float | None = None
    polls: int = 0
    downloaded: bool = False
    expected_s: float | None = None
    submission: str | None = None  # one form submission makes one task, however often clicked
    download_error: str | None = None  # why the last download of the results failed
    download_attempts: int = 0
    download_gave_up: bool = False  # retries exhausted: the designer may ask to download again
    cost_s: float | None = None  # the provider's costTime: how long it took to make, in seconds
    batch_id: str | None = None  # shared by every task of one prompt matrix or sweep sent
    batch_label: str | None = None  # the batch's title (the matrix prompt, the sweep's axes)
    cell: dict[str, Any] | None = None  # its place on the batch's board (see tasks.batches)
    favourite: bool = False  # the task starred
    favourite_images: list[int] = field(default_factory=list)  # image indexes (0-3) starred
    owner: str = ""  # the signed-in designer who made it ("" when the studio has no sign-in)
    shared: bool = False  # shown to the whole team in the Team view

    def __post_init__(self) -> None:
        self.state = RecordState(self.state)

    @classmethod
    def new(cls, workspace: str, request: dict[str, Any], **fields_: Any) -> TaskRecord:
        """A fresh 'creating' record for a create-task body; mode and prompt come from it."""
        task_input = request.get("input") or {}
        fields_.setdefault("mode", str(task_input.get("mode", "")))
        fields_.setdefault("prompt", str(task_input.get("prompt") or ""))
        return cls(workspace=workspace, request=request, **fields_)

    @property
    def is_final(self) -> bool:
        """True once the task succeeded, failed or was refused."""
        return self.state.is_final

    @property
    def is_active(self) -> bool:
        """True while the tracker must follow the task (sent and not final, or being sent)."""
        if self.state.is_unsent:
            return True
        return self.task_id is not None and not self.is_final

    @property
    def is_succeeded(self) -> bool:
        """True when the provider made the images (downloaded or not yet)."""
        return self.state is RecordState.SUCCESS

    @property
    def is_done(self) -> bool:
        """True when the results are on disk and can be shown."""
        return self.is_succeeded and self.downloaded and bool(self.files)

    @property
    def is_downloading(self) -> bool:
        """True while succeeded results are still to be downloaded (retries not exhausted)."""
        return self.is_succeeded and not self.downloaded and not self.download_gave_up

    @property
    def needs_work(self) -> bool:
        """True while the tracker still has something to do: follow it or download it."""
        return self.is_active or self.is_downloading

    @property
    def stuck_after_s(self) -> float:
        """How long after it was sent a still running task counts as stuck."""
        return max(STUCK_AFTER_MIN_S, STUCK_AFTER_EXPECTED * (self.expected_s or 0.0))

    def is_stuck(self, now: float | None = None) -> bool:
        """True when a sent task is still pending or processing well past its expected time."""
        if self.task_id is None or self.state not in RUNNING_STATES:
            return False
        now = time.time() if now is None else now
        return now - (self.submitted_at or self.created_at) > self.stuck_after_s

    @property
    def is_starred(self) -> bool:
        """True when the task or one of its images is a favourite."""
        return self.favourite or bool(self.favourite_images)

    @property
    def params(self) -> dict[str, Any]:
        """The request's input parameters without the mode."""
        task_input = self.request.get("input") or {}
        return {k: v for k, v in task_input.items() if k != "mode"}
