"""The store's task table: columns, indexes, prompt search, and records to and from rows.

The SQL fragments the store's queries share live here too, because a partial index is only used
by a query that repeats its ``WHERE`` expression word for word.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import text

from mjstudio.tasks.record import (
    FINAL_STATES,
    UNSENT_STATES,
    RecordState,
    TaskRecord,
    sql_list,
)

SCHEMA_VERSION = 5  # PRAGMA user_version of an SQLite file; Alembic's revision says the rest

JSON_COLUMNS = {
    "request": dict,
    "result_urls": list,
    "files": list,
    "thumbs": list,
    "cell": dict,
    "favourite_images": list,
}
NULLABLE_JSON = frozenset({"cell"})  # NULL, not an empty object, when the field is None
BOOL_COLUMNS = ("downloaded", "download_gave_up", "favourite", "shared")
COLUMN_TYPES = {
    "id": "TEXT NOT NULL UNIQUE",
    "workspace": "TEXT NOT NULL",
    "mode": "TEXT NOT NULL",
    "request": "TEXT NOT NULL DEFAULT '{}'",
    "prompt": "TEXT NOT NULL DEFAULT ''",
    "task_id": "TEXT",
    "state": f"TEXT NOT NULL DEFAULT '{RecordState.CREATING.value}'",
    "fail_code": "TEXT",
    "fail_msg": "TEXT",
    "error": "TEXT",
    "parent_id": "TEXT",
    "parent_index": "INTEGER",
    "result_urls": "TEXT NOT NULL DEFAULT '[]'",
    "files": "TEXT NOT NULL DEFAULT '[]'",
    "thumbs": "TEXT NOT NULL DEFAULT '[]'",
    "created_at": "REAL NOT NULL",
    "updated_at": "REAL NOT NULL",
    "submitted_at": "REAL",
    "finished_at": "REAL",
    "next_poll_at": "REAL",
    "polls": "INTEGER NOT NULL DEFAULT 0",
    "downloaded": "INTEGER NOT NULL DEFAULT 0",
    "expected_s": "REAL",
    "submission": "TEXT",
    "download_error": "TEXT",
    "download_attempts": "INTEGER NOT NULL DEFAULT 0",
    "download_gave_up": "INTEGER NOT NULL DEFAULT 0",
    "cost_s": "REAL",
    "batch_id": "TEXT",
    "batch_label": "TEXT",
    "cell": "TEXT",
    "favourite": "INTEGER NOT NULL DEFAULT 0",
    "favourite_images": "TEXT NOT NULL DEFAULT '[]'",
}
# release 5 (Alembic revision 0005): who made a task, whether the team sees it, and the lease of
# the server working on it (several servers share one history)
TEAM_COLUMNS = {
    "owner": "TEXT NOT NULL DEFAULT ''",
    "shared": "INTEGER NOT NULL DEFAULT 0",
    "lease_owner": "TEXT",
    "lease_until": "REAL",
}
FIELD_NAMES = tuple(f.name for f in fields(TaskRecord))

# ---------------------------------------------------------------------- shared SQL fragments

UNFINISHED_SQL = f"state NOT IN {sql_list(FINAL_STATES)}"
ACTIVE_SQL = f"{UNFINISHED_SQL} AND (task_id IS NOT NULL OR state IN {sql_list(UNSENT_STATES)})"
UNDOWNLOADED_SQL = (
    f"state = '{RecordState.SUCCESS.value}' AND downloaded = 0 AND download_gave_up = 0"
)
# what the tracker follows: sent and unfinished, or succeeded and still to download
FOLLOWED_SQL = f"(task_id IS NOT NULL AND {UNFINISHED_SQL}) OR ({UNDOWNLOADED_SQL})"
POLL_AT_SQL = "coalesce(next_poll_at, 0)"
COSTED_SQL = f"state = '{RecordState.SUCCESS.value}' AND cost_s IS NOT NULL"
UPLOADS_SQL = "request LIKE '%/api/uploads/%' OR request LIKE '%\"upload:%'"
# starred: the task or one of its images (an empty list is always stored as '[]')
STARRED_SQL = "(favourite = 1 OR favourite_images <> '[]')"
SHARED_SQL = "shared = 1"

_INDEX = "CREATE INDEX IF NOT EXISTS"
INDEXES = {  # name -> its statement
    "tasks_ws_created": f"{_INDEX} tasks_ws_created ON tasks (workspace, created_at)",
    "tasks_ws_task": f"{_INDEX} tasks_ws_task ON tasks (workspace, task_id)",
    "tasks_parent": f"{_INDEX} tasks_parent ON tasks (parent_id, created_at)",
    # the running set (name kept from release 2, whose schema check looks for it by name)
    "tasks_state": f"{_INDEX} tasks_state ON tasks (workspace, created_at) WHERE {UNFINISHED_SQL}",
    # one form submission makes one task: a second insert of it fails, whoever races
    "tasks_ws_submission": "CREATE UNIQUE INDEX IF NOT EXISTS tasks_ws_submission"
    " ON tasks (workspace, submission) WHERE submission IS NOT NULL",
    "tasks_due": f"{_INDEX} tasks_due ON tasks ({POLL_AT_SQL}) WHERE {FOLLOWED_SQL}",
    "tasks_costs": f"{_INDEX} tasks_costs ON tasks (finished_at) WHERE {COSTED_SQL}",
    "tasks_uploads": f"{_INDEX} tasks_uploads ON tasks (workspace) WHERE {UPLOADS_SQL}",
    # release 4: a batch's tasks, and History filtered by favourites
    "tasks_batch": f"{_INDEX} tasks_batch ON tasks (workspace, batch_id, created_at)"
    " WHERE batch_id IS NOT NULL",
    "tasks_starred": f"{_INDEX} tasks_starred ON tasks (workspace, created_at) WHERE {STARRED_SQL}",
}
TEAM_INDEXES = {  # release 5: a designer's own history, the Team view, a server's leases
    # owner first: a query of the whole workspace keeps its own index (never this one)
    "tasks_owner": f"{_INDEX} tasks_owner ON tasks (owner, workspace, created_at)",
    "tasks_shared": f"{_INDEX} tasks_shared ON tasks (workspace, created_at) WHERE {SHARED_SQL}",
    "tasks_leased": f"{_INDEX} tasks_leased ON tasks (lease_owner) WHERE lease_owner IS NOT NULL",
}
RATE_TABLE = (  # the provider's request budget, shared by every server of one database
    "CREATE TABLE IF NOT EXISTS rate_buckets"
    " (name TEXT PRIMARY KEY, tokens REAL NOT NULL, stamp REAL NOT NULL)"
)
PG_TRGM_INDEX = (
    "CREATE INDEX IF NOT EXISTS tasks_prompt_trgm ON tasks USING gin (prompt gin_trgm_ops)"
)


def postgres_ddl(statement: str) -> str:
    """An SQLite statement of the schema as PostgreSQL reads it (8-byte floats, a serial key)."""
    statement = statement.replace("seq INTEGER PRIMARY KEY", "seq BIGSERIAL PRIMARY KEY")
    statement = statement.replace(" REAL", " DOUBLE PRECISION")
    return statement.replace(f"({POLL_AT_SQL})", f"(({POLL_AT_SQL}))")  # an expression key


# ---------------------------------------------------------------------- batches

_FAILED = sql_list((RecordState.FAILED, RecordState.REJECTED))
_SUCCEEDED = f"state = '{RecordState.SUCCESS.value}'"


def _tally(condition: str) -> str:
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def batches_sql(owner: bool = False, team: bool = False) -> str:
    """A workspace's batches, latest first, through tasks_batch (one owner's; or shared ones)."""
    where = "workspace = :workspace AND batch_id IS NOT NULL"
    where += " AND owner = :owner" if owner else ""
    where += f" AND {SHARED_SQL}" if team else ""
    tallies = ", ".join(map(_tally, (_SUCCEEDED, f"state IN {_FAILED}", STARRED_SQL)))
    return (
        "SELECT batch_id, max(batch_label), count(*), min(created_at), max(created_at),"
        f" {tallies} FROM tasks WHERE {where}"
        " GROUP BY batch_id ORDER BY max(created_at) DESC, batch_id LIMIT :limit"
    )


BATCHES_SQL = batches_sql()


@dataclass(frozen=True)
class BatchSummary:
    """One batch of a workspace: its title, how many tasks, how they stand, when."""

    batch_id: str
    label: str
    count: int
    first_at: float  # when its first task was stored
    last_at: float
    succeeded: int
    failed: int  # failed or refused by the provider
    starred: int  # tasks starred, or with a starred image

    @property
    def unfinished(self) -> int:
        """Tasks still on their way (queued, sent, running, or of unknown outcome)."""
        return self.count - self.succeeded - self.failed

    @classmethod
    def of_row(cls, row: Any) -> BatchSummary:
        """The summary of one row of :data:`BATCHES_SQL`."""
        batch_id, label, count, first, last, succeeded, failed, starred = row
        return cls(batch_id, label or "", count, first, last, succeeded, failed, starred)


# ---------------------------------------------------------------------- prompt search

FTS_TABLE = "tasks_fts"
FTS_MIN_CHARS = 3  # the trigram tokenizer finds substrings of three characters or more
FTS_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "prompt, content='tasks', content_rowid='seq', tokenize='trigram')"
)
_FTS_DELETE = (
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, prompt) VALUES ('delete', old.seq, old.prompt);"
)
_FTS_INSERT = f"INSERT INTO {FTS_TABLE} (rowid, prompt) VALUES (new.seq, new.prompt);"
FTS_TRIGGERS = {  # kept in sync by SQLite itself, whichever release writes the rows
    "tasks_fts_insert": f"AFTER INSERT ON tasks BEGIN {_FTS_INSERT} END",
    "tasks_fts_delete": f"AFTER DELETE ON tasks BEGIN {_FTS_DELETE} END",
    "tasks_fts_update": f"AFTER UPDATE OF prompt ON tasks BEGIN {_FTS_DELETE} {_FTS_INSERT} END",
}
FTS_REBUILD = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')"


def fts_supported() -> bool:
    """True when this SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    global _FTS_SUPPORTED
    if _FTS_SUPPORTED is None:
        conn = sqlite3.connect(":memory:")
        try:
            conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
            _FTS_SUPPORTED = True
        except sqlite3.Error:
            _FTS_SUPPORTED = False
        finally:
            conn.close()
    return _FTS_SUPPORTED


_FTS_SUPPORTED: bool | None = None


def has_search(conn: Any) -> bool:
    """True when the database has its prompt search index (and, for SQLite, can read it).

    ``conn``: an SQLAlchemy connection.
    """
    if conn.dialect.name != "sqlite":
        found = conn.exec_driver_sql("SELECT to_regclass('tasks_prompt_trgm')").scalar()
        return found is not None
    name = {"name": FTS_TABLE}
    row = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = :name"), name).first()
    return row is not None and fts_supported()


# ---------------------------------------------------------------------- records and rows


def to_db(name: str, value: Any) -> Any:
    """A field's value as stored in its column."""
    if name in NULLABLE_JSON and value is None:
        return None
    if name in JSON_COLUMNS:
        return json.dumps(value if value is not None else JSON_COLUMNS[name]())
    if name in BOOL_COLUMNS:
        return int(bool(value))
    if name == "state":
        return RecordState(value).value
    return value


def from_row(row: Any) -> TaskRecord:
    """The record of a row (a column the file lacks keeps the field's default).

    ``row``: an SQLAlchemy row, or anything with ``keys()`` and its values in that order.
    """
    mapping = getattr(row, "_mapping", None)
    values = dict(mapping) if mapping is not None else dict(zip(row.keys(), row, strict=True))
    for name, kind in JSON_COLUMNS.items():
        if name in values:
            text = values[name]
            if text is None and name in NULLABLE_JSON:
                continue
            values[name] = json.loads(text) if text and text not in _EMPTY_JSON else kind()
    for name in BOOL_COLUMNS:
        if name in values:
            values[name] = bool(values[name])
    if values.keys() - _FIELD_SET:  # seq, leases, and the columns of a newer release
        values = {name: value for name, value in values.items() if name in _FIELD_SET}
    return TaskRecord(**values)  # its state made a RecordState by the record itself


def cell_key(record: TaskRecord) -> tuple[int, int, int]:
    """(row, column, copy) of a record on its batch's board; records without a cell come last."""
    cell = record.cell or {}
    try:
        return int(cell["row"]), int(cell["col"]), int(cell.get("copy", 0))
    except (KeyError, TypeError, ValueError):
        return (2**31, 2**31, 0)


_FIELD_SET = frozenset(FIELD_NAMES)
_EMPTY_JSON = ("[]", "{}")
