"""The store when its data folder misbehaves: damaged, read-only, full; and who may read it.

Tests run as root in CI, where file modes stop nothing: a read-only or full folder is simulated
by opening SQLite read-only or with a page limit (what such a folder makes SQLite answer), and a
folder that cannot be opened by putting a directory where the database should be.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
from contextlib import suppress
from pathlib import Path

import pytest

from mjstudio.config import Settings
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.sqlite import CANNOT_OPEN, FULL, READ_ONLY
from mjstudio.tasks.store import DB_NAME, StoreUnavailable, TaskStore
from mjstudio.tasks.uploads import UploadRegistry
from tests.waiting import wait_for

WS = "ws-one"


def make(prompt: str = "a red fox", **kw) -> TaskRecord:
    request = {"input": {"mode": "text-to-image", "prompt": prompt}, "provider": "auto"}
    return TaskRecord.new(WS, request, **kw)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_plain(exc: StoreUnavailable, *paths: Path) -> None:
    """The message a page can show: no server path, no SQLite jargon."""
    text = str(exc)
    assert text and "/" not in text and "sqlite" not in text.lower(), text
    for path in paths:
        assert str(path) not in text and path.name not in text, text


class ReadOnlyStore(TaskStore):
    """What a read-only folder makes SQLite answer: reads work, every write is refused."""

    def _open(self, *, immutable: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn


class SmallDiskStore(TaskStore):
    """A disk with room for ``max_pages`` database pages (SQLite answers "disk is full").

    SQLite takes a page limit per connection: a new size is given to every connection the store
    has open too, as a real disk's size would be (the store keeps its connections).
    """

    _pages = 1_000_000_000

    def _open(self, *, immutable: bool = False) -> sqlite3.Connection:
        conn = super()._open(immutable=immutable)
        conn.execute(f"PRAGMA max_page_count = {self.max_pages}")
        self.__dict__.setdefault("opened", []).append(conn)
        return conn

    @property
    def max_pages(self) -> int:
        return self._pages

    @max_pages.setter
    def max_pages(self, pages: int) -> None:
        self._pages = pages
        for conn in self.__dict__.get("opened", []):
            with suppress(sqlite3.ProgrammingError):  # closed already
                conn.execute(f"PRAGMA max_page_count = {pages}")


# --------------------------------------------------------------------------- a damaged database


def test_a_file_of_garbage_is_set_aside_and_a_new_history_started(tmp_path: Path) -> None:
    garbage = os.urandom(3000)
    (tmp_path / DB_NAME).write_bytes(garbage)
    store = TaskStore.open(tmp_path)  # must not raise
    aside = store.recovered_from
    assert aside is not None and aside.parent == tmp_path
    assert aside.name.startswith("history.corrupt-") and aside.suffix == ".sqlite3"
    assert aside.read_bytes() == garbage  # kept for whoever wants to look
    record = store.add(make())
    assert store.get(record.id) == record and store.count(WS) == 1
    note = store.recovery_note()
    assert aside.name in note and str(tmp_path) not in note
    assert TaskStore.open(tmp_path).recovered_from is None  # the new one is sound


def test_a_malformed_database_is_set_aside(tmp_path: Path) -> None:
    first = TaskStore.open(tmp_path)
    for i in range(200):
        first.add(make(prompt=f"prompt {i} " + "x" * 400))
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray((tmp_path / DB_NAME).read_bytes())
    raw[4096 * 3 : 4096 * 3 + 3000] = os.urandom(3000)  # a page in the middle
    (tmp_path / DB_NAME).write_bytes(bytes(raw))
    again = TaskStore.open(tmp_path)
    assert again.recovered_from is not None and again.count(WS) == 0
    assert again.add(make()).id


def test_a_sound_database_is_never_set_aside(tmp_path: Path) -> None:
    store = TaskStore.open(tmp_path)
    kept = store.add(make())
    again = TaskStore.open(tmp_path)
    assert again.recovered_from is None and again.recovery_note() is None
    assert again.get(kept.id) == kept
    assert not list(tmp_path.glob("*corrupt*"))


def test_the_studio_starts_on_a_damaged_database(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"not a database at all" * 100)
    studio = Studio(Settings.load(environ={}, data_dir=tmp_path))
    try:
        assert studio.store.recovered_from is not None
        assert studio.store.list(WS) == []
    finally:
        studio.tracker.stop()


# --------------------------------------------------------------------------- read-only


def test_a_read_only_folder_still_shows_the_history(tmp_path: Path) -> None:
    kept = TaskStore.open(tmp_path).add(make(prompt="kept"))
    store = ReadOnlyStore(tmp_path / DB_NAME)  # opening does not fail
    assert store.get(kept.id) == kept
    assert [r.id for r in store.list(WS)] == [kept.id] and store.count(WS) == 1
    assert store.workspaces() == [WS] and store.upload_tokens() == set()
    with pytest.raises(StoreUnavailable) as caught:
        store.add(make(prompt="new"))
    assert caught.value.reason == READ_ONLY and "read-only" in str(caught.value)
    assert_plain(caught.value, tmp_path)
    with pytest.raises(StoreUnavailable):
        store.update(kept.id, polls=3)
    assert TaskStore.open(tmp_path).get(kept.id) == kept  # nothing changed


def test_a_database_that_cannot_be_opened_is_unavailable_until_it_can(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).mkdir()  # a directory where the file should be
    store = TaskStore.open(tmp_path)  # opening does not fail
    assert store.recovered_from is None and (tmp_path / DB_NAME).is_dir()  # not "repaired"
    for call in (lambda: store.list(WS), lambda: store.add(make())):
        with pytest.raises(StoreUnavailable) as caught:
            call()
        assert caught.value.reason == CANNOT_OPEN
        assert_plain(caught.value, tmp_path)
    (tmp_path / DB_NAME).rmdir()  # the folder is fixed: the same store works, nothing cached
    record = store.add(make())
    assert store.get(record.id) == record


NOBODY = 65534


def _use_read_only(folder: Path) -> str:
    """Read and try to write the history in ``folder``; what happened, in one word."""
    store = TaskStore.open(folder)
    assert [r.prompt for r in store.list(WS)] == ["kept"]
    try:
        store.add(make(prompt="new"))
    except StoreUnavailable as exc:
        assert_plain(exc, folder)
        return exc.reason
    return "written"


def _as_nobody(folder: Path) -> str:
    """Run :func:`_use_read_only` in a child process that has dropped root."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        answer = "error"
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            answer = _use_read_only(folder)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            answer = f"error: {exc!r}"
        finally:
            os.write(write_end, answer.encode())
            os._exit(0)
    os.close(write_end)
    try:
        wait_for(lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, timeout=60, message="child hung")
        return os.read(read_end, 4096).decode()
    finally:
        os.close(read_end)


def test_a_really_read_only_folder() -> None:
    """The same with file modes, as a user they stop (root drops to nobody in a child)."""
    folder = Path(tempfile.mkdtemp(prefix="mjstudio-ro-"))  # in /tmp: nobody may enter it
    try:
        writer = TaskStore.open(folder)
        writer.add(make(prompt="kept"))
        writer.close()  # its -wal goes with its last connection: nobody could write through it
        assert sorted(p.name for p in folder.iterdir()) == [DB_NAME]
        if os.geteuid() == 0:
            for path in (folder, *folder.iterdir()):
                os.chown(path, NOBODY, NOBODY)
        folder.chmod(0o500)
        answer = _as_nobody(folder) if os.geteuid() == 0 else _use_read_only(folder)
        assert answer == READ_ONLY
    finally:
        folder.chmod(0o700)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- full


def test_a_full_disk_refuses_writes_and_recovers_when_space_returns(tmp_path: Path) -> None:
    store = SmallDiskStore(tmp_path / DB_NAME)
    kept = store.add(make(prompt="kept"))
    store.max_pages = 1  # the disk fills up: no page more than the file has now
    with pytest.raises(StoreUnavailable) as caught:
        for i in range(50):
            store.add(make(prompt=f"big {i} " + "x" * 20_000))
    assert caught.value.reason == FULL
    assert str(caught.value) == (
        "The data folder is full: free some space; the studio resumes by itself."
    )
    assert_plain(caught.value, tmp_path)
    assert store.get(kept.id) == kept  # reads go on
    store.max_pages = 1_000_000_000  # space returns: the same store writes again
    record = store.add(make(prompt="after " + "x" * 20_000))
    assert store.get(record.id).prompt.startswith("after")


def test_a_full_disk_at_start_leaves_the_store_waiting_not_broken(tmp_path: Path) -> None:
    store_type = type("FullFromTheStart", (SmallDiskStore,), {"max_pages": 1})
    store = store_type(tmp_path / DB_NAME)  # no room for the table: opening still works
    with pytest.raises(StoreUnavailable) as caught:
        store.list(WS)
    assert caught.value.reason == FULL
    with pytest.raises(StoreUnavailable):
        store.add(make())
    store.max_pages = 1_000_000_000
    record = store.add(make())
    assert [r.id for r in store.list(WS)] == [record.id]


# --------------------------------------------------------------------------- who may read it


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # what most systems give a server: world-readable files
    yield
    os.umask(old)


def test_a_new_data_folder_is_private(tmp_path: Path, loose_umask) -> None:
    data = tmp_path / "new" / "data"
    studio = Studio(Settings.load(environ={}, data_dir=data))
    try:
        reader = sqlite3.connect(data / DB_NAME)  # keeps the -wal and -shm files in place
        reader.execute("SELECT COUNT(*) FROM tasks").fetchone()
        studio.store.add(make())
        assert (data / f"{DB_NAME}-wal").exists()
        assert mode_of(data) == 0o700
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", "callback-secret"):
            assert mode_of(data / name) == 0o600, name
        token = studio.uploads.put(b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
        assert mode_of(data / "uploads") == 0o700
        assert mode_of(next((data / "uploads").glob(f"{token}.*"))) == 0o600
        reader.close()
    finally:
        studio.tracker.stop()


def test_an_existing_loose_folder_is_made_private_at_open(tmp_path: Path, loose_umask) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    TaskStore.open(data).add(make())
    for path in (data / DB_NAME, *data.glob(f"{DB_NAME}-*")):
        path.chmod(0o644)
    data.chmod(0o755)
    (data / "uploads").mkdir(mode=0o755)
    TaskStore.open(data)
    UploadRegistry(data).put(b"\x89PNG\r\n\x1a\n", "image/png")
    assert mode_of(data) == 0o700
    assert mode_of(data / DB_NAME) == 0o600
    assert mode_of(data / "uploads") == 0o700
