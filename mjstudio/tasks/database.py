"""The store's database file: opening it, kept connections, the schema, plain errors.

:class:`Database` is what :class:`~mjstudio.tasks.store.TaskStore` stands on. Each thread keeps
one connection (WAL, ``synchronous = NORMAL``, a busy timeout, ``casefold()`` registered once);
an error of the folder (full, read-only, damaged, cannot open) drops that thread's connection,
so the next call opens a new one and the store recovers by itself once the folder works again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from mjstudio.tasks.connections import ThreadConnections
from mjstudio.tasks.migrations import migrate
from mjstudio.tasks.schema import has_search
from mjstudio.tasks.search import casefold
from mjstudio.tasks.sqlite import (
    READ_ONLY,
    StoreUnavailable,
    connect,
    is_damaged,
    plain_errors,
    private_database,
    private_folder,
    set_aside,
    unavailable,
)

log = logging.getLogger("mjstudio.tasks.store")

DB_NAME = "history.sqlite3"

_LIVE: weakref.WeakSet[Database] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def _drops_connection(exc: BaseException) -> bool:
    """True for an error after which a thread's connection is not to be trusted again."""
    if isinstance(exc, StoreUnavailable | sqlite3.ProgrammingError):
        return True
    return isinstance(exc, sqlite3.Error | OSError) and unavailable(exc) is not None


class Database:
    """The SQLite file of a store: opened, repaired and upgraded at start, one connection a thread.

    Opening never fails because of the folder: a damaged database is set aside and a new one
    started (see :attr:`recovered_from`); a full or read-only folder raises
    :class:`StoreUnavailable` from the operations that need what it lacks.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.data_dir = self.path.parent
        self._connections = ThreadConnections()
        self._recovered_from: Path | None = None
        self._schema_ready = False
        self._schema_error: StoreUnavailable | None = None
        self._indexed_search = False
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            with plain_errors():
                private_folder(self.data_dir)
                private_database(self.path)
                if is_damaged(self.path):
                    _close_all_of(self.path)  # nobody may keep the file it is set aside as
                    self._recovered_from = set_aside(self.path)
                    private_database(self.path)
            self._ensure_schema()
        except StoreUnavailable as exc:
            log.warning("the history is unavailable: %s", exc.reason)

    @property
    def recovered_from(self) -> Path | None:
        """Where a damaged database found at open was set aside (None if it was sound)."""
        return self._recovered_from

    def recovery_note(self) -> str | None:
        """A plain sentence about a damaged database set aside at open, or None."""
        if self._recovered_from is None:
            return None
        return (
            "The history database was damaged; it was set aside as "
            f"{self._recovered_from.name} in the data folder and a new one started."
        )

    def close(self) -> None:
        """Close every thread's connection (the store opens new ones if used again)."""
        self._connections.close_all()

    @property
    def open_connections(self) -> int:
        """How many kept connections are open (one per live thread that used the store)."""
        return self._connections.open_count()

    # ------------------------------------------------------------------ connections

    def _open(self, *, immutable: bool = False) -> sqlite3.Connection:
        """A new connection to the database (tests override this to simulate a folder)."""
        return connect(self.path, immutable=immutable)

    def _new_connection(self, immutable: bool = False) -> sqlite3.Connection:
        """A connection from :meth:`_open`, set up once: durability and ``casefold()``."""
        conn = self._open(immutable=immutable)
        try:
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.create_function("casefold", 1, casefold, deterministic=True)
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _connect(self, *, immutable: bool = False) -> Iterator[sqlite3.Connection]:
        """This thread's kept connection (an immutable one is opened for the call only)."""
        with plain_errors():
            if immutable:
                conn = self._new_connection(immutable=True)
                try:
                    yield conn
                finally:
                    conn.close()
                return
            conn = self._connections.get(self._new_connection)
            try:
                yield conn
            except BaseException as exc:
                if _drops_connection(exc):  # the folder failed: the next call starts afresh
                    self._connections.drop()
                raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection in a write transaction (the schema made first)."""
        self._ensure_schema()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite ends it itself on a full disk
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The connection for one autocommit write statement (the schema made first)."""
        self._ensure_schema()
        with self._connect() as conn:
            yield conn

    def _ensure_schema(self) -> None:
        """Create or upgrade the schema, once it succeeds (retried while the folder refuses)."""
        if self._schema_ready:
            return
        try:
            with self._connect() as conn:
                migrate(conn)
                self._indexed_search = has_search(conn)
        except StoreUnavailable as exc:
            self._schema_error = exc
            raise
        self._schema_ready, self._schema_error = True, None

    # ------------------------------------------------------------------ reads

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a query; in a read-only folder, read the file as it is."""
        with suppress(StoreUnavailable):
            self._ensure_schema()  # a folder that refused it at open may take it now
        try:
            return self._query(sql, args)
        except StoreUnavailable as exc:
            if exc.reason != READ_ONLY:
                raise
            try:
                return self._query(sql, args, immutable=True)
            except (StoreUnavailable, sqlite3.Error):
                raise exc from None
        except sqlite3.OperationalError:
            if self._schema_error is None:
                raise
            raise self._schema_error from None  # no table yet: the folder refused to make it

    def _query(self, sql: str, args: Iterable[Any], immutable: bool = False) -> list[sqlite3.Row]:
        with self._connect(immutable=immutable) as conn:
            return conn.execute(sql, list(args)).fetchall()


def _close_all_of(path: Path) -> None:
    """Close the connections every store of this process keeps to the database at ``path``."""
    target = path.resolve()
    with _LIVE_LOCK:
        stores = list(_LIVE)
    for store in stores:
        with suppress(OSError):
            if store.path.resolve() == target:
                store.close()
