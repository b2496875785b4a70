"""One background worker per process: sends new tasks, polls due ones, downloads results.

Every task lives in the store first; the tracker only moves it forward. Closing a browser tab
does not stop it, several tabs don't multiply requests, and a restart resumes every task.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mjstudio import images
from mjstudio.api.contract import TaskRequest, TaskStatus
from mjstudio.api.errors import AuthenticationError, CreateOutcomeUnknown, MJError, describe
from mjstudio.config import Connection
from mjstudio.tasks.clients import ClientPool
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore

log = logging.getLogger("mjstudio.tasks.tracker")

SLOW_POLL_S = 60.0  # past the deadline, or without a key: keep checking, slowly
CALLBACK_SAFETY_POLL_S = 300.0  # callback mode: the provider calls us; poll only as a safety net
RETRY_DOWNLOAD_S = 10.0


class Tracker:
    """Moves every task of the store forward: create, poll, download."""

    def __init__(self, store: TaskStore, *, workers: int = 4, tick_s: float = 0.25) -> None:
        self.store = store
        self._tick_s = tick_s
        self._conns: dict[str, Connection] = {}  # workspace -> the connection that polls it
        self._clients = ClientPool()
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mj-track")
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the worker thread (idempotent) after settling tasks a crash left open."""
        with self._lock:
            if self._thread and self._thread.is_alive():
                return
            self._settle_unsent()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mj-tracker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker and close the clients."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._clients.close()

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return bool(self._thread and self._thread.is_alive())

    def wake(self) -> None:
        """Look at the due tasks now instead of at the next tick (a callback arrived, say)."""
        self._wake.set()

    def register(self, conn: Connection) -> None:
        """Let a connection poll its workspace's tasks (its key is kept in memory only).

        The latest registered connection of a workspace polls it; a create always goes out
        through the connection it was submitted with. Clients are never closed here.
        """
        with self._lock:
            if self._conns.get(conn.workspace) == conn:
                return
            self._conns[conn.workspace] = conn
        self._unpark(conn.workspace)
        self._wake.set()

    def _unpark(self, workspace: str) -> None:
        """Tasks parked while their workspace had no connection become due now."""
        now = time.time()
        for record in self.store.active(workspace):
            if record.task_id and (record.next_poll_at or 0) > now:
                self.store.update(record.id, next_poll_at=now)

    def connection(self, workspace: str) -> Connection | None:
        """The registered connection of a workspace."""
        return self._conns.get(workspace)

    def _settle_unsent(self) -> None:
        """A task left 'creating' by a crash may have reached the provider: mark it unknown."""
        for record in self.store.active():
            if record.state is RecordState.CREATING:
                self.store.update(
                    record.id,
                    state=RecordState.UNKNOWN,
                    error="The studio stopped while sending this task; it was not sent again.",
                )

    # ------------------------------------------------------------------ creating

    def send(self, record: TaskRecord, request: TaskRequest, conn: Connection) -> None:
        """Send a stored 'creating' record's request through ``conn`` in the background."""
        self._pool.submit(self._create, record, request, conn)

    def _create(self, record: TaskRecord, request: TaskRequest, conn: Connection) -> None:
        try:
            with self._clients.lease(conn) as client:
                task_id = client.create(request)
        except CreateOutcomeUnknown as exc:
            self._update(record.id, state=RecordState.UNKNOWN, error=exc.message)
            return
        except MJError as exc:
            self._update(
                record.id, state=RecordState.REJECTED, error=describe(exc), finished_at=time.time()
            )
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the task 'creating'
            log.exception("create failed unexpectedly")
            self._update(record.id, state=RecordState.UNKNOWN, error=f"Unexpected error: {exc!r}")
            return
        plan = conn.schedule(request.input.speed)
        now = time.time()
        first = CALLBACK_SAFETY_POLL_S if request.request_type == "callback" else plan.first_s
        self._update(
            record.id,
            task_id=task_id,
            state=RecordState.PENDING,
            submitted_at=now,
            next_poll_at=now + first,
            expected_s=plan.expected_s,
        )
        self._wake.set()

    # ------------------------------------------------------------------ polling

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatch_due()
            except Exception:  # noqa: BLE001 - keep the worker alive whatever happens
                log.exception("tracker loop error")
            self._wake.wait(self._tick_s)
            self._wake.clear()

    def _dispatch_due(self) -> None:
        for record in self.store.due():
            with self._lock:
                if record.id in self._busy:
                    continue
                self._busy.add(record.id)
            self._pool.submit(self._advance, record)

    def _advance(self, record: TaskRecord) -> None:
        try:
            if record.is_succeeded:
                self._download(record)
            else:
                self._poll(record)
        except Exception:  # noqa: BLE001
            log.exception("tracking %s failed", record.id)
            self._update(record.id, next_poll_at=time.time() + SLOW_POLL_S)
        finally:
            with self._lock:
                self._busy.discard(record.id)

    def _poll(self, record: TaskRecord) -> None:
        conn = self._conns.get(record.workspace)
        if conn is None or record.task_id is None:
            self._update(record.id, next_poll_at=time.time() + SLOW_POLL_S)
            return
        plan = conn.schedule(record.params.get("speed"))
        try:
            with self._clients.lease(conn) as client:
                status = client.status(record.task_id)
        except MJError as exc:
            wait = getattr(exc, "retry_after", None) or (
                SLOW_POLL_S if isinstance(exc, AuthenticationError) else plan.every_s * 3
            )
            self._update(record.id, error=describe(exc), next_poll_at=time.time() + wait)
            return
        self.apply_status(record, status, next_in=self._next_in(record, plan))

    def _next_in(self, record: TaskRecord, plan: Any) -> float:
        if record.request.get("request_type") == "callback":
            return CALLBACK_SAFETY_POLL_S
        started = record.submitted_at or record.created_at
        late = time.time() - started > plan.deadline_s
        return SLOW_POLL_S if late else plan.every_s

    def apply_status(self, record: TaskRecord, status: TaskStatus, next_in: float = 0.0) -> None:
        """Record a status (from a poll or a provider callback); a success is downloaded next."""
        if record.is_final and record.downloaded:
            return
        now = time.time()
        changes: dict[str, Any] = {
            "state": RecordState(status.state.value),
            "polls": record.polls + 1,
            "error": None,
            "next_poll_at": now + next_in,
        }
        if status.is_final:
            changes.update(
                finished_at=_finish_time(status, now),
                next_poll_at=now,
                fail_code=status.fail_code,
                fail_msg=status.fail_msg,
                result_urls=status.result_urls,
            )
        updated = self._update(record.id, **changes)
        if updated.is_succeeded:
            self._download(updated)

    # ------------------------------------------------------------------ downloading

    def _download(self, record: TaskRecord) -> None:
        conn = self._conns.get(record.workspace)
        if conn is None:
            self._update(record.id, next_poll_at=time.time() + SLOW_POLL_S)
            return
        try:
            with self._clients.lease(conn) as client:
                blobs = [client.download(url) for url in record.result_urls]
        except MJError as exc:
            self._update(
                record.id,
                error=f"Download: {describe(exc)}",
                next_poll_at=time.time() + RETRY_DOWNLOAD_S,
            )
            return
        if len(blobs) == 1 and record.mode != "upscale":
            blobs = images.split_grid(blobs[0])
        files, thumbs = self._save(record, blobs)
        self._update(record.id, files=files, thumbs=thumbs, downloaded=True, error=None)

    def _save(self, record: TaskRecord, blobs: list[bytes]) -> tuple[list[str], list[str]]:
        folder = self.store.results_dir(record)
        folder.mkdir(parents=True, exist_ok=True)
        files, thumbs = [], []
        for index, blob in enumerate(blobs):
            ext = images.sniff_extension(blob)
            path = folder / f"{index + 1}.{ext}"
            path.write_bytes(blob)
            thumb = folder / f"{index + 1}.thumb.webp"
            thumb.write_bytes(images.thumbnail(blob))
            files.append(self.store.relpath(path))
            thumbs.append(self.store.relpath(thumb))
        return files, thumbs

    def _update(self, record_id: str, **changes: Any) -> TaskRecord:
        return self.store.update(record_id, **changes)


def _finish_time(status: TaskStatus, now: float) -> float:
    return status.complete_time / 1000 if status.complete_time else now
