"""The SQLite store of tasks and their results, one workspace per provider URL and API key.

Every operation opens its own short-lived connection (WAL mode, busy timeout), so the store can
be shared by Streamlit script threads and the background tracker thread without locking here.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from mjstudio.tasks.record import (
    FINAL_STATES,
    UNSENT_STATES,
    RecordState,
    TaskRecord,
    sql_list,
)

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 15_000
SCHEMA_VERSION = 1

_JSON_COLUMNS = {"request": dict, "result_urls": list, "files": list, "thumbs": list}
_COLUMN_TYPES = {
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
}
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS tasks_ws_created ON tasks (workspace, created_at)",
    "CREATE INDEX IF NOT EXISTS tasks_ws_task ON tasks (workspace, task_id)",
    "CREATE INDEX IF NOT EXISTS tasks_parent ON tasks (parent_id)",
    "CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state)",
)
_UNDOWNLOADED_SQL = (
    f"state = '{RecordState.SUCCESS.value}' AND downloaded = 0 AND download_gave_up = 0"
)
_BOOL_COLUMNS = ("downloaded", "download_gave_up")
_ACTIVE_SQL = (
    f"state NOT IN {sql_list(FINAL_STATES)}"
    f" AND (task_id IS NOT NULL OR state IN {sql_list(UNSENT_STATES)})"
)


Records = list[TaskRecord]
Names = list[str]
_FIELD_NAMES = tuple(f.name for f in fields(TaskRecord))


def _to_db(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        return json.dumps(value if value is not None else _JSON_COLUMNS[name]())
    if name in _BOOL_COLUMNS:
        return int(bool(value))
    if name == "state":
        return RecordState(value).value
    return value


def _from_row(row: sqlite3.Row) -> TaskRecord:
    values: dict[str, Any] = {}
    for name in _FIELD_NAMES:
        value = row[name]
        if name in _JSON_COLUMNS:
            value = json.loads(value) if value else _JSON_COLUMNS[name]()
        elif name in _BOOL_COLUMNS:
            value = bool(value)
        elif name == "state":
            value = RecordState(value)
        values[name] = value
    return TaskRecord(**values)


def _filters(
    workspace: str,
    query: str | None,
    modes: Iterable[str] | None,
    states: Iterable[str] | None,
    since: float | None,
    until: float | None,
) -> tuple[str, list[Any]]:
    clauses, args = ["workspace = ?"], [workspace]
    if query and query.strip():
        clauses.append("instr(casefold(prompt), ?) > 0")
        args.append(query.strip().casefold())
    for column, allowed in (("mode", modes), ("state", states)):
        chosen = list(allowed or [])
        if chosen:
            clauses.append(f"{column} IN ({', '.join('?' * len(chosen))})")
            args.extend(chosen)
    if since is not None:
        clauses.append("created_at >= ?")
        args.append(since)
    if until is not None:
        clauses.append("created_at < ?")
        args.append(until)
    return " AND ".join(clauses), args


def _casefold(text: Any) -> str:
    return str(text).casefold() if text is not None else ""


class TaskStore:
    """Tasks and results of every workspace, in ``<data_dir>/history.sqlite3``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.data_dir = self.path.parent
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    @classmethod
    def open(cls, data_dir: Path | str) -> TaskStore:
        """The store in a data folder."""
        return cls(Path(data_dir) / DB_NAME)

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.create_function("casefold", 1, _casefold, deterministic=True)
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _create_schema(self) -> None:
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
        with self._write() as conn:
            columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMN_TYPES.items())
            conn.execute(f"CREATE TABLE IF NOT EXISTS tasks (seq INTEGER PRIMARY KEY, {columns})")
            have = {row["name"] for row in conn.execute("PRAGMA table_info(tasks)")}
            for name, kind in _COLUMN_TYPES.items():
                if name not in have:  # a file from an older version: add what it lacks
                    conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {_added(kind)}")
            for statement in _INDEXES:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _select(self, where: str, args: Iterable[Any], tail: str = "") -> Records:
        sql = f"SELECT * FROM tasks WHERE {where} {tail}"
        with self._connect() as conn:
            return [_from_row(row) for row in conn.execute(sql, list(args))]

    # ------------------------------------------------------------------ writes

    def add(self, record: TaskRecord) -> TaskRecord:
        """Insert a new record (its updated_at set to now) and return it."""
        record.updated_at = record.updated_at or time.time()
        names = list(_FIELD_NAMES)
        sql = f"INSERT INTO tasks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        values = asdict(record)
        with self._write() as conn:
            conn.execute(sql, [_to_db(n, values[n]) for n in names])
        return record

    def update(self, id: str, /, **changes: Any) -> TaskRecord:
        """Set some fields of a record (and updated_at); KeyError when there is no such record."""
        unknown = (set(changes) - set(_FIELD_NAMES)) | ({"id"} & set(changes))
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        changes.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{name} = ?" for name in changes)
        args = [_to_db(n, v) for n, v in changes.items()] + [id]
        with self._write() as conn:
            conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", args)
            row = conn.execute("SELECT * FROM tasks WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise KeyError(id)
        return _from_row(row)

    def delete(self, id: str) -> bool:
        """Remove a record and its result files; children keep their (now dangling) parent_id."""
        record = self.get(id)
        if record is None:
            return False
        with self._write() as conn:
            conn.execute("DELETE FROM tasks WHERE id = ?", (id,))
        for rel in [*record.files, *record.thumbs]:
            self._unlink(rel)
        shutil.rmtree(self.results_dir(record), ignore_errors=True)
        return True

    def _unlink(self, rel: str) -> None:
        with suppress(ValueError, OSError):  # outside the data dir: not ours to remove
            self.abspath(rel).unlink(missing_ok=True)

    # ------------------------------------------------------------------ reads

    def get(self, id: str) -> TaskRecord | None:
        """The record with this local id, or None."""
        found = self._select("id = ?", [id])
        return found[0] if found else None

    def find_task(self, workspace: str, task_id: str) -> TaskRecord | None:
        """The record of a provider task id in a workspace, or None."""
        found = self._select("workspace = ? AND task_id = ?", [workspace, task_id], "LIMIT 1")
        return found[0] if found else None

    def list(
        self,
        workspace: str,
        *,
        query: str | None = None,
        modes: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = 20,
        offset: int = 0,
    ) -> Records:
        """A workspace's records, newest first; since <= created_at < until; empty filter = all."""
        where, args = _filters(workspace, query, modes, states, since, until)
        tail = "ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?"
        return self._select(where, [*args, -1 if limit is None else limit, offset], tail)

    def count(
        self,
        workspace: str,
        *,
        query: str | None = None,
        modes: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """How many records :meth:`list` would find without a limit."""
        where, args = _filters(workspace, query, modes, states, since, until)
        with self._connect() as conn:
            return int(
                conn.execute(f"SELECT COUNT(*) FROM tasks WHERE {where}", args).fetchone()[0]
            )

    def active(self, workspace: str | None = None) -> Records:
        """Tasks the tracker must follow (oldest first), in one workspace or all."""
        where, args = _ACTIVE_SQL, []
        if workspace is not None:
            where, args = f"workspace = ? AND {where}", [workspace]
        return self._select(where, args, "ORDER BY created_at, seq")

    def due(self, now: float | None = None) -> Records:
        """Sent active tasks whose next poll is due, and successes not yet downloaded."""
        now = time.time() if now is None else now
        where = (
            "(next_poll_at IS NULL OR next_poll_at <= ?) AND ("
            f"(task_id IS NOT NULL AND {_ACTIVE_SQL}) OR ({_UNDOWNLOADED_SQL}))"
        )
        return self._select(where, [now], "ORDER BY coalesce(next_poll_at, 0), seq")

    def children(self, id: str) -> Records:
        """Records made from this one (vary, upscale), oldest first."""
        return self._select("parent_id = ?", [id], "ORDER BY created_at, seq")

    def workspaces(self) -> Names:
        """Every workspace that has records."""
        with self._connect() as conn:
            rows = conn.execute("SELECT DISTINCT workspace FROM tasks ORDER BY workspace")
            return [row[0] for row in rows]

    # ------------------------------------------------------------------ files

    def results_dir(self, record: TaskRecord) -> Path:
        """Where a record's result images live: ``<data_dir>/results/<workspace>/<id>``."""
        return self.data_dir / "results" / record.workspace / record.id

    def abspath(self, rel: str) -> Path:
        """A path relative to the data dir made absolute; ValueError if it points outside."""
        root = self.data_dir.resolve()
        path = (root / rel).resolve()
        if path != root and root not in path.parents:
            raise ValueError(f"{rel!r} is outside the data directory")
        return path

    def relpath(self, path: Path | str) -> str:
        """A path under the data dir as stored in ``files``/``thumbs`` (forward slashes)."""
        return Path(path).resolve().relative_to(self.data_dir.resolve()).as_posix()

    # ------------------------------------------------------------------ uploads

    def upload_tokens(self) -> set[str]:
        """Every upload token linked (``<base>/api/uploads/<token>.<ext>``) in a task request."""
        import re  # local: the only regex in the store

        link = re.compile(r"/api/uploads/([A-Za-z0-9_-]+)")
        sql = "SELECT request FROM tasks WHERE request LIKE '%/api/uploads/%'"
        with self._connect() as conn:
            texts = [row[0] or "" for row in conn.execute(sql)]
        return {match.group(1) for text in texts for match in link.finditer(text)}


def _added(kind: str) -> str:
    """A column definition usable in ALTER TABLE (no UNIQUE; NOT NULL only with a default)."""
    kind = kind.replace(" UNIQUE", "")
    return kind if "DEFAULT" in kind or "NOT NULL" not in kind else kind + " DEFAULT 0"
