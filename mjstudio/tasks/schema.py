"""The task table of the store: its columns and indexes, and records to and from rows."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from typing import Any

from mjstudio.tasks.record import RecordState, TaskRecord

SCHEMA_VERSION = 3

JSON_COLUMNS = {"request": dict, "result_urls": list, "files": list, "thumbs": list}
BOOL_COLUMNS = ("downloaded", "download_gave_up")
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
}
_INDEX = "CREATE INDEX IF NOT EXISTS"
INDEXES = {  # name -> its statement
    "tasks_ws_created": f"{_INDEX} tasks_ws_created ON tasks (workspace, created_at)",
    "tasks_ws_task": f"{_INDEX} tasks_ws_task ON tasks (workspace, task_id)",
    "tasks_parent": f"{_INDEX} tasks_parent ON tasks (parent_id)",
    "tasks_state": f"{_INDEX} tasks_state ON tasks (state)",
    # one form submission makes one task: a second insert of it fails, whoever races
    "tasks_ws_submission": "CREATE UNIQUE INDEX IF NOT EXISTS tasks_ws_submission"
    " ON tasks (workspace, submission) WHERE submission IS NOT NULL",
}
FIELD_NAMES = tuple(f.name for f in fields(TaskRecord))


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the table and indexes, adding the columns an older file lacks (in a transaction)."""
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMN_TYPES.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS tasks (seq INTEGER PRIMARY KEY, {columns})")
    have = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    for name, kind in COLUMN_TYPES.items():
        if name not in have:  # a file from an older version: add what it lacks
            conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {_added(kind)}")
    for statement in INDEXES.values():
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def is_current(conn: sqlite3.Connection) -> bool:
    """True when the file already has this version's table and indexes (nothing to write)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(tasks)")}
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return version >= SCHEMA_VERSION and set(COLUMN_TYPES) <= have and set(INDEXES) <= indexes


def _added(kind: str) -> str:
    """A column definition usable in ALTER TABLE (no UNIQUE; NOT NULL only with a default)."""
    kind = kind.replace(" UNIQUE", "")
    return kind if "DEFAULT" in kind or "NOT NULL" not in kind else kind + " DEFAULT 0"


def to_db(name: str, value: Any) -> Any:
    """A field's value as stored in its column."""
    if name in JSON_COLUMNS:
        return json.dumps(value if value is not None else JSON_COLUMNS[name]())
    if name in BOOL_COLUMNS:
        return int(bool(value))
    if name == "state":
        return RecordState(value).value
    return value


def from_row(row: sqlite3.Row) -> TaskRecord:
    """The record of a row (a column the file lacks keeps the field's default)."""
    values: dict[str, Any] = {}
    present = set(row.keys())
    for name in FIELD_NAMES:
        if name not in present:
            continue
        value = row[name]
        if name in JSON_COLUMNS:
            value = json.loads(value) if value else JSON_COLUMNS[name]()
        elif name in BOOL_COLUMNS:
            value = bool(value)
        elif name == "state":
            value = RecordState(value)
        values[name] = value
    return TaskRecord(**values)
