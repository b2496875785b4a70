"""Status calls of every followed task, concurrently on one event loop in its own thread.

The tracker hands in one call per due task; calls start in the order given (oldest due first),
at most ``concurrency`` at a time, each attempt paced by its account's token bucket (the
provider's budget, shared with creates, which go first). Clients are kept per connection, so
connections are reused. What a call brings back (a status, or the error) is handed to a small
pool of threads that write it to the store: the event loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from mjstudio.api.contract import TaskStatus
from mjstudio.api.status_client import AsyncStatusClient
from mjstudio.config import Connection
from mjstudio.tasks.ratelimit import Budgets

log = logging.getLogger("mjstudio.tasks.statuses")

Outcome = TaskStatus | Exception
APPLIERS = 2  # threads that write what the calls brought back
MAX_IDLE_CLIENTS = 16


@dataclass
class _Job:
    conn: Connection
    task_id: str
    done: Callable[[Outcome], None]


@dataclass
class _Client:
    client: AsyncStatusClient
    users: int = 0
    last_used: int = 0


def async_client(conn: Connection, connections: int) -> AsyncStatusClient:
    """A status client for a connection, with the connection's timeouts."""
    timeout = httpx.Timeout(conn.timeout_s, connect=min(10.0, conn.timeout_s))
    return AsyncStatusClient(
        conn.api_key,
        conn.base_url,
        auth_header=conn.auth_header,
        timeout=timeout,
        connections=connections,
    )


class StatusPoller:
    """One thread with an event loop that makes every status call of the tracker."""

    def __init__(self, budgets: Budgets, concurrency: int = 32) -> None:
        self.budgets = budgets
        self.concurrency = max(1, concurrency)
        self._pending: deque[_Job] = deque()  # the loop's own, like everything below
        self._in_flight = 0
        self._tasks: set[asyncio.Task] = set()
        self._clients: dict[Connection, _Client] = {}
        self._pacing: dict[str, asyncio.Lock] = {}
        self._clock = 0
        self._closing = False
        self._count = 0  # calls handed in and not finished (any thread reads it)
        self._count_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._appliers = ThreadPoolExecutor(APPLIERS, thread_name_prefix="mj-apply")

    # ------------------------------------------------------------------ any thread

    def start(self) -> None:
        """Start the event loop's thread (idempotent)."""
        if self._thread is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="mj-status", daemon=True)
        self._thread.start()

    def submit(self, conn: Connection, task_id: str, done: Callable[[Outcome], None]) -> bool:
        """Ask for a task's status; ``done`` gets the status or the error, on another thread.

        False (and ``done`` never called) when the poller is not running.
        """
        if self._loop is None or self._closing:
            return False
        with self._count_lock:
            self._count += 1
        try:
            self._loop.call_soon_threadsafe(self._enqueue, _Job(conn, task_id, done))
        except RuntimeError:  # the loop is closed
            self._finished()
            return False
        return True

    @property
    def backlog(self) -> int:
        """Calls handed in and not finished yet (queued or under way)."""
        return self._count

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel every call, close the clients and end the thread."""
        loop, thread = self._loop, self._thread
        self._closing = True
        if loop is not None and thread is not None and thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
            except Exception:  # noqa: BLE001 - stopping must go on whatever the loop says
                log.warning("the status loop did not shut down cleanly", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        self._appliers.shutdown(wait=False, cancel_futures=True)

    def _finished(self) -> None:
        with self._count_lock:
            self._count -= 1

    # ------------------------------------------------------------------ the loop's thread

    def _serve(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _enqueue(self, job: _Job) -> None:
        if self._closing:
            self._finished()
            return
        self._pending.append(job)
        self._fill()

    def _fill(self) -> None:
        """Start queued calls, oldest first, while fewer than ``concurrency`` are under way."""
        while not self._closing and self._pending and self._in_flight < self.concurrency:
            job = self._pending.popleft()
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, job: _Job) -> None:
        try:
            outcome: Outcome = await self._call(job)
        except asyncio.CancelledError:
            self._finished()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the tracker like any failure
            outcome = exc
        finally:
            self._in_flight -= 1
            self._fill()
        try:
            self._appliers.submit(self._deliver, job, outcome)
        except RuntimeError:  # stopping: nobody is left to write it
            self._finished()

    def _deliver(self, job: _Job, outcome: Outcome) -> None:
        try:
            job.done(outcome)
        except Exception:  # noqa: BLE001 - the appliers must survive
            log.exception("recording the status of %s failed", job.task_id)
        finally:
            self._finished()

    async def _call(self, job: _Job) -> TaskStatus:
        entry = self._lease(job.conn)
        bucket = self.budgets.bucket(job.conn.workspace)
        lock = self._pacing.setdefault(job.conn.workspace, asyncio.Lock())

        async def pace() -> None:
            async with lock:  # one waiter at a time, in the order the calls started
                while (wait := bucket.try_take()) > 0:
                    await asyncio.sleep(wait)

        try:
            return await entry.client.status(job.task_id, pace)
        finally:
            entry.users -= 1
            self._close_extra_idle()

    def _lease(self, conn: Connection) -> _Client:
        entry = self._clients.get(conn)
        if entry is None:
            entry = self._clients[conn] = _Client(async_client(conn, self.concurrency))
        entry.users += 1
        self._clock += 1
        entry.last_used = self._clock
        return entry

    def _close_extra_idle(self) -> None:
        idle = sorted((e.last_used, conn) for conn, e in self._clients.items() if e.users == 0)
        for _, conn in idle[: max(0, len(idle) - MAX_IDLE_CLIENTS)]:
            entry = self._clients.pop(conn)
            task = asyncio.get_running_loop().create_task(entry.client.aclose())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _shutdown(self) -> None:
        self._closing = True
        for _ in range(len(self._pending)):
            self._pending.popleft()
            self._finished()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        clients = [entry.client for entry in self._clients.values()]
        self._clients.clear()
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
