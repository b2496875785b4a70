"""Schema versions of the task store, run at open: Alembic revisions over both engines.

``mjstudio/tasks/revisions`` holds the Alembic revisions. The first (``0004``) brings a database
to release 4: on SQLite by the earlier schema steps below, run from the version stamped in the
file (``PRAGMA user_version``), so a data folder of any earlier release upgrades in place; on
PostgreSQL by creating the same table. Each later revision adds what its release needs.

An upgrade runs in one transaction (SQLite's write lock, or PostgreSQL's advisory lock, held
throughout), so servers starting together upgrade once and a failure leaves the database as it
was. Checking costs two small reads: Alembic itself is imported only when there is work to do. A
database of a newer release (a revision this one does not know, or a higher user_version) is used
as it is: never downgraded, never rewritten.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from mjstudio.tasks.schema import (
    COLUMN_TYPES,
    FTS_CREATE,
    FTS_REBUILD,
    FTS_TABLE,
    FTS_TRIGGERS,
    INDEXES,
    RATE_TABLE,
    SCHEMA_VERSION,
    TEAM_COLUMNS,
    TEAM_INDEXES,
    fts_supported,
)

log = logging.getLogger("mjstudio.tasks.migrations")

# release 2's indexes, as it made them (release 3 redefines tasks_parent and tasks_state)
_V2_INDEXES = (
    "CREATE INDEX IF NOT EXISTS tasks_ws_created ON tasks (workspace, created_at)",
    "CREATE INDEX IF NOT EXISTS tasks_ws_task ON tasks (workspace, task_id)",
    "CREATE INDEX IF NOT EXISTS tasks_parent ON tasks (parent_id)",
    "CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state)",
    "CREATE UNIQUE INDEX IF NOT EXISTS tasks_ws_submission"
    " ON tasks (workspace, submission) WHERE submission IS NOT NULL",
)
_V3_COLUMNS = ("cost_s",)
_V4_COLUMNS = ("batch_id", "batch_label", "cell", "favourite", "favourite_images")
_V4_INDEXES = ("tasks_batch", "tasks_starred")
_REDEFINED = ("tasks_parent", "tasks_state")


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version stamped in the file (0: a new or unversioned file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}


def _table(conn: sqlite3.Connection, columns: dict[str, str]) -> None:
    """Create the table, or add the columns an older file lacks."""
    spec = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS tasks (seq INTEGER PRIMARY KEY, {spec})")
    have = _columns(conn)
    for name, kind in columns.items():
        if name not in have:
            conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {_added(kind)}")


def _columns_without(*names: str) -> dict[str, str]:
    """The columns of this release but those named (added by a later step)."""
    return {name: kind for name, kind in COLUMN_TYPES.items() if name not in names}


def _added(kind: str) -> str:
    """A column definition usable in ALTER TABLE (no UNIQUE; NOT NULL only with a default)."""
    kind = kind.replace(" UNIQUE", "")
    return kind if "DEFAULT" in kind or "NOT NULL" not in kind else kind + " DEFAULT 0"


def to_2(conn: sqlite3.Connection) -> None:
    """Release 2: the task table with all its columns (added where missing) and its indexes."""
    _table(conn, _columns_without(*_V3_COLUMNS, *_V4_COLUMNS))
    for statement in _V2_INDEXES:
        conn.execute(statement)


def to_3(conn: sqlite3.Connection) -> None:
    """Release 3: cost_s, an index for every query the studio runs, full-text prompt search."""
    _table(conn, _columns_without(*_V4_COLUMNS))
    for name in _REDEFINED:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    for name, statement in INDEXES.items():
        if name not in _V4_INDEXES:
            conn.execute(statement)
    if not fts_supported():
        log.warning("this SQLite has no FTS5 trigram tokenizer: prompt search scans the table")
        return
    conn.execute(FTS_CREATE)
    for name, body in FTS_TRIGGERS.items():
        conn.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
    conn.execute(FTS_REBUILD)  # filled from the rows already stored


def to_4(conn: sqlite3.Connection) -> None:
    """Release 4: batches (matrices, sweeps) and favourites, with their indexes."""
    _table(conn, COLUMN_TYPES)
    for name in _V4_INDEXES:
        conn.execute(INDEXES[name])


def to_5(conn: sqlite3.Connection) -> None:
    """Release 5 on SQLite (revision 0005's work): owner, sharing, leases, the rate budget."""
    have = _columns(conn)
    for name, kind in TEAM_COLUMNS.items():
        if name not in have:
            conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {kind}")
    for statement in (*TEAM_INDEXES.values(), RATE_TABLE):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


STEPS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = (
    (2, to_2),
    (3, to_3),
    (4, to_4),
)
LEGACY_VERSION = 4  # the last version made by the steps above
REVISIONS = Path(__file__).resolve().parent / "revisions"
KNOWN = ("0004", "0005")  # this release's Alembic revisions, oldest first
HEAD = KNOWN[-1]
_LOCK_KEY = 0x6D6A7374  # PostgreSQL advisory lock of an upgrade ("mjst")
_ALEMBIC = threading.Lock()  # stores opened at once on threads of one process
# Alembic's own version table, as it creates it on SQLite (tests/tasks/test_migrations.py
# compares a new file made here with one made by Alembic)
ALEMBIC_TABLE = (
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, "
    "\n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)"
)


def _legacy_current(conn: sqlite3.Connection) -> bool:
    """True when the file has release 4's objects (the steps have nothing to do)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    wanted = set(INDEXES) | ({FTS_TABLE, *FTS_TRIGGERS} if fts_supported() else set())
    return wanted <= names and set(COLUMN_TYPES) <= _columns(conn)


def run_legacy_steps(conn: sqlite3.Connection) -> None:
    """Bring an SQLite file to release 4 by the steps it still needs (revision 0004's work)."""
    version = user_version(conn)
    if version >= LEGACY_VERSION and _legacy_current(conn):
        return
    start = version if version < LEGACY_VERSION else 0  # stamped but incomplete: every step
    for number, step in STEPS:
        if number > start:
            step(conn)
    conn.execute(f"PRAGMA user_version = {max(version, LEGACY_VERSION)}")
    if version:
        log.info("the history database was upgraded from version %d", version)


def _revision(conn: Any) -> str | None:
    """The Alembic revision stamped in the database (None: none yet)."""
    if conn.dialect.name == "sqlite":
        probe = "SELECT name FROM sqlite_master WHERE name = 'alembic_version'"
    else:
        probe = "SELECT to_regclass('alembic_version')"
    if conn.exec_driver_sql(probe).scalar() is None:
        return None
    return conn.exec_driver_sql("SELECT max(version_num) FROM alembic_version").scalar()


def is_current(conn: Any) -> bool:
    """True when there is nothing to write: this release's schema is there, or a newer one."""
    revision = _revision(conn)
    if revision is not None and revision not in KNOWN:
        return True  # a newer release's revision
    if conn.dialect.name != "sqlite":
        return revision == HEAD
    raw = conn.connection.driver_connection
    if user_version(raw) > SCHEMA_VERSION:
        return True
    if revision != HEAD or user_version(raw) != SCHEMA_VERSION or not _legacy_current(raw):
        return False
    names = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    return set(TEAM_INDEXES) <= names and set(TEAM_COLUMNS) <= _columns(raw)


def migrate(conn: Any) -> bool:
    """Bring the database up to this release in one transaction; False if nothing to do.

    ``conn``: an SQLAlchemy connection (SQLite in driver autocommit, or PostgreSQL).
    """
    if is_current(conn):
        conn.commit()
        return False
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
    try:
        ran = _upgrade(conn)
        conn.commit()
    except BaseException:
        with suppress(Exception):  # SQLite ends the transaction itself on a full disk
            conn.rollback()
        raise
    return ran


def _upgrade(conn: Any) -> bool:
    """Run the revisions the database still needs (checked again under the lock)."""
    if is_current(conn):  # another server or process has just done it
        return False
    if _revision(conn) == HEAD:  # stamped current but incomplete: run every revision again
        conn.exec_driver_sql("DELETE FROM alembic_version")
    if conn.dialect.name == "sqlite" and _is_new(conn.connection.driver_connection):
        _create_new(conn.connection.driver_connection)
        return True
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(REVISIONS))
    config.attributes["connection"] = conn
    with _ALEMBIC:  # Alembic keeps its running context in module globals: one at a time
        command.upgrade(config, "head")
    return True


def _is_new(conn: sqlite3.Connection) -> bool:
    """True for an SQLite file with nothing in it yet (a new data folder)."""
    empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    return empty and user_version(conn) == 0


def _create_new(conn: sqlite3.Connection) -> None:
    """Make a new file's schema as the revisions would (their own steps) and stamp it at HEAD,
    without importing Alembic (a fifth of a second of a new folder's first start)."""
    run_legacy_steps(conn)
    to_5(conn)
    conn.execute(ALEMBIC_TABLE)
    conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD,))
