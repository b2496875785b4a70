"""The store's database: opening it, kept connections, the schema, plain errors.

:class:`Database` is what :class:`~mjstudio.tasks.store.TaskStore` stands on: one SQLAlchemy
engine over the data folder's SQLite file or, with a URL, a PostgreSQL server (``backend``).
With SQLite each thread keeps one connection (WAL, ``synchronous = NORMAL``, a busy timeout,
``casefold()`` registered once); an error of the folder (full, read-only, damaged, cannot open)
drops that thread's connection, so the next call opens a new one and the store recovers by
itself once the folder works again. With PostgreSQL the engine's pool keeps the connections
(each checked before use), shared by all threads.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as SAOperationalError
from sqlalchemy.pool import NullPool

from mjstudio.tasks.backend import DIALECTS, POSTGRESQL, SQLITE, Dialect, engine_url, sql
from mjstudio.tasks.connections import ThreadConnections
from mjstudio.tasks.migrations import migrate
from mjstudio.tasks.schema import has_search
from mjstudio.tasks.search import casefold
from mjstudio.tasks.sqlite import (
    CANNOT_OPEN,
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


# PostgreSQL connections a server keeps, and how many more it opens for a burst: a server uses
# at most 16 (PostgreSQL's default max_connections, 100, serves six servers with room to spare)
POOL_SIZE = 4
POOL_OVERFLOW = 12
POOL_WAIT_S = 10.0  # every connection busy this long: the database counts as out of reach
Args = dict[str, Any]


def _drops_connection(exc: BaseException) -> bool:
    """True for an error after which a thread's connection is not to be trusted again."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, StoreUnavailable | sqlite3.ProgrammingError):
        return True
    return isinstance(orig, sqlite3.Error | OSError) and unavailable(orig) is not None


class Database:
    """A store's database: opened, repaired and upgraded at start.

    ``path``: the SQLite file (its folder is the data folder, where results live too);
    ``url``: a PostgreSQL server instead of the file (the data folder still holds the results).
    Opening never fails because of the folder or the server: a damaged SQLite file is set aside
    and a new one started (see :attr:`recovered_from`); a full or read-only folder, or a server
    that cannot be reached, raises :class:`StoreUnavailable` from the operations that need it.
    """

    def __init__(self, path: Path | str, url: str | None = None) -> None:
        self.path = Path(path)
        self.data_dir = self.path.parent
        self.url = engine_url(url) if url else None
        self.dialect: Dialect = DIALECTS[POSTGRESQL if url else SQLITE]
        self._connections = ThreadConnections()
        self._recovered_from: Path | None = None
        self._schema_ready = False
        self._schema_error: StoreUnavailable | None = None
        self._indexed_search = False
        self._engine = self._make_engine()
        self._readonly = None  # the SQLite file read as it is, made when first needed
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            with plain_errors():
                private_folder(self.data_dir)
                if self.dialect.is_sqlite:
                    self._check_file()
            self._ensure_schema()
        except StoreUnavailable as exc:
            log.warning("the history is unavailable: %s", exc.reason)

    def _make_engine(self) -> Any:
        if self.url is None:  # each thread keeps the connection it opened: no pool between
            return _sqlite_engine(weakref.WeakMethod(self._new_connection))
        return create_engine(
            self.url,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=POOL_WAIT_S,
            pool_pre_ping=True,
        )

    def _check_file(self) -> None:
        """Make the file private; set a damaged one aside and start a new one."""
        private_database(self.path)
        if is_damaged(self.path):
            _close_all_of(self.path)  # nobody may keep the file it is set aside as
            self._recovered_from = set_aside(self.path)
            private_database(self.path)

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
        """Close every kept connection (the store opens new ones if used again)."""
        self._connections.close_all()
        if self.url is not None:
            self._engine.dispose()

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
    def _connect(self, *, immutable: bool = False) -> Iterator[Connection]:
        """A connection for one operation, its work committed at the end (rolled back on error).

        SQLite: this thread's kept connection, in autocommit (one statement commits itself) or
        an immutable one opened for the call only. PostgreSQL: one from the engine's pool.
        """
        with plain_errors():
            if immutable:
                with self._readonly_engine().connect() as conn:
                    yield conn
                return
            if self.url is not None:
                with self._engine.connect() as conn:
                    yield conn
                    conn.commit()
                return
            with self._connections.use(self._engine.connect) as conn:
                try:
                    yield conn
                    conn.commit()
                except BaseException as exc:
                    with suppress(Exception):
                        conn.rollback()
                    if _drops_connection(exc):  # the folder failed: the next call starts afresh
                        self._connections.drop()
                    raise

    def _readonly_engine(self) -> Any:
        if self._readonly is None:
            self._readonly = _sqlite_engine(weakref.WeakMethod(self._new_connection), True)
        return self._readonly

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A connection in a write transaction (the schema made first).

        SQLite takes its write lock at the start (``BEGIN IMMEDIATE``), so a read-then-write
        inside never meets another writer; PostgreSQL's rows are locked as they are read
        (``FOR UPDATE``) where that matters.
        """
        self._ensure_schema()
        with self._connect() as conn:
            if self.dialect.is_sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """The connection for one write statement (the schema made first)."""
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
        except SAOperationalError as exc:  # a server that refused the upgrade (not the folder)
            raise StoreUnavailable(CANNOT_OPEN) from exc
        except StoreUnavailable as exc:
            self._schema_error = exc
            raise
        self._schema_ready, self._schema_error = True, None

    # ------------------------------------------------------------------ reads

    def _rows(self, statement: str, args: Args | None = None) -> list[Any]:
        """Run a query; in a read-only folder, read the file as it is."""
        with suppress(StoreUnavailable):
            self._ensure_schema()  # a folder that refused it at open may take it now
        try:
            return self._query(statement, args)
        except StoreUnavailable as exc:
            if exc.reason != READ_ONLY or not self.dialect.is_sqlite:
                raise
            try:
                return self._query(statement, args, immutable=True)
            except (StoreUnavailable, DBAPIError):
                raise exc from None
        except SAOperationalError:
            if self._schema_error is None:
                raise
            raise self._schema_error from None  # no table yet: the folder refused to make it

    def _query(self, statement: str, args: Args | None, immutable: bool = False) -> list[Any]:
        with self._connect(immutable=immutable) as conn:
            return self._run(conn, statement, args).fetchall()

    def _run(self, conn: Connection, statement: str, args: Args | None = None) -> Result:
        """Run a statement with named arguments on the connection's driver cursor.

        The statement is compiled once for this engine's driver (SQLAlchemy's own compiler),
        and rows come back as light tuples: no per-call result metadata, which for a task's 38
        columns cost more than SQLite's own work (the store's hot paths run thousands a second).
        Driver errors are raised as SQLAlchemy's (IntegrityError...), as ``execute`` would.
        """
        dialect = self._engine.dialect
        driver_sql, order = _compiled(dialect, statement)
        args = args or {}
        params = tuple(args[name] for name in order) if order is not None else args
        if not conn.in_transaction():
            conn.begin()  # so that the connection's commit() commits what this writes
        cursor = conn.connection.cursor()
        try:
            cursor.execute(driver_sql, params)
            return Result(cursor)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(driver_sql, params, exc, dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()


class Result:
    """A statement's rows (read at once) and how many rows it changed."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, cursor: Any) -> None:
        described = cursor.description
        raw = cursor.fetchall() if described else []
        row = _row_type(tuple(column[0] for column in described or ()))
        self.rows: list[Any] = [row(values) for values in raw]
        self.rowcount: int = cursor.rowcount

    def fetchall(self) -> list[Any]:
        return self.rows

    def all(self) -> list[Any]:
        return self.rows

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        if len(self.rows) != 1:
            raise ValueError(f"one row expected, got {len(self.rows)}")
        return self.rows[0][0]


@lru_cache(maxsize=256)
def _row_type(names: tuple[str, ...]) -> type:
    """A tuple type whose rows also read by column name (``row._mapping``), one per shape."""

    def mapping(row: tuple) -> dict[str, Any]:
        return dict(zip(names, row, strict=True))

    return type("Row", (tuple,), {"__slots__": (), "_mapping": property(mapping)})


@lru_cache(maxsize=1024)
def _compiled(dialect: Any, statement: str) -> tuple[str, tuple[str, ...] | None]:
    """A statement in the driver's own form: its SQL, and its argument order (None: by name)."""
    compiled = sql(statement).compile(dialect=dialect)
    order = compiled.positiontup
    return compiled.string, tuple(order) if order is not None else None


def _sqlite_engine(opener: weakref.WeakMethod, immutable: bool = False) -> Any:
    """An engine over a store's own connections (held weakly: a dropped store closes them)."""

    def creator() -> sqlite3.Connection:
        new_connection = opener()
        if new_connection is None:
            raise StoreUnavailable(CANNOT_OPEN)  # the store is gone
        return new_connection(immutable=immutable)

    # nothing to reset when a connection is let go: every operation ends its own transaction,
    # and a connection closed by the garbage collector (its thread gone) runs no more code
    return create_engine(
        "sqlite://", creator=creator, poolclass=NullPool, pool_reset_on_return=None
    )


def _close_all_of(path: Path) -> None:
    """Close the connections every store of this process keeps to the database at ``path``."""
    target = path.resolve()
    with _LIVE_LOCK:
        stores = list(_LIVE)
    for store in stores:
        with suppress(OSError):
            if store.path.resolve() == target:
                store.close()
