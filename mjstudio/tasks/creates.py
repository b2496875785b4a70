"""The create lane: queued tasks are sent on threads of their own, each once.

A create never waits behind status calls or downloads: it has its own threads and its own
client calls, and it takes the next token of its account's request budget ahead of every
status call. The record says ``creating`` while the call is under way, so a restart never sends
it twice; an answer that may or may not have made a task is recorded as unknown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mjstudio.api.contract import TaskRequest, parse_request
from mjstudio.api.errors import CreateOutcomeUnknown, MJError, describe
from mjstudio.config import Connection
from mjstudio.tasks.clients import ClientPool
from mjstudio.tasks.polling import WAITING_FOR_KEY
from mjstudio.tasks.ratelimit import Budgets
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.uploads import UploadRegistry, restore_data_urls

log = logging.getLogger("mjstudio.tasks.creates")

CREATE_WORKERS = 2
FirstPoll = Callable[[TaskRequest, Connection], tuple[float, float]]  # (first poll in, expected)


class CreateLane:
    """Sends stored queued tasks through their connection, on ``CREATE_WORKERS`` threads."""

    def __init__(
        self,
        store: TaskStore,
        clients: ClientPool,
        budgets: Budgets,
        first_poll: FirstPoll,
        on_sent: Callable[[float], None],
        server: str = "",
        workers: int = CREATE_WORKERS,
    ) -> None:
        self.store = store
        self._clients = clients
        self._budgets = budgets
        self._first_poll = first_poll  # when to check a task first, and how long it should take
        self._on_sent = on_sent  # told when the new task is due, so the tracker wakes for it
        self._server = server  # whose lease a create is sent under
        self._uploads = UploadRegistry(store.data_dir)  # to restore a queued request's images
        self._sending: set[str] = set()  # records handed to the lane
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="mj-create")

    def is_sending(self, record_id: str) -> bool:
        """True while a record is handed to the lane."""
        with self._lock:
            return record_id in self._sending

    def stop(self) -> None:
        """Send nothing more (a create under way ends by itself)."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def hand(self, record_id: str, request: TaskRequest, conn: Connection) -> None:
        """Send a record's request once (a second hand-over while it is sent does nothing)."""
        with self._lock:
            if record_id in self._sending:
                return
            self._sending.add(record_id)
        try:
            self._pool.submit(self._create, record_id, request, conn)
        except RuntimeError:  # the tracker is stopping: the record stays queued
            with self._lock:
                self._sending.discard(record_id)

    def send_queued(
        self, records: Iterable[TaskRecord], conns: Callable[[str], Connection | None]
    ) -> None:
        """Send the queued ones of ``records`` whose workspace has a connection; say why not."""
        for record in records:
            if record.state is not RecordState.QUEUED or self.is_sending(record.id):
                continue
            conn = conns(record.workspace)
            if conn is None:
                if record.error != WAITING_FOR_KEY:
                    self.store.update(record.id, error=WAITING_FOR_KEY)
                continue
            request = self._stored_request(record)
            if request is not None:
                self.hand(record.id, request, conn)

    def _stored_request(self, record: TaskRecord) -> TaskRequest | None:
        """A queued record's create body as first built (``upload:`` back to ``data:``)."""
        try:
            return parse_request(restore_data_urls(record.request, self._uploads))
        except (KeyError, ValueError) as exc:
            why = "a reference image is no longer stored" if isinstance(exc, KeyError) else exc
            error = f"This task could not be sent after the restart: {why}."
            self.store.update(
                record.id, state=RecordState.REJECTED, error=error, finished_at=time.time()
            )
            return None

    def _create(self, record_id: str, request: TaskRequest, conn: Connection) -> None:
        try:
            bucket = self._budgets.bucket(conn.workspace)
            if bucket.take(stop=self._stop) and self._mark_creating(record_id):
                try:
                    self._call_create(record_id, request, conn)
                finally:
                    self.store.release(record_id, self._server)
        except Exception:  # noqa: BLE001 - the lane must survive (the store may be failing)
            log.exception("sending %s failed", record_id)
        finally:
            with self._lock:
                self._sending.discard(record_id)

    def _mark_creating(self, record_id: str) -> bool:
        """Claim the task and record that its create starts now; False when it is not to be sent.

        A task sent already, or claimed by another server, is left alone: one create each.
        """
        return self.store.claim_create(record_id, self._server)

    def _call_create(self, record_id: str, request: TaskRequest, conn: Connection) -> None:
        try:
            with self._clients.lease(conn) as client:
                task_id = client.create(request)
        except CreateOutcomeUnknown as exc:
            self.store.update(record_id, state=RecordState.UNKNOWN, error=exc.message)
            return
        except MJError as exc:
            self._rejected(record_id, describe(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the task 'creating'
            log.exception("create failed unexpectedly")
            self.store.update(
                record_id, state=RecordState.UNKNOWN, error=f"Unexpected error: {exc!r}"
            )
            return
        self._sent(record_id, task_id, request, conn)

    def _rejected(self, record_id: str, error: str) -> None:
        changes: dict[str, Any] = {"state": RecordState.REJECTED, "error": error}
        self.store.update(record_id, finished_at=time.time(), **changes)

    def _sent(self, record_id: str, task_id: str, request: TaskRequest, conn: Connection) -> None:
        first, expected = self._first_poll(request, conn)
        now = time.time()
        self.store.update(
            record_id,
            task_id=task_id,
            state=RecordState.PENDING,
            submitted_at=now,
            next_poll_at=now + first,
            expected_s=expected,
        )
        self._on_sent(now + first)
