"""Task records of the sandbox, one JSON file each under ``data_dir/tasks/``."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mjstudio.api.contract import TaskState, TaskStatus

log = logging.getLogger(__name__)
PENDING_SHARE = 0.2
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


@dataclass
class SandboxTask:
    """One task: its request, times, outcome and result files."""

    task_id: str
    request: dict[str, Any]
    created_ms: int
    ready_ms: int
    token: str
    base_url: str
    parent: str | None = None
    done_ms: int | None = None
    fail_code: str | None = None
    fail_msg: str | None = None
    files: list[str] = field(default_factory=list)
    callback_sent: bool = False

    @property
    def complete_ms(self) -> int | None:
        """When the outcome becomes visible: after the work and the latency."""
        return None if self.done_ms is None else max(self.ready_ms, self.done_ms)

    @property
    def callback_url(self) -> str | None:
        """Where to POST the final status, if the request asked for it."""
        return self.request.get("callback_url") or None

    def state_at(self, now: int) -> TaskState:
        """The state a client sees at ``now`` (ms)."""
        complete = self.complete_ms
        if complete is not None and now >= complete:
            return TaskState.FAILED if self.fail_code else TaskState.SUCCESS
        pending_until = self.created_ms + PENDING_SHARE * (self.ready_ms - self.created_ms)
        return TaskState.PENDING if now < pending_until else TaskState.PROCESSING

    def status_data(self, now: int, base_url: str) -> dict[str, Any]:
        """The status ``data`` object at ``now``, result URLs under ``base_url``."""
        state = self.state_at(now)
        final = state.is_final
        urls = [f"{base_url}/files/{self.token}/{n}" for n in self.files]
        complete = self.complete_ms if final else None
        return TaskStatus(
            task_id=self.task_id,
            state=state,
            raw_state=state.value,
            result_urls=urls if state is TaskState.SUCCESS else [],
            fail_code=self.fail_code if final else None,
            fail_msg=self.fail_msg if final else None,
            create_time=self.created_ms,
            complete_time=complete,
            cost_time=None if complete is None else complete - self.created_ms,
        ).to_data()


class SandboxLedger:
    """Task records in memory, mirrored to JSON files; result files beside them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tasks_dir = self.root / "tasks"
        self.files_dir = self.root / "files"
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._records: dict[str, SandboxTask] = {}
        self._tokens: dict[str, str] = {}

    def __len__(self) -> int:
        """How many tasks were ever created (and kept) in this data_dir."""
        with self._lock:
            return len(self._records)

    def load(self) -> list[SandboxTask]:
        """Read every record on disk (skipping unreadable ones) and return them."""
        for path in sorted(self.tasks_dir.glob("*.json")):
            try:
                record = SandboxTask(**json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("skipping unreadable task record %s: %s", path.name, exc)
                continue
            self._remember(record)
        return self.all()

    def all(self) -> list[SandboxTask]:
        """Every record, oldest first."""
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.created_ms)

    def get(self, task_id: str) -> SandboxTask | None:
        """The record of a task id, or None."""
        with self._lock:
            return self._records.get(task_id)

    def by_token(self, token: str) -> SandboxTask | None:
        """The record whose result files live under ``token``, or None."""
        with self._lock:
            task_id = self._tokens.get(token)
            return self._records.get(task_id) if task_id else None

    def save(self, record: SandboxTask) -> None:
        """Write a record (new or changed) to memory and disk, atomically."""
        with self._lock:
            self._remember(record)
            path = self.tasks_dir / f"{record.task_id}.json"
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(asdict(record)), "utf-8")
            os.replace(tmp, path)

    def update(self, record: SandboxTask, **changes: Any) -> None:
        """Change fields of a record in the given order, then save it."""
        with self._lock:
            for name, value in changes.items():
                setattr(record, name, value)
            self.save(record)

    def file_path(self, record: SandboxTask, name: str) -> Path:
        """Where one of a record's result files lives."""
        return self.files_dir / record.token / name

    def write_file(self, record: SandboxTask, name: str, data: bytes) -> None:
        """Store one result file of a record."""
        path = self.file_path(record, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def remove(self, record: SandboxTask) -> None:
        """Forget a task: its record and its result files, in memory and on disk."""
        with self._lock:
            self._records.pop(record.task_id, None)
            self._tokens.pop(record.token, None)
            (self.tasks_dir / f"{record.task_id}.json").unlink(missing_ok=True)
        if _TOKEN_RE.fullmatch(record.token):  # a hand-edited record never reaches outside
            shutil.rmtree(self.files_dir / record.token, ignore_errors=True)

    def _remember(self, record: SandboxTask) -> None:
        with self._lock:
            self._records[record.task_id] = record
            self._tokens[record.token] = record.task_id
