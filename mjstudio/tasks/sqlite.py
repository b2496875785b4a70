"""SQLite plumbing of the task store: connections, plain errors, private files, damage repair.

A full, read-only or damaged data folder, or a PostgreSQL server that cannot be reached or is
out of space, surfaces as one :class:`StoreUnavailable` whose message names no server path; the
store drops the connection that met it, so it works again as soon as the folder does.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("mjstudio.tasks.sqlite")

BUSY_TIMEOUT_MS = 15_000
FOLDER_MODE = 0o700
FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm")  # SQLite's companions of a WAL database

FULL = "full"
READ_ONLY = "read-only"
DISK_ERROR = "disk-error"
CANNOT_OPEN = "cannot-open"
DAMAGED = "damaged"
UNREACHABLE = "unreachable"
MESSAGES = {
    FULL: "The data folder is full: free some space; the studio resumes by itself.",
    READ_ONLY: (
        "The data folder is read-only: the history can be shown, but nothing new can be saved"
        " until the folder is writable again."
    ),
    DISK_ERROR: (
        "The data folder could not be read or written (a disk error): check the disk;"
        " the studio tries again by itself."
    ),
    CANNOT_OPEN: (
        "The history database cannot be opened: check that the data folder exists and that"
        " the studio may use it."
    ),
    DAMAGED: (
        "The history database is damaged: restart the studio to set it aside and start a new one."
    ),
    UNREACHABLE: (
        "The history database server cannot be reached: check that it is running;"
        " the studio tries again by itself."
    ),
}
# SQLite's primary result codes (the low byte of an extended code) of each kind
_SQLITE_KINDS = {13: FULL, 8: READ_ONLY, 3: READ_ONLY, 10: DISK_ERROR, 14: CANNOT_OPEN}
_SQLITE_KINDS |= {11: DAMAGED, 26: DAMAGED}
_OS_KINDS = {errno.ENOSPC: FULL, errno.EDQUOT: FULL, errno.EROFS: READ_ONLY}
_OS_KINDS |= {errno.EACCES: READ_ONLY, errno.EPERM: READ_ONLY, errno.EIO: DISK_ERROR}


class StoreUnavailable(Exception):
    """The data folder cannot be used right now; ``str()`` is a plain message for a banner."""

    def __init__(self, reason: str) -> None:
        self.reason = reason  # one of FULL, READ_ONLY, DISK_ERROR, CANNOT_OPEN, DAMAGED
        super().__init__(MESSAGES.get(reason, reason))

    @property
    def message(self) -> str:
        """The plain message (names no server path)."""
        return str(self)


# PostgreSQL's SQLSTATE codes (psycopg's ``sqlstate``) of each kind; class 08: the connection
_PG_KINDS = {"53100": FULL, "53300": UNREACHABLE, "25006": READ_ONLY, "57P01": UNREACHABLE}
_PG_KINDS |= {"57P03": UNREACHABLE, "3D000": CANNOT_OPEN}


def _postgres_kind(exc: BaseException) -> str | None:
    """The kind of a psycopg error (no import of psycopg: a SQLite studio never loads it)."""
    if not type(exc).__module__.startswith("psycopg"):
        return None
    state = getattr(exc, "sqlstate", None) or ""
    if state in _PG_KINDS:
        return _PG_KINDS[state]
    if state.startswith("08") or (not state and type(exc).__name__ == "OperationalError"):
        return UNREACHABLE
    return None


def unavailable(exc: BaseException) -> StoreUnavailable | None:
    """The StoreUnavailable a database or file error stands for, or None for any other error.

    SQLAlchemy's wrapped errors are read through the driver's error they carry.
    """
    exc = getattr(exc, "orig", None) or exc
    kind = _postgres_kind(exc)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        kind = _SQLITE_KINDS.get(code & 0xFF) if isinstance(code, int) else None
    elif isinstance(exc, OSError):
        kind = _OS_KINDS.get(exc.errno or 0)
    return StoreUnavailable(kind) if kind else None


@contextmanager
def plain_errors() -> Iterator[None]:
    """Turn disk-full, read-only, I/O and damage errors inside the block into StoreUnavailable.

    (And a database server that cannot be reached or is out of space.)
    """
    try:
        yield
    except PoolTimeout as exc:  # every pooled connection busy for too long
        raise StoreUnavailable(UNREACHABLE) from exc
    except (sqlite3.Error, OSError, DBAPIError) as exc:
        mapped = unavailable(exc)
        if mapped is None:
            raise
        raise mapped from exc


def connect(path: Path, *, immutable: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode; ``immutable`` reads a file nobody can write.

    Not bound to the thread that opens it: the store keeps one per thread and may close it
    from another (at shutdown, or when its thread has ended).
    """
    if immutable:
        uri = f"file:{quote(str(path.resolve()))}?immutable=1"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


# ---------------------------------------------------------------------- private files


def private_folder(folder: Path) -> None:
    """Create the folder 0700 (with its parents); an existing one of ours loses group/other."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    _restrict(folder)


def private_database(path: Path) -> None:
    """Create the database file 0600 if missing (SQLite gives its -wal/-shm the same mode)."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        if file.is_file():
            _restrict(file)


def _restrict(path: Path) -> None:
    """Take group and other permissions off a file or folder this process owns.

    Only taken away, never given: an owner's own read-only folder stays read-only.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid == os.geteuid() and info.st_mode & 0o077:
        path.chmod(stat.S_IMODE(info.st_mode) & 0o700)


# ---------------------------------------------------------------------- damage


def is_damaged(path: Path) -> bool:
    """True when the file is not an SQLite database or fails its quick check."""
    if not path.is_file():
        return False
    try:
        conn = connect(path)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        found = unavailable(exc)
        return found is not None and found.reason == DAMAGED
    return [tuple(row) for row in rows] != [("ok",)]


def set_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal) to ``<name>.corrupt-<time><suffix>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.corrupt-{stamp}{path.suffix}")
    count = 1
    while target.exists():
        count += 1
        target = path.with_name(f"{path.stem}.corrupt-{stamp}-{count}{path.suffix}")
    os.replace(path, target)
    with suppress(FileNotFoundError):
        os.replace(path.with_name(path.name + "-wal"), target.with_name(target.name + "-wal"))
    with suppress(FileNotFoundError):
        path.with_name(path.name + "-shm").unlink()  # an index of the wal, rebuilt by SQLite
    log.error("the history database was damaged; it was set aside as %s", target.name)
    return target
