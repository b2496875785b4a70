"""One background worker per data folder: sends queued tasks, polls due ones, downloads results.

Every task lives in the store first; the tracker only moves it forward. Closing a browser tab
does not stop it, several tabs don't multiply requests, and a restart resumes every task: a
task still queued is sent then, one caught while being sent is marked unknown (never resent).
Only the process holding the data folder's lock (``leader``) tracks; another one on the same
folder serves pages and changes nothing. Creates have their own lane, so they never wait behind
polls or downloads; results are fetched and saved by ``downloads``.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mjstudio.api.contract import TaskRequest, TaskStatus, parse_request
from mjstudio.api.errors import CreateOutcomeUnknown, MJError, describe
from mjstudio.config import Connection
from mjstudio.tasks import downloads, polling
from mjstudio.tasks.clients import ClientPool
from mjstudio.tasks.leader import FolderLock
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import StoreUnavailable, TaskStore
from mjstudio.tasks.uploads import UploadRegistry, restore_data_urls

log = logging.getLogger("mjstudio.tasks.tracker")

SLOW_POLL_S = polling.SLOW_POLL_S
CALLBACK_SAFETY_POLL_S = polling.CALLBACK_SAFETY_POLL_S
WAITING_FOR_KEY = polling.WAITING_FOR_KEY
STORE_RETRY_S = 5.0  # the data folder is full or read-only: look again this often
CREATE_WORKERS = 2  # the create lane: creates never wait behind polls and downloads
STOPPED_WHILE_SENDING = "The studio stopped while sending this task; it was not sent again."
_SENDABLE = (RecordState.QUEUED, RecordState.CREATING)
_FOREVER = 1e18  # a "now" after every next poll: store.due(_FOREVER) is every task to follow


class Tracker:
    """Moves every task of the store forward: create, poll, download."""

    def __init__(
        self,
        store: TaskStore,
        *,
        workers: int = 4,
        tick_s: float = 0.25,
        download_retry: downloads.RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self._tick_s = tick_s
        self._retry = download_retry or downloads.RetryPolicy.default()
        self._conns: dict[str, Connection] = {}  # workspace -> the connection that polls it
        self._clients = ClientPool()
        self._uploads = UploadRegistry(store.data_dir)  # to restore a queued request's images
        self._folder_lock = FolderLock(store.data_dir)
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # records being polled or downloaded
        self._sending: set[str] = set()  # records handed to the create lane
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._said_not_leader = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mj-track")
        self._creates = ThreadPoolExecutor(CREATE_WORKERS, thread_name_prefix="mj-create")
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start tracking (idempotent) unless another tracker follows this data folder.

        The tracker that gets the folder's lock first marks the tasks a crash left being sent
        as unknown; one that does not get it returns at once and changes nothing.
        """
        with self._lock:
            if self._closed or (self._thread and self._thread.is_alive()):
                return
            if not self._folder_lock.acquire():
                if not self._said_not_leader:  # start() is called often: say it once
                    self._said_not_leader = True
                    log.warning("another process tracks %s: pages only", self.store.data_dir)
                return
            try:
                self._settle_unsent()
            except Exception:  # noqa: BLE001 - an unwritable folder must not stop the server
                log.exception("could not settle the tasks a stop left being sent")
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mj-tracker", daemon=True)
            self._thread.start()
        for workspace in list(self._conns):
            self._unpark(workspace)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker, close the clients and release the data folder's lock."""
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._creates.shutdown(wait=False, cancel_futures=True)
        self._clients.close()
        self._folder_lock.release()

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return bool(self._thread and self._thread.is_alive())

    @property
    def is_leader(self) -> bool:
        """True while this tracker holds the data folder's lock (it, and only it, tracks)."""
        return self._folder_lock.held

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
        if self.is_leader:
            self._unpark(conn.workspace)
        self._wake.set()

    def _unpark(self, workspace: str) -> None:
        """Tasks parked while their workspace had no connection become due now."""
        now = time.time()
        for record in self.store.due(now=_FOREVER):
            if record.workspace != workspace:
                continue
            changes: dict[str, Any] = {}
            if (record.next_poll_at or 0) > now:
                changes["next_poll_at"] = now
            if record.error == WAITING_FOR_KEY:
                changes["error"] = None
            if changes:
                self.store.update(record.id, **changes)

    def connection(self, workspace: str) -> Connection | None:
        """The registered connection of a workspace."""
        return self._conns.get(workspace)

    def _settle_unsent(self) -> None:
        """A task left 'creating' by a crash may have reached the provider: mark it unknown."""
        for record in self.store.active():
            if record.state is RecordState.CREATING and record.id not in self._sending:
                self.store.update(record.id, state=RecordState.UNKNOWN, error=STOPPED_WHILE_SENDING)

    def _wait_for_key(self, record: TaskRecord) -> None:
        """Park a task whose workspace has no connection, saying what would resume it."""
        self._update(record.id, error=WAITING_FOR_KEY, next_poll_at=time.time() + SLOW_POLL_S)
        if record.workspace in self._conns:  # registered meanwhile: its unparking came first
            self._update(record.id, error=None, next_poll_at=time.time())

    # ------------------------------------------------------------------ creating

    def send(self, record: TaskRecord, request: TaskRequest, conn: Connection) -> None:
        """Send a stored queued record's request through ``conn`` in the create lane, once.

        A tracker that does not track this folder leaves the record queued: the one that
        tracks sends it when it knows the workspace's key.
        """
        if self._closed or not self._folder_lock.acquire():
            if record.state is RecordState.CREATING:  # stored as being sent: it was not
                self._update(record.id, state=RecordState.QUEUED)
            return
        self._hand_to_create_lane(record.id, request, conn)

    def _hand_to_create_lane(self, record_id: str, request: TaskRequest, conn: Connection) -> None:
        with self._lock:
            if record_id in self._sending:
                return
            self._sending.add(record_id)
        try:
            self._creates.submit(self._create, record_id, request, conn)
        except RuntimeError:  # the tracker is stopping: the record stays queued
            with self._lock:
                self._sending.discard(record_id)

    def _send_queued(self) -> None:
        """Send queued tasks (left by a restart, stored by another server) once a key is known."""
        for record in self.store.active():
            if record.state is not RecordState.QUEUED or record.id in self._sending:
                continue
            conn = self._conns.get(record.workspace)
            if conn is None:
                if record.error != WAITING_FOR_KEY:
                    self._update(record.id, error=WAITING_FOR_KEY)
                continue
            request = self._stored_request(record)
            if request is not None:
                self._hand_to_create_lane(record.id, request, conn)

    def _stored_request(self, record: TaskRecord) -> TaskRequest | None:
        """A queued record's create body as first built (``upload:`` back to ``data:``)."""
        try:
            return parse_request(restore_data_urls(record.request, self._uploads))
        except (KeyError, ValueError) as exc:
            why = "a reference image is no longer stored" if isinstance(exc, KeyError) else exc
            error = f"This task could not be sent after the restart: {why}."
            self._update(
                record.id, state=RecordState.REJECTED, error=error, finished_at=time.time()
            )
            return None

    def _create(self, record_id: str, request: TaskRequest, conn: Connection) -> None:
        try:
            if self._mark_creating(record_id):
                self._call_create(record_id, request, conn)
        except Exception:  # noqa: BLE001 - the lane must survive (the store may be failing)
            log.exception("sending %s failed", record_id)
        finally:
            with self._lock:
                self._sending.discard(record_id)

    def _mark_creating(self, record_id: str) -> bool:
        """Record that the create call starts now; False when the task was sent already."""
        current = self.store.get(record_id)
        if current is None or current.task_id or current.state not in _SENDABLE:
            return False
        self._update(record_id, state=RecordState.CREATING, error=None)
        return True

    def _call_create(self, record_id: str, request: TaskRequest, conn: Connection) -> None:
        try:
            with self._clients.lease(conn) as client:
                task_id = client.create(request)
        except CreateOutcomeUnknown as exc:
            self._update(record_id, state=RecordState.UNKNOWN, error=exc.message)
            return
        except MJError as exc:
            self._update(
                record_id, state=RecordState.REJECTED, error=describe(exc), finished_at=time.time()
            )
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the task 'creating'
            log.exception("create failed unexpectedly")
            self._update(record_id, state=RecordState.UNKNOWN, error=f"Unexpected error: {exc!r}")
            return
        plan = conn.schedule(request.input.speed)
        now = time.time()
        first = CALLBACK_SAFETY_POLL_S if request.request_type == "callback" else plan.first_s
        self._update(
            record_id,
            task_id=task_id,
            state=RecordState.PENDING,
            submitted_at=now,
            next_poll_at=now + first,
            expected_s=plan.expected_s,
        )
        self._wake.set()

    # ------------------------------------------------------------------ polling

    def _run(self) -> None:
        unavailable: str | None = None  # the data folder's trouble, logged once
        while not self._stop.is_set():
            pause = self._tick_s
            try:
                self._send_queued()
                self._dispatch_due()
                unavailable = None
            except StoreUnavailable as exc:
                if str(exc) != unavailable:
                    log.warning("tracker paused: %s", exc)
                unavailable, pause = str(exc), STORE_RETRY_S
            except Exception:  # noqa: BLE001 - keep the worker alive whatever happens
                log.exception("tracker loop error")
            self._wake.wait(pause)
            self._wake.clear()

    def _dispatch_due(self) -> None:
        for record in self.store.due():
            with self._lock:
                if record.id in self._busy:
                    continue
                self._busy.add(record.id)
            self._pool.submit(self._advance, record)

    def _advance(self, snapshot: TaskRecord) -> None:
        try:
            record = self._still_due(snapshot)
            if record is None:
                return
            if record.is_succeeded:
                self._download(record)
            else:
                self._poll(record)
        except Exception:  # noqa: BLE001
            log.exception("tracking %s failed", snapshot.id)
            self._update(snapshot.id, next_poll_at=time.time() + SLOW_POLL_S)
        finally:
            with self._lock:
                self._busy.discard(snapshot.id)

    def _still_due(self, snapshot: TaskRecord) -> TaskRecord | None:
        """The record as stored now, if it still needs this pass.

        ``due()`` is a snapshot: a worker may have finished the task (downloaded it, say) after
        it was taken, and acting on the old copy would download or poll it a second time.
        """
        record = self.store.get(snapshot.id)
        if record is None or not record.needs_work or not record.task_id:
            return None
        if (record.next_poll_at or 0) > time.time():
            return None
        return record

    def _poll(self, record: TaskRecord) -> None:
        conn = self._conns.get(record.workspace)
        if conn is None or record.task_id is None:
            self._wait_for_key(record)
            return
        plan = conn.schedule(record.params.get("speed"))
        try:
            with self._clients.lease(conn) as client:
                status = client.status(record.task_id)
        except MJError as exc:
            error, wait = polling.poll_failed(exc, plan)
        else:
            if polling.is_task_status(status, record.task_id):
                self.apply_status(record, status, next_in=polling.next_in(record, plan))
                return
            error, wait = polling.not_a_status(plan)  # the state stays as it was
        self._update(record.id, error=error, next_poll_at=time.time() + wait)

    def apply_status(self, record: TaskRecord, status: TaskStatus, next_in: float = 0.0) -> None:
        """Record a polled status; a success is downloaded next, on the tracker's workers."""
        current = self.store.get(record.id)  # a callback may have settled it meanwhile
        if current is None or current.is_final:
            return
        changes = polling.status_changes(current, status, next_in, time.time())
        if self._update(record.id, **changes).is_succeeded:
            self._wake.set()

    # ------------------------------------------------------------------ downloading

    def _download(self, record: TaskRecord) -> None:
        """Download a success's results; a failure is recorded and retried later, up to a limit."""
        conn = self._conns.get(record.workspace)
        if conn is None:
            self._wait_for_key(record)
            return
        try:
            with self._clients.lease(conn) as client:
                files, thumbs = downloads.download_results(client, self.store, record)
        except downloads.DownloadFailed as exc:
            reason = exc.reason
        except Exception as exc:  # noqa: BLE001 - whatever it is, it must not retry for ever
            if self._stop.is_set():
                return
            log.exception("downloading %s failed unexpectedly", record.id)
            reason = f"Unexpected error while downloading ({type(exc).__name__})."
        else:
            self._update(
                record.id, files=files, thumbs=thumbs, downloaded=True, download_error=None
            )
            return
        self._update(record.id, **self._retry.after_failure(record, reason, time.time()))

    def _update(self, record_id: str, **changes: Any) -> TaskRecord:
        return self.store.update(record_id, **changes)
