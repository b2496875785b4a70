"""The store keeps its connections: one per thread, set up once, gone with its thread.

A connection is counted where the store opens it (its ``_open`` hook), so these tests see
exactly how many the store makes and which are still open.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.sqlite import BUSY_TIMEOUT_MS, READ_ONLY, StoreUnavailable
from mjstudio.tasks.store import DB_NAME, TaskStore
from tests.waiting import wait_for

WS = "ws-conn"


def make(prompt: str = "a red fox", **kw) -> TaskRecord:
    return TaskRecord.new(WS, {"input": {"mode": "text-to-image", "prompt": prompt}}, **kw)


def is_closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


class CountingStore(TaskStore):
    """A store that remembers every connection it opened, and in which thread."""

    def _open(self, *, immutable: bool = False) -> sqlite3.Connection:
        conn = super()._open(immutable=immutable)
        self.__dict__.setdefault("opened", []).append((threading.current_thread().name, conn))
        return conn

    def opened_in(self, thread_name: str) -> list[sqlite3.Connection]:
        return [conn for name, conn in self.opened if name == thread_name]


class SwitchableStore(TaskStore):
    """A folder that is read-only while ``read_only`` is set (SQLite opens the file read-only
    then, and such a connection stays read-only after the folder is writable again)."""

    read_only = False

    def _open(self, *, immutable: bool = False) -> sqlite3.Connection:
        if not self.read_only:
            return super()._open(immutable=immutable)
        uri = f"file:{self.path}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn


def _use(store: TaskStore) -> None:
    """What a page run or a tracker pass does: reads and a write or two."""
    record = store.add(make())
    store.update(record.id, task_id="T", state=RecordState.PROCESSING, next_poll_at=1.0)
    store.list(WS, limit=12)
    store.count(WS, query="fox")
    store.due(2.0)
    store.get(record.id)


def test_a_thread_keeps_one_connection(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / DB_NAME)
    for _ in range(20):
        _use(store)
    assert len(store.opened) == 1  # opened at start, kept for 120 operations
    assert store.open_connections == 1


def test_the_kept_connection_is_set_up_once(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / DB_NAME)
    _use(store)
    [(_, conn)] = store.opened
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    assert conn.execute("SELECT casefold('ÜNÏ Straße')").fetchone()[0] == "ünï strasse"
    assert not conn.in_transaction  # nothing left open between operations


def test_each_thread_has_its_own_and_an_ended_thread_leaves_none_open(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / DB_NAME)
    threads = [threading.Thread(target=_use, args=(store,), name=f"run-{n}") for n in range(24)]
    for thread in threads:  # like Streamlit's script threads: many, short-lived
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    for thread in threads:
        assert len(store.opened_in(thread.name)) == 1  # one each, kept for its six operations
    gc.collect()
    wait_for(lambda: store.open_connections == 1, timeout=10, message="threads' connections")
    assert all(is_closed(conn) for name, conn in store.opened if name.startswith("run-"))
    assert store.count(WS) == 24


def test_close_closes_every_thread_s_connection_and_the_store_goes_on(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / DB_NAME)
    used, release = threading.Event(), threading.Event()

    def tracker() -> None:  # a long-lived thread, like the tracker's
        _use(store)
        used.set()
        release.wait(30)
        store.list(WS)  # after close(): it opens a new connection

    thread = threading.Thread(target=tracker, name="tracker")
    thread.start()
    try:
        assert used.wait(30)
        assert store.open_connections == 2
        store.close()
        assert store.open_connections == 0
        assert all(is_closed(conn) for _, conn in store.opened)
    finally:
        release.set()
        thread.join(timeout=30)
    assert len(store.opened_in("tracker")) == 2
    assert store.count(WS) == 1  # the main thread opens a new one too
    assert len(store.opened_in(threading.current_thread().name)) == 2


def test_a_connection_that_met_a_read_only_folder_is_dropped(tmp_path: Path) -> None:
    kept = TaskStore.open(tmp_path).add(make(prompt="kept"))
    store = type("StartsReadOnly", (SwitchableStore,), {"read_only": True})(tmp_path / DB_NAME)
    assert [r.id for r in store.list(WS)] == [kept.id]
    with pytest.raises(StoreUnavailable) as caught:
        store.add(make(prompt="refused"))
    assert caught.value.reason == READ_ONLY
    store.read_only = False  # the folder is fixed: the next write must not use that connection
    written = store.add(make(prompt="written"))
    assert store.get(written.id).prompt == "written"


def test_one_store_shared_by_many_threads_loses_nothing(tmp_path: Path) -> None:
    """The studio shares one store between every page thread and the tracker."""
    store = TaskStore(tmp_path / DB_NAME)
    records = [store.add(make(prompt=f"task {n}")) for n in range(6)]
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def work(record: TaskRecord) -> None:
        try:
            start.wait(10)
            for i in range(40):
                store.update(record.id, polls=i + 1)
                store.add(make(prompt=f"{record.id} {i}"))
                store.list(WS, limit=12)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and not any(thread.is_alive() for thread in threads)
    assert [store.get(r.id).polls for r in records] == [40] * 6
    assert store.count(WS) == 6 + 6 * 40


def test_a_damaged_file_is_set_aside_from_under_a_kept_connection(tmp_path: Path) -> None:
    """A second store setting a damaged file aside first closes what this process keeps of it."""
    first = CountingStore(tmp_path / DB_NAME)
    for n in range(200):
        first.add(make(prompt=f"prompt {n} " + "x" * 400))
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray((tmp_path / DB_NAME).read_bytes())
    raw[4096 * 3 : 4096 * 3 + 3000] = b"\xff" * 3000  # a page in the middle
    (tmp_path / DB_NAME).write_bytes(bytes(raw))
    second = TaskStore.open(tmp_path)
    assert second.recovered_from is not None
    assert all(is_closed(conn) for _, conn in first.opened)
    written = first.add(make(prompt="after"))  # the first store goes on with the new file
    assert [r.id for r in second.list(WS)] == [written.id]


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    """A child process must not use (or close) the connection its parent keeps."""
    store = CountingStore(tmp_path / DB_NAME)
    store.add(make(prompt="parent"))
    [(_, parent_conn)] = store.opened
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        answer = "error"
        try:
            store.add(make(prompt="child"))
            mine = store.opened[-1][1]
            answer = "own" if len(store.opened) == 2 and mine is not parent_conn else "shared"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            answer = f"error: {exc!r}"
        finally:
            os.write(write_end, answer.encode())
            os._exit(0)
    os.close(write_end)
    try:
        wait_for(lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, timeout=60, message="child hung")
        assert os.read(read_end, 4096).decode() == "own"
    finally:
        os.close(read_end)
    assert not is_closed(parent_conn) and len(store.opened) == 1
    assert sorted(r.prompt for r in store.list(WS)) == ["child", "parent"]


def test_closing_the_store_never_closes_a_connection_under_a_running_statement(
    tmp_path: Path,
) -> None:
    """A close at shutdown waits for the operation under way: it is closed at its end."""
    store = CountingStore(tmp_path / DB_NAME)
    store.add(TaskRecord.new("ws", {"input": {"prompt": "first"}}))
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the thread's write waits on it
    written: list[str] = []

    def write() -> None:
        written.append(store.add(TaskRecord.new("ws", {"input": {"prompt": "second"}})).prompt)

    writer = threading.Thread(target=write, name="writer")
    writer.start()
    wait_for(lambda: store.opened_in("writer"), timeout=10, message="the writer's connection")
    time.sleep(0.2)  # its INSERT is waiting for the lock now
    store.close()  # from another thread, in the middle of it: left to the writer
    assert writer.is_alive()
    blocker.execute("COMMIT")
    blocker.close()
    writer.join(20)
    assert written == ["second"]
    assert is_closed(store.opened_in("writer")[0])  # closed as its operation ended
    assert [r.prompt for r in store.list("ws")] == ["second", "first"]
