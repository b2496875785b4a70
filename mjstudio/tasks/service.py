"""The studio's services for one data folder: the store, uploaded images and the tracker.

One `Studio` per data folder per process, shared by the server's lifespan, its routes and
every page; the UI only calls it, it never draws anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mjstudio.api.contract import (
    AnyInput,
    InvalidRequest,
    TaskRequest,
    TaskStatus,
    build_request,
    parse_request,
)
from mjstudio.config import DAY_S, Connection, Settings
from mjstudio.tasks import recovery
from mjstudio.tasks.polling import cost_s
from mjstudio.tasks.ratelimit import Budget
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.sqlite import FILE_MODE, StoreUnavailable, plain_errors
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
from mjstudio.tasks.uploads import (
    UploadRegistry,
    prune_unreferenced,
    restore_data_urls,
    stash_data_urls,
)

log = logging.getLogger("mjstudio.tasks.service")

_SHARED: dict[Path, Studio] = {}
_SHARED_LOCK = threading.Lock()


class Studio:
    """Store, uploads and tracker of one data folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.folder
        self.store = TaskStore.open(self.data_dir, settings.database_url)
        self.uploads = UploadRegistry(self.data_dir)
        self.tracker = Tracker(
            self.store,
            budget=Budget(settings.rate_limit_per_minute),
            concurrency=settings.status_concurrency,
        )
        self._secret = _stable_secret(self.data_dir / "callback-secret")
        self._closing = threading.Event()

    @classmethod
    def shared(cls, settings: Settings, connections: Iterable[Connection] = ()) -> Studio:
        """The one Studio of the settings' data folder in this process, its tracker started.

        Connections known at start-up are connected first, so the tracker's first pass can
        already poll the tasks a restart left running.
        """
        with _SHARED_LOCK:
            studio = _SHARED.get(settings.folder)
            if studio is None:
                studio = _SHARED[settings.folder] = cls(settings)
                studio._start_housekeeping()
            for conn in connections:
                studio.connect(conn)
            studio.tracker.start()
            return studio

    def health(self) -> dict[str, Any]:
        """What the health route reports: the tracker, the database, this server's leases (the
        tasks it works on now) and when the provider last answered well (None: not yet)."""
        database: dict[str, Any] = {"engine": self.store.dialect.name, "ok": True}
        leases = None
        try:
            leases = self.store.lease_count(self.tracker.server)
        except StoreUnavailable as exc:
            database |= {"ok": False, "error": exc.reason}
        last = self.tracker.last_provider_ok
        return {
            "tracker": self.tracker.running,
            "server": self.tracker.server,
            "database": database,
            "leases": leases,
            "last_provider_ok": last,
            "last_provider_ok_s_ago": None if last is None else round(time.time() - last, 1),
        }

    @classmethod
    def forget(cls, data_dir: Path) -> None:
        """Stop and drop the shared Studio of a data folder (server shutdown, tests)."""
        with _SHARED_LOCK:
            studio = _SHARED.pop(Path(data_dir).resolve(), None)
        if studio:
            studio._closing.set()
            studio.tracker.stop()
            studio.store.close()

    def connect(self, conn: Connection) -> None:
        """Let the tracker follow a connection's workspace: the one place that registers one."""
        self.tracker.register(conn)

    # ------------------------------------------------------------------ housekeeping

    def _start_housekeeping(self) -> None:
        threading.Thread(target=self._housekeeping, name="mj-housekeeping", daemon=True).start()

    def _housekeeping(self) -> None:
        """Prune old unreferenced uploads at start-up, then once a day."""
        while not self._closing.is_set():
            try:
                removed = self.prune_uploads()
                if removed:
                    log.info("pruned %d unreferenced upload(s)", removed)
            except Exception:  # noqa: BLE001 - housekeeping must never stop the studio
                log.exception("upload pruning failed")
            self._closing.wait(DAY_S)

    def prune_uploads(self) -> int:
        """Delete uploads older than the setting that no stored task refers to."""
        return prune_unreferenced(self.uploads, self.store, self.settings.upload_max_age_s)

    # ------------------------------------------------------------------ tasks

    def submit(
        self,
        conn: Connection,
        task_input: AnyInput,
        *,
        parent: TaskRecord | None = None,
        parent_index: int | None = None,
        submission: str | None = None,
        batch: dict[str, Any] | None = None,
        owner: str = "",
    ) -> TaskRecord:
        """Store a task as queued, then send it in the background; returns the stored record.

        One ``submission`` (a token the form makes once per render) makes one task in a
        workspace, however often it comes: a repeat returns the first record and sends nothing.
        The stored request keeps no image bytes (``data:`` URLs become ``upload:`` references);
        the provider gets the request as built. StoreUnavailable when the folder refuses it.
        ``batch``: a matrix or sweep task's fields (``BatchPlan.record_fields``). ``owner``: the
        signed-in designer it is filed under ("" without sign-in).
        """
        self.connect(conn)
        if submission is not None:
            stored = self.store.find_submission(conn.workspace, submission)
            if stored is not None:
                return stored
        fields = {"parent_id": parent.id if parent else None, "parent_index": parent_index}
        fields |= {"submission": submission, "owner": owner, **_batch_fields(batch)}
        record = TaskRecord.new(
            conn.workspace, {}, mode=task_input.mode, state=RecordState.QUEUED, **fields
        )
        request = self.request_for(conn, task_input, record.id)
        record.prompt = str(getattr(task_input, "prompt", None) or "")
        record.expected_s = conn.schedule(task_input.speed).expected_s
        stored, inserted = self._store_once(record, request)
        if inserted:
            self.tracker.send(stored, request, conn)
        return stored

    def _store_once(self, record: TaskRecord, request: TaskRequest) -> tuple[TaskRecord, bool]:
        """Store a record with its request's images kept as uploads (dropped again if unused)."""
        try:
            with plain_errors():
                record.request, tokens = stash_data_urls(request.to_api(), self.uploads)
        except ValueError as exc:  # a data: URL that is no image we keep
            raise InvalidRequest("image_urls", str(exc)) from None
        inserted = False
        try:
            stored, inserted = self.store.add_once(record)
        finally:
            if not inserted:  # a repeat of the submission, or the store refused it
                for token in tokens:
                    self.uploads.remove(token)
        return stored, inserted

    def sendable_request(self, record: TaskRecord) -> TaskRequest:
        """The create body of a stored record as first built: ``upload:`` back to ``data:``.

        For re-sending a queued task after a restart; InvalidRequest when a reference image
        is no longer stored or the stored body is not a valid request.
        """
        try:
            body = restore_data_urls(record.request, self.uploads)
        except KeyError:
            raise InvalidRequest(
                "image_urls", "a reference image of this task is no longer stored"
            ) from None
        return parse_request(body)

    def request_for(self, conn: Connection, task_input: AnyInput, record_id: str) -> TaskRequest:
        """The full create body for an input under a connection's common parameters."""
        params = task_input.to_api()
        mode = params.pop("mode")
        callback = self.callback_url(conn, record_id)
        return build_request(
            mode,
            request_type="callback" if callback else "async",
            callback_url=callback,
            provider=conn.provider,
            **params,
        )

    def parent_by_task_id(self, conn: Connection, task_id: str) -> TaskRecord | None:
        """The stored record of a provider task id in this connection's workspace."""
        return self.store.find_task(conn.workspace, task_id.strip())

    # ------------------------------------------------------------------ callbacks

    def callback_url(self, conn: Connection, record_id: str) -> str | None:
        """The signed URL the provider calls back for a record (callback mode only)."""
        if conn.request_type != "callback" or not conn.callback_base:
            return None
        base = conn.callback_base.rstrip("/")
        return f"{base}/api/callback/{record_id}?sig={self._sign(record_id)}"

    _callback_lock = threading.Lock()  # one final status per task, even from racing callbacks

    def receive_callback(self, record_id: str, sig: str, data: Any) -> bool:
        """Record a provider's final status of a task once, then wake the tracker (and the
        pages showing the task, when it failed: there is nothing to download).

        False, changing nothing, for a bad signature, a status that is not final or names
        another task id, a record without a task id (never sent, or unknown) and a record
        already final with another state (a repeat of its own final state is True).
        No network or image work happens here: the tracker's worker downloads the results.
        """
        if not self.callback_signed(record_id, sig) or not isinstance(data, dict):
            return False
        status = TaskStatus.from_data(data)
        with self._callback_lock:
            record = self.store.get(record_id)
            if record is None or not record.task_id or status.task_id != record.task_id:
                return False
            if not status.is_final or record.is_final:
                return record.is_final and record.state.value == status.state.value
            stored = self.store.update(record_id, **_final_changes(status))
        self.tracker.wake()  # a success is downloaded at once, on the download lane...
        if not stored.needs_work:  # ...a failure is done: a page showing it draws it at once
            self.tracker.changes.changed(record_id)
        return True

    def callback_signed(self, record_id: str, sig: str) -> bool:
        """True when ``sig`` is the record's callback signature (constant time, any text)."""
        given = str(sig or "").encode("utf-8", "replace")
        return hmac.compare_digest(given, self._sign(record_id).encode())

    def _sign(self, record_id: str) -> str:
        return hmac.new(self._secret, record_id.encode(), hashlib.sha256).hexdigest()[:32]

    def sign(self, purpose: str, value: str) -> str:
        """This data folder's signature of ``value`` for one purpose (a link to a file, a zip):
        a page hands it out with the link, a route checks it (``signed``)."""
        return self._sign(f"{purpose}\0{value}")  # a record id has no NUL: never a callback's

    def signed(self, purpose: str, value: str, sig: str) -> bool:
        """True when ``sig`` is ``sign(purpose, value)`` (constant time, any text)."""
        given = str(sig or "").encode("utf-8", "replace")
        return hmac.compare_digest(given, self.sign(purpose, value).encode())

    # ---- recovery

    def download_again(self, record_id: str) -> TaskRecord | None:
        """Download a succeeded task's results again now (retries gave up, or a file is gone).

        Returns the record (unchanged when there is nothing to download), None if there is none.
        """
        record = recovery.download_again(self.store, record_id)
        self.tracker.wake()
        return record

    def check_again(self, record_id: str) -> TaskRecord | None:
        """Ask the provider for a sent, still running task's status now (a stuck one, say).

        Returns the record (unchanged when it is not running), None if there is none.
        """
        record = recovery.check_again(self.store, record_id)
        self.tracker.wake()
        return record

    def attach_task_id(self, record_id: str, task_id: str) -> TaskRecord:
        """Recover an 'unknown' task with the provider's task id: pending, and checked now.

        ValueError with a sentence for the designer when the record is not unknown, the id is
        blank, or another task of the workspace has it.
        """
        record = recovery.attach_task_id(self.store, record_id, task_id)
        self.tracker.wake()
        return record


def _batch_fields(batch: dict[str, Any] | None) -> dict[str, Any]:
    """Only the batch fields of a record, from a plan's ``record_fields``."""
    allowed = ("batch_id", "batch_label", "cell")
    return {name: value for name, value in (batch or {}).items() if name in allowed}


def _final_changes(status: TaskStatus) -> dict[str, Any]:
    """What a final status sets on its record; due now, so the tracker downloads a success."""
    now = time.time()
    return {
        "state": RecordState(status.state.value),
        "error": None,
        "fail_code": status.fail_code,
        "fail_msg": status.fail_msg,
        "result_urls": status.result_urls,
        "finished_at": status.complete_time / 1000 if status.complete_time else now,
        "next_poll_at": now,
        "cost_s": cost_s(status),
    }


def _stable_secret(path: Path) -> bytes:
    """A random secret made once per data folder (kept in memory if the folder refuses it)."""
    if path.exists():
        return path.read_bytes()
    value = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            out.write(value)
    except FileExistsError:  # another process made it meanwhile
        return path.read_bytes()
    except OSError as exc:
        log.warning("callback secret not saved (%s): callbacks sent before a restart fail", exc)
    return value
