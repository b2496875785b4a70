"""The studio's services for one data folder: the store, uploaded images and the tracker.

One `Studio` per data folder per process, shared by the server's lifespan, its routes and
every page; the UI only calls it, it never draws anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mjstudio.api.contract import AnyInput, TaskRequest, TaskStatus, build_request
from mjstudio.config import DAY_S, Connection, Settings
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
from mjstudio.tasks.uploads import UploadRegistry, prune_unreferenced

log = logging.getLogger("mjstudio.tasks.service")

_SHARED: dict[Path, Studio] = {}
_SHARED_LOCK = threading.Lock()


class Studio:
    """Store, uploads and tracker of one data folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.folder
        self.store = TaskStore.open(self.data_dir)
        self.uploads = UploadRegistry(self.data_dir)
        self.tracker = Tracker(self.store)
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

    @classmethod
    def forget(cls, data_dir: Path) -> None:
        """Stop and drop the shared Studio of a data folder (server shutdown, tests)."""
        with _SHARED_LOCK:
            studio = _SHARED.pop(Path(data_dir).resolve(), None)
        if studio:
            studio._closing.set()
            studio.tracker.stop()

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
    ) -> TaskRecord:
        """Store a task, then send it in the background; returns the stored record at once."""
        self.connect(conn)
        record = TaskRecord.new(
            conn.workspace,
            {},
            mode=task_input.mode,
            parent_id=parent.id if parent else None,
            parent_index=parent_index,
        )
        request = self.request_for(conn, task_input, record.id)
        record.request = request.to_api()
        record.prompt = str(getattr(task_input, "prompt", None) or "")
        record.expected_s = conn.schedule(task_input.speed).expected_s
        self.store.add(record)
        self.tracker.send(record, request, conn)
        return record

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

    def receive_callback(self, record_id: str, sig: str, data: Any) -> bool:
        """Apply a provider callback; False when the signature or record is wrong."""
        if not hmac.compare_digest(sig or "", self._sign(record_id)):
            return False
        record = self.store.get(record_id)
        if record is None:
            return False
        status = TaskStatus.from_data(data, record.task_id or "")
        if record.task_id and status.task_id != record.task_id:
            return False
        conn = self.tracker.connection(record.workspace)
        next_in = conn.schedule(record.params.get("speed")).every_s if conn else 60.0
        self.tracker.apply_status(record, status, next_in=next_in)
        return True

    def _sign(self, record_id: str) -> str:
        return hmac.new(self._secret, record_id.encode(), hashlib.sha256).hexdigest()[:32]


def _stable_secret(path: Path) -> bytes:
    """A random secret made once per data folder."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(32)
    path.write_bytes(value)
    path.chmod(0o600)
    return value
