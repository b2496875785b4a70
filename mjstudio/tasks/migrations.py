"""Schema versions of the task store as ordered steps, run at open in one transaction.

``PRAGMA user_version`` says which step a file has reached. Each step brings a file of the
version before it to its own version and may be run again on a file that has it already (a
file stamped with a version but missing some of its objects gets them). A file from a newer
release (a higher version) is used as it is: never downgraded, never rewritten.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from contextlib import suppress

from mjstudio.tasks.schema import (
    COLUMN_TYPES,
    FTS_CREATE,
    FTS_REBUILD,
    FTS_TABLE,
    FTS_TRIGGERS,
    INDEXES,
    SCHEMA_VERSION,
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


STEPS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = (
    (2, to_2),
    (3, to_3),
    (4, to_4),
)


def is_current(conn: sqlite3.Connection) -> bool:
    """True when there is nothing to write: the file has this version's objects, or is newer."""
    version = user_version(conn)
    if version > SCHEMA_VERSION:
        return True
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    wanted = set(INDEXES) | ({FTS_TABLE, *FTS_TRIGGERS} if fts_supported() else set())
    return version == SCHEMA_VERSION and wanted <= names and set(COLUMN_TYPES) <= _columns(conn)


def migrate(conn: sqlite3.Connection) -> bool:
    """Bring the file up to :data:`SCHEMA_VERSION` in one transaction; False if nothing to do."""
    if is_current(conn):
        return False
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        ran = _run_steps(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite ends it itself on a full disk
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return ran


def _run_steps(conn: sqlite3.Connection) -> bool:
    """Run the steps the file still needs (checked again under the write lock)."""
    # another process may have just done them; a file stamped current but incomplete runs all
    if is_current(conn):
        return False
    version = user_version(conn)
    start = version if version < SCHEMA_VERSION else 0
    for number, step in STEPS:
        if number > start:
            step(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    if version:
        log.info("the history database was upgraded from version %d to %d", version, SCHEMA_VERSION)
    return True
