"""One background worker per server: sends queued tasks, polls due ones, downloads results.

Every task lives in the store first; the tracker only moves it forward. Closing a browser tab
does not stop it, several tabs don't multiply requests, and a restart resumes every task: a
task still queued is sent then, one caught while being sent is marked unknown (never resent).
Any number of servers may track one store: each claims the tasks it works on (``leases``), so
every create is sent once, every due task is polled by one server and every result downloaded
once; a server that dies leaves its tasks to the others within a lease period, and the
provider's budget is one bucket in the store that they all take from.

Three lanes, none waiting for another: creates (``creates``), status calls (``statuses``: one
event loop, paced by the provider's budget, oldest due first) and downloads (a bounded pool of
threads; ``downloads``). The tracker's own thread sleeps until the next task is due
(``store.next_due_at()``) or something wakes it (a submit, a callback, a key, a status that
says "done"), and looks at the store again every ``recheck_s`` seconds for what another
process changed; an idle tracker costs nothing, however long the history.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from mjstudio.api.client import schedule_for
from mjstudio.api.contract import TaskRequest, TaskStatus
from mjstudio.api.errors import MJError
from mjstudio.config import Connection
from mjstudio.tasks import downloads, polling
from mjstudio.tasks.changes import Changes
from mjstudio.tasks.clients import ClientPool
from mjstudio.tasks.creates import CREATE_WORKERS, CreateLane
from mjstudio.tasks.learned import Learned
from mjstudio.tasks.leases import LeaseKeeper
from mjstudio.tasks.ratelimit import Budget, Budgets
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.schedule import next_poll_in
from mjstudio.tasks.statuses import Outcome, StatusPoller
from mjstudio.tasks.store import StoreUnavailable, TaskStore

log = logging.getLogger("mjstudio.tasks.tracker")

SLOW_POLL_S = polling.SLOW_POLL_S
WAITING_FOR_KEY = polling.WAITING_FOR_KEY
STORE_RETRY_S = 5.0  # the data folder is full or read-only: look again this often
RECHECK_S = 2.0  # look at the store this often anyway (another process may have changed it)
RESCAN_S = 10.0  # ...and for queued tasks (stored by a server that does not track) this often
BUSY_S = 0.25  # every due task is under way: look again this soon...
BACKLOG_S = 1.0  # ...or this, when many status calls are queued already
STATUS_CONCURRENCY = 32
DOWNLOAD_WORKERS = 4
STOPPED_WHILE_SENDING = "The studio stopped while sending this task; it was not sent again."
__all__ = ["CREATE_WORKERS", "Tracker"]


class Tracker:
    """Moves every task of the store forward: create, poll, download."""

    def __init__(
        self,
        store: TaskStore,
        *,
        workers: int = DOWNLOAD_WORKERS,
        recheck_s: float = RECHECK_S,
        download_retry: downloads.RetryPolicy | None = None,
        budget: Budget | None = None,
        concurrency: int = STATUS_CONCURRENCY,
    ) -> None:
        self.store = store
        self._recheck_s = recheck_s
        self._retry = download_retry or downloads.RetryPolicy.default()
        self._conns: dict[str, Connection] = {}  # workspace -> the connection that polls it
        self._clients = ClientPool()  # creates and downloads
        self.keeper = LeaseKeeper(store)
        self.server = self.keeper.server  # the owner of this tracker's leases
        self.budgets = Budgets(budget or Budget(), shared=store.take_token)
        self.learned = Learned(store)
        self.changes = Changes()  # who hears at once of what this tracker stores (live pages)
        self._statuses = StatusPoller(self.budgets, concurrency)
        self._lane = CreateLane(
            store, self._clients, self.budgets, self._first_poll, self._due_at, self.server
        )
        self.last_provider_ok: float | None = None  # when the provider last answered well
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # records being polled or downloaded
        self._wake_after: dict[str, float] = {}  # ...and when each is due next, once let go
        self._parked: dict[str, set[str]] = {}  # workspace -> downloads waiting for its key
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._wake_at = -math.inf  # when the sleeping loop wakes by itself (-inf: not asleep)
        self._earliest = math.inf  # the earliest next poll set while the loop was not asleep
        self._rescan_at = 0.0  # when to look for queued tasks next (0: at once)
        self._closed = False
        self._downloads = ThreadPoolExecutor(max(1, workers), thread_name_prefix="mj-download")
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start tracking (idempotent); tasks a dead server left being sent are marked unknown."""
        with self._lock:
            if self._closed or (self._thread and self._thread.is_alive()):
                return
            try:
                self._settle_unsent()
                self.store.free_dead_here()  # a restart here need not wait for its old leases
            except Exception:  # noqa: BLE001 - an unwritable folder must not stop the server
                log.exception("could not settle the tasks a stop left being sent")
            self._stop.clear()
            self._statuses.start()
            self._thread = threading.Thread(target=self._run, name="mj-tracker", daemon=True)
            self._thread.start()
        for workspace in list(self._conns):
            self._unpark(workspace)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker and close the clients (leases of work under way run out)."""
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self._lane.stop()
        self._statuses.stop(timeout)
        self._downloads.shutdown(wait=False, cancel_futures=True)
        self._clients.close()
        self.keeper.let_go()

    @property
    def concurrency(self) -> int:
        """Status calls under way at once, at most."""
        return self._statuses.concurrency

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return bool(self._thread and self._thread.is_alive())

    def wake(self) -> None:
        """Look at the due tasks now (a callback arrived, a task is asked about again...)."""
        self.learned.note_finished()  # a callback may have brought a task's cost
        self._wake.set()

    def _due_at(self, when: float) -> None:
        """A task is due at ``when``: wake the sleeping loop if that is before it would."""
        with self._lock:
            self._earliest = min(self._earliest, when)
            sooner = when < self._wake_at
        if sooner:
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
            self._rescan_at = 0.0
        if self.running:
            self._unpark(conn.workspace)
        self._wake.set()

    def _unpark(self, workspace: str) -> None:
        """Tasks parked while their workspace had no connection become due now.

        Only the workspace's running tasks are read (and the downloads parked here), never the
        whole history; a folder that refuses it leaves them to their next check (a minute).
        """
        now = time.time()
        with self._lock:
            parked = self._parked.pop(workspace, set())
        try:
            records = self.store.active(workspace) + [
                r for r in map(self.store.get, parked) if r is not None
            ]
            for record in records:
                if record.error == WAITING_FOR_KEY:
                    self._update(record.id, error=None, next_poll_at=now)
        except StoreUnavailable as exc:
            log.warning("parked tasks left to their next check: %s", exc)

    def _settle_unsent(self) -> None:
        """A task left 'creating' by a dead server may have reached the provider: unknown."""
        self.keeper.settle(self._lane.is_sending, STOPPED_WHILE_SENDING)

    def _wait_for_key(self, record: TaskRecord) -> None:
        """Park a task whose workspace has no connection, saying what would resume it."""
        with self._lock:
            self._parked.setdefault(record.workspace, set()).add(record.id)
        self._update(record.id, error=WAITING_FOR_KEY, next_poll_at=time.time() + SLOW_POLL_S)
        if record.workspace in self._conns:  # registered meanwhile: its unparking came first
            self._update(record.id, error=None, next_poll_at=time.time())

    # ------------------------------------------------------------------ creating

    def send(self, record: TaskRecord, request: TaskRequest, conn: Connection) -> None:
        """Send a stored queued record's request through ``conn`` in the create lane, once.

        A stopped tracker leaves the record queued: another server (or this one, restarted)
        sends it.
        """
        if self._closed:
            return
        self._lane.hand(record.id, request, conn)

    def _first_poll(self, request: TaskRequest, conn: Connection) -> tuple[float, float]:
        """Seconds from a create to the task's first poll, and how long it should take.

        Asked once the provider has answered a create with its task id.
        """
        self.last_provider_ok = time.time()
        plan = conn.schedule(request.input.speed)
        expected = self.learned.expected(request.input.mode, request.input.speed)
        callback = request.request_type == "callback"  # the provider calls: a safety poll only
        first = polling.CALLBACK_SAFETY_POLL_S if callback else next_poll_in(0.0, 0, plan, expected)
        return first, expected.mid_s if expected else plan.expected_s

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        unavailable: str | None = None  # the data folder's trouble, logged once
        while not self._stop.is_set():
            try:
                pause = self._pass()
                unavailable = None
            except StoreUnavailable as exc:
                if str(exc) != unavailable:
                    log.warning("tracker paused: %s", exc)
                unavailable, pause = str(exc), STORE_RETRY_S
            except Exception:  # noqa: BLE001 - keep the worker alive whatever happens
                log.exception("tracker loop error")
                pause = self._recheck_s
            self._wake.wait(pause)
            self._wake.clear()

    def _pass(self) -> float:
        """Send what is queued (now and then), start what is due; seconds until the next pass."""
        with self._lock:
            self._wake_at, self._earliest = -math.inf, math.inf
            rescan = time.monotonic() >= self._rescan_at
            if rescan:
                self._rescan_at = time.monotonic() + RESCAN_S
        if rescan:
            self._settle_unsent()
            self._lane.send_queued(self.store.active(), self._conns.get)
        self.keeper.renew(self._under_way)
        self._dispatch_due()
        return self._pause()

    def _under_way(self) -> list[str]:
        with self._lock:
            return list(self._busy)

    def _pause(self) -> float:
        """Seconds until the earliest task not under way is due (at most ``recheck_s``)."""
        now, due_at = time.time(), self.store.next_due_at()
        if due_at is None:
            pause = self._recheck_s
        elif due_at > now:
            pause = min(due_at - now, self._recheck_s)
        else:  # the earliest ones are under way: whatever they set next wakes the loop
            backlog = self._statuses.backlog > 4 * self._statuses.concurrency
            pause = min(BACKLOG_S if backlog else BUSY_S, self._recheck_s)
        with self._lock:
            self._wake_at = min(now + pause, self._earliest)
            return max(0.0, self._wake_at - now)

    def _dispatch_due(self) -> None:
        """Claim every due task nobody works on and hand it to its lane, oldest due first."""
        for record in self.store.claim_due(self.server):
            with self._lock:
                if record.id in self._busy:
                    continue
                self._busy.add(record.id)
            try:
                if record.is_succeeded:
                    self._downloads.submit(self._advance, record)
                else:
                    self._poll(record)
            except RuntimeError:  # stopping
                self._done(record.id)
                return

    def _done(self, record_id: str) -> None:
        """The work on a task is over: it is anyone's again when next due."""
        with self._lock:
            self._busy.discard(record_id)
            when = self._wake_after.pop(record_id, None)
        try:
            self.store.release(record_id, self.server)
        except StoreUnavailable as exc:  # the lease runs out by itself
            log.warning("lease of %s left to run out: %s", record_id, exc)
        if when is not None:
            self._due_at(when)

    # ------------------------------------------------------------------ polling

    def _poll(self, record: TaskRecord) -> None:
        conn = self._conns.get(record.workspace)
        if conn is None or record.task_id is None:
            try:
                self._wait_for_key(record)
            finally:
                self._done(record.id)
            return
        if not self._statuses.submit(conn, record.task_id, partial(self._polled, record, conn)):
            self._done(record.id)

    def _polled(self, record: TaskRecord, conn: Connection, outcome: Outcome) -> None:
        """Record what a status call brought back (on one of the status lane's threads)."""
        try:
            plan = conn.schedule(record.params.get("speed"))
            if isinstance(outcome, TaskStatus):
                self.last_provider_ok = time.time()
                if polling.is_task_status(outcome, record.task_id or ""):
                    self.apply_status(record, outcome)
                    return
                error, wait = polling.not_a_status(plan)  # the state stays as it was
            elif isinstance(outcome, MJError):
                error, wait = polling.poll_failed(outcome, plan)
            else:
                log.error("polling %s failed", record.id, exc_info=outcome)
                error, wait = None, SLOW_POLL_S
            self._update(record.id, error=error, next_poll_at=time.time() + wait)
        finally:
            self._done(record.id)

    def apply_status(
        self, record: TaskRecord, status: TaskStatus, next_in: float | None = None
    ) -> None:
        """Record a polled status; a success is downloaded next, on the download lane.

        ``next_in``: seconds to the next poll (default: the schedule, learned or the seed's).
        """
        current = self.store.get(record.id)  # a callback may have settled it meanwhile
        if current is None or current.is_final:
            return
        if next_in is None:
            conn = self._conns.get(current.workspace)
            speed = current.params.get("speed")
            plan = conn.schedule(speed) if conn else schedule_for(speed)
            expected = self.learned.expected(current.mode, speed)
            next_in = polling.next_in(current, plan, expected=expected)
        changes = polling.status_changes(current, status, next_in, time.time())
        if self._update(current.id, **changes).is_final:
            self.learned.note_finished()

    # ------------------------------------------------------------------ downloading

    def _advance(self, snapshot: TaskRecord) -> None:
        """Download a due success's results, unless that was done since ``due()`` saw it."""
        try:
            record = downloads.still_due(self.store, snapshot)
            if record is not None and record.is_succeeded:
                self._download(record)
        except Exception:  # noqa: BLE001
            log.exception("tracking %s failed", snapshot.id)
            self._update(snapshot.id, next_poll_at=time.time() + SLOW_POLL_S)
        finally:
            self._done(snapshot.id)

    def _download(self, record: TaskRecord) -> None:
        """Download a success's results; a failure is recorded and retried later, up to a limit."""
        conn = self._conns.get(record.workspace)
        if conn is None:
            self._wait_for_key(record)
            return
        try:
            with self._clients.lease(conn) as client:
                changes = downloads.attempt(client, self.store, record, self._retry, self._stop)
        except RuntimeError:  # the clients are closed: the tracker stops
            return
        if changes:
            if changes.get("downloaded"):
                self.last_provider_ok = time.time()
            self._update(record.id, **changes)

    def _update(self, record_id: str, **changes: Any) -> TaskRecord:
        """Change a stored record; a next poll set sooner than the loop wakes wakes it (for a task
        under way here, once ``_done`` lets its lease go: the loop would find it still held).
        A record done with is told to whoever listens for it (a live page)."""
        record = self.store.update(record_id, **changes)
        when = changes.get("next_poll_at")
        if not record.needs_work:
            self.changes.changed(record_id)
        elif when is not None:
            with self._lock:
                if record_id in self._busy:
                    self._wake_after[record_id] = when
                    return record
            self._due_at(when)
        return record
