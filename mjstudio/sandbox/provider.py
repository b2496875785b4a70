"""The sandbox provider's behaviour, HTTP aside: create, run, report and serve tasks."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import secrets
import shutil
import struct
import tempfile
import threading
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mjstudio.api.contract import TaskRequest, TaskState
from mjstudio.api.fence import FencePolicy
from mjstudio.sandbox.callbacks import TIMEOUT_S, client_for, deliver
from mjstudio.sandbox.fetch import DEFAULT_FENCE
from mjstudio.sandbox.jobs import JobContext, TaskFailure, render
from mjstudio.sandbox.ledger import SandboxLedger, SandboxTask, now_ms
from mjstudio.sandbox.limits import SlidingWindow
from mjstudio.sandbox.options import SandboxSettings

log = logging.getLogger(__name__)
ENCODERS = max(1, min(4, os.cpu_count() or 1))  # threads that encode result PNGs


class ApiError(Exception):
    """An error answer: HTTP status (= envelope code), message, optional Retry-After."""

    def __init__(self, code: int, msg: str, retry_after: int | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.retry_after = retry_after


def to_png(img: Image.Image) -> bytes:
    """PNG bytes of an image, written fast: every row "Sub"-filtered (numpy), one zlib pass at
    level 1. As small as Pillow's PNG at its fastest setting, in about half the time."""
    if img.mode not in _PNG_COLOUR:
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    w, h = img.size
    bpp = len(img.mode)
    raw = np.asarray(img).reshape(h, w * bpp)
    rows = np.empty((h, 1 + w * bpp), dtype=np.uint8)
    rows[:, 0] = 1  # filter type Sub: each byte minus the same channel one pixel left
    rows[:, 1 : 1 + bpp] = raw[:, :bpp]
    np.subtract(raw[:, bpp:], raw[:, :-bpp], out=rows[:, 1 + bpp :])
    header = struct.pack(">IIBBBBB", w, h, 8, _PNG_COLOUR[img.mode], 0, 0, 0)
    body = zlib.compress(rows.data, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


_PNG_COLOUR = {"L": 0, "RGB": 2, "RGBA": 6}  # PNG colour types of the modes to_png writes


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


class Sandbox:
    """Tasks of one sandbox: created fast, rendered in a thread pool, visible after latency."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self._own_dir = settings.data_dir is None
        root = Path(tempfile.mkdtemp(prefix="mjsandbox-")) if self._own_dir else settings.data_dir
        self.store = SandboxLedger(root)  # type: ignore[arg-type]
        self.window = SlidingWindow(settings.rate_limit_per_minute)
        self._ctx = JobContext(settings, self.store)
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="mjsandbox")
        # A grid's four PNGs are encoded side by side (zlib and numpy let go of the GIL).
        self._encoder = ThreadPoolExecutor(ENCODERS, thread_name_prefix="mjsandbox-png")
        self._lock = threading.Lock()
        self._active: dict[str, SandboxTask] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._closed = False
        self._pruned_at = time.monotonic()
        self.store.load()
        self.prune_expired()
        self._resume()

    @property
    def data_dir(self) -> Path:
        """Where task records and result files live."""
        return self.store.root

    def check_rate(self) -> None:
        """Count a request against the per-minute limit; 429 past it."""
        self._prune_now_and_then()
        wait = self.window.hit()
        if wait is not None:
            limit = self.settings.rate_limit_per_minute
            raise ApiError(429, f"Rate limit exceeded ({limit} requests a minute).", wait)

    def create(self, request: TaskRequest, base_url: str) -> SandboxTask:
        """Record a new task and start its work; 429 past the concurrent-task limit."""
        now = now_ms()
        with self._lock:
            self._check_concurrency(now)
            record = SandboxTask(
                task_id=uuid.uuid4().hex,
                request=request.to_api(),
                created_ms=now,
                ready_ms=now + round(self.settings.latency_s * 1000),
                token=secrets.token_urlsafe(16),
                base_url=base_url,
                parent=getattr(request.input, "taskId", None),
            )
            self.store.save(record)
            self._active[record.task_id] = record
        self._pool.submit(self._work, record)
        return record

    def status(self, task_id: str, base_url: str) -> dict[str, Any] | None:
        """The status ``data`` of a task, or None for an unknown id."""
        record = self.store.get(task_id)
        if record is None:
            return None
        return record.status_data(now_ms(), self.settings.public_base_url or base_url)

    def result_file(self, token: str, name: str) -> Path:
        """The path of a visible, unexpired result file; 404 or 410 otherwise."""
        record = self.store.by_token(token)
        now = now_ms()
        if record is None or name not in record.files:
            raise ApiError(404, "Result file not found.")
        if record.state_at(now) is not TaskState.SUCCESS:
            raise ApiError(404, "Result file not found.")
        path = self.store.file_path(record, name)
        if now - (record.complete_ms or now) > self.settings.result_ttl_s * 1000:
            path.unlink(missing_ok=True)
            raise ApiError(410, "expired")
        if not path.is_file():
            raise ApiError(404, "Result file not found.")
        return path

    def prune_expired(self) -> int:
        """Delete the tasks (records and result files) whose results have expired; how many."""
        oldest = now_ms() - self.settings.result_ttl_s * 1000
        expired = [r for r in self.store.all() if (r.complete_ms or math.inf) < oldest]
        for record in expired:
            self.store.remove(record)
        if expired:
            log.info("sandbox: deleted %d expired task(s)", len(expired))
        return len(expired)

    def _prune_now_and_then(self) -> None:
        """Start a prune in the background when the last one is ``prune_every_s`` old."""
        with self._lock:
            due = time.monotonic() - self._pruned_at >= self.settings.prune_every_s
            if due:
                self._pruned_at = time.monotonic()
        if due and not self._closed:
            with contextlib.suppress(RuntimeError):  # shut down meanwhile
                self._pool.submit(self.prune_expired)

    def close(self) -> None:
        """Stop work and timers (unfinished tasks resume on the next start)."""
        self._closed = True
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._encoder.shutdown(wait=True, cancel_futures=True)
        if self._own_dir:
            shutil.rmtree(self.store.root, ignore_errors=True)

    def _check_concurrency(self, now: int) -> None:
        running = {k: r for k, r in self._active.items() if not r.state_at(now).is_final}
        self._active = running
        if len(running) < self.settings.max_concurrent:
            return
        ends = [r.complete_ms or max(r.ready_ms, now + 1000) for r in running.values()]
        wait = max(1, math.ceil((min(ends) - now) / 1000))
        limit = self.settings.max_concurrent
        raise ApiError(429, f"Too many tasks running at once (limit {limit}).", wait)

    def _work(self, record: SandboxTask) -> None:
        files: list[str] = []
        code = msg = None
        try:
            for index, png in enumerate(self._encoder.map(to_png, render(record, self._ctx))):
                name = f"{record.task_id}_{index}.png"
                self.store.write_file(record, name, png)
                files.append(name)
        except TaskFailure as exc:
            code, msg, files = exc.code, exc.message, []
        except Exception:
            log.exception("sandbox task %s crashed", record.task_id)
            code, msg, files = "SANDBOX_ERROR", "The sandbox could not make this picture.", []
        self.store.update(record, files=files, fail_code=code, fail_msg=msg, done_ms=now_ms())
        self._schedule_callback(record)

    def _schedule_callback(self, record: SandboxTask) -> None:
        if not record.callback_url or record.callback_sent or self._closed:
            return
        client_for(self._fence(record.callback_url), TIMEOUT_S)  # made now, not when it is due
        delay = max(0.0, ((record.complete_ms or 0) - now_ms()) / 1000)
        timer = threading.Timer(delay, self._callback, args=(record,))
        timer.daemon = True
        with self._lock:
            self._timers[record.task_id] = timer
        timer.start()

    def _callback(self, record: SandboxTask) -> None:
        base = self.settings.public_base_url or record.base_url
        data = record.status_data(max(now_ms(), record.complete_ms or 0), base)
        url = record.callback_url or ""
        if not deliver(url, data, self.settings.callback_attempts, fence=self._fence(url)):
            log.warning("callback for task %s given up", record.task_id)
        if not self._closed:
            self.store.update(record, callback_sent=True)
        with self._lock:
            self._timers.pop(record.task_id, None)

    def _fence(self, url: str) -> FencePolicy:
        """The outbound policy a callback to ``url`` is sent under."""
        return self.settings.fence_for(url) or DEFAULT_FENCE

    def _resume(self) -> None:
        now = now_ms()
        for record in self.store.all():
            if record.done_ms is None:
                self._active[record.task_id] = record
                self._pool.submit(self._work, record)
                continue
            if not record.state_at(now).is_final:
                self._active[record.task_id] = record
            self._schedule_callback(record)
