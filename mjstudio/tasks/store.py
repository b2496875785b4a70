"""The SQLite store of tasks and their results, one workspace per provider URL and API key.

Every operation opens its own short-lived connection (WAL mode, busy timeout), so the store can
be shared by Streamlit script threads and the background tracker thread without locking here.
A full, read-only or damaged data folder raises :class:`StoreUnavailable` (a plain message);
reads go on where SQLite can, and nothing is cached, so the store recovers by itself.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mjstudio.tasks.record import (
    FINAL_STATES,
    UNSENT_STATES,
    RecordState,
    TaskRecord,
    sql_list,
)
from mjstudio.tasks.schema import FIELD_NAMES, create_schema, from_row, is_current, to_db
from mjstudio.tasks.sqlite import (
    READ_ONLY,
    StoreUnavailable,
    connect,
    is_damaged,
    plain_errors,
    private_database,
    private_folder,
    set_aside,
)
from mjstudio.tasks.uploads import UPLOAD_REF

__all__ = ["DB_NAME", "StoreUnavailable", "TaskStore"]

log = logging.getLogger("mjstudio.tasks.store")

DB_NAME = "history.sqlite3"
_UPLOAD_LINK = re.compile(r'(?:/api/uploads/|"' + re.escape(UPLOAD_REF) + r")([A-Za-z0-9_-]+)")
_UNDOWNLOADED_SQL = (
    f"state = '{RecordState.SUCCESS.value}' AND downloaded = 0 AND download_gave_up = 0"
)
_ACTIVE_SQL = (
    f"state NOT IN {sql_list(FINAL_STATES)}"
    f" AND (task_id IS NOT NULL OR state IN {sql_list(UNSENT_STATES)})"
)


Records = list[TaskRecord]
Names = list[str]


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
    """Tasks and results of every workspace, in ``<data_dir>/history.sqlite3``.

    Opening never fails because of the folder: a damaged database is set aside and a new one
    started (see :attr:`recovered_from`); a full or read-only folder raises
    :class:`StoreUnavailable` from the operations that need what it lacks.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.data_dir = self.path.parent
        self._recovered_from: Path | None = None
        self._schema_ready = False
        self._schema_error: StoreUnavailable | None = None
        try:
            with plain_errors():
                private_folder(self.data_dir)
                private_database(self.path)
                if is_damaged(self.path):
                    self._recovered_from = set_aside(self.path)
                    private_database(self.path)
            self._ensure_schema()
        except StoreUnavailable as exc:
            log.warning("the history is unavailable: %s", exc.reason)

    @classmethod
    def open(cls, data_dir: Path | str) -> TaskStore:
        """The store in a data folder."""
        return cls(Path(data_dir) / DB_NAME)

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

    # ------------------------------------------------------------------ plumbing

    def _open(self, *, immutable: bool = False) -> sqlite3.Connection:
        """A new connection to the database (tests override this to simulate a folder)."""
        return connect(self.path, immutable=immutable)

    @contextmanager
    def _connect(self, *, immutable: bool = False) -> Iterator[sqlite3.Connection]:
        with plain_errors():
            conn = self._open(immutable=immutable)
            try:
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.create_function("casefold", 1, _casefold, deterministic=True)
                yield conn
            finally:
                conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
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
        self._ensure_schema()
        with self._transaction() as conn:
            yield conn

    def _ensure_schema(self) -> None:
        """Create or upgrade the table, once it succeeds (retried while the folder refuses)."""
        if self._schema_ready:
            return
        try:
            with self._connect() as conn:
                current = is_current(conn)
                if not current:
                    conn.execute("PRAGMA journal_mode = WAL")
            if not current:
                with self._transaction() as conn:
                    create_schema(conn)
        except StoreUnavailable as exc:
            self._schema_error = exc
            raise
        self._schema_ready, self._schema_error = True, None

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

    def _select(self, where: str, args: Iterable[Any], tail: str = "") -> Records:
        rows = self._rows(f"SELECT * FROM tasks WHERE {where} {tail}", args)
        return [from_row(row) for row in rows]

    # ------------------------------------------------------------------ writes

    def add(self, record: TaskRecord) -> TaskRecord:
        """Insert a new record (its updated_at set to now) and return it.

        sqlite3.IntegrityError when its (workspace, submission) is stored already.
        """
        record.updated_at = record.updated_at or time.time()
        names = list(FIELD_NAMES)
        sql = f"INSERT INTO tasks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        values = asdict(record)
        with self._write() as conn:
            conn.execute(sql, [to_db(n, values[n]) for n in names])
        return record

    def add_once(self, record: TaskRecord) -> tuple[TaskRecord, bool]:
        """Insert a record unless its (workspace, submission) is stored already.

        Returns the stored record and whether it is the one just inserted; threads and
        processes racing with one submission insert one row between them.
        """
        try:
            return self.add(record), True
        except sqlite3.IntegrityError:
            if record.submission is None:
                raise
            stored = self.find_submission(record.workspace, record.submission)
            if stored is None:
                raise
            return stored, False

    def add_many(self, records: Iterable[TaskRecord]) -> int:
        """Insert records in one transaction, skipping ids stored already; how many were new."""
        names = list(FIELD_NAMES)
        sql = (
            f"INSERT OR IGNORE INTO tasks ({', '.join(names)})"
            f" VALUES ({', '.join('?' * len(names))})"
        )
        now = time.time()
        rows = []
        for record in records:
            record.updated_at = record.updated_at or now
            values = asdict(record)
            rows.append([to_db(n, values[n]) for n in names])
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(sql, rows)
            return conn.total_changes - before

    def update(self, id: str, /, **changes: Any) -> TaskRecord:
        """Set some fields of a record (and updated_at); KeyError when there is no such record."""
        unknown = (set(changes) - set(FIELD_NAMES)) | ({"id"} & set(changes))
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        changes.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{name} = ?" for name in changes)
        args = [to_db(n, v) for n, v in changes.items()] + [id]
        with self._write() as conn:
            conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", args)
            row = conn.execute("SELECT * FROM tasks WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise KeyError(id)
        return from_row(row)

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

    def find_submission(self, workspace: str, submission: str) -> TaskRecord | None:
        """The record a form submission made in a workspace, or None."""
        found = self._select("workspace = ? AND submission = ?", [workspace, submission])
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
        return int(self._rows(f"SELECT COUNT(*) FROM tasks WHERE {where}", args)[0][0])

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

    def next_due_at(self) -> float | None:
        """When the earliest task the tracker follows is due (None: nothing to follow)."""
        where = f"(task_id IS NOT NULL AND {_ACTIVE_SQL}) OR ({_UNDOWNLOADED_SQL})"
        rows = self._rows(
            f"SELECT min(coalesce(next_poll_at, 0)), count(*) FROM tasks WHERE {where}"
        )
        return float(rows[0][0]) if rows and rows[0][1] else None

    def recent_costs(self, limit: int = 500) -> list[tuple[str, str, float]]:
        """(mode, speed, cost_s) of the latest successes whose provider cost is known."""
        sql = (
            "SELECT mode, coalesce(json_extract(request, '$.input.speed'), ''), cost_s FROM tasks"
            f" WHERE state = '{RecordState.SUCCESS.value}' AND cost_s IS NOT NULL"
            " ORDER BY finished_at DESC LIMIT ?"
        )
        return [(row[0], row[1], float(row[2])) for row in self._rows(sql, [limit])]

    def children(self, id: str) -> Records:
        """Records made from this one (vary, upscale), oldest first."""
        return self._select("parent_id = ?", [id], "ORDER BY created_at, seq")

    def workspaces(self) -> Names:
        """Every workspace that has records."""
        rows = self._rows("SELECT DISTINCT workspace FROM tasks ORDER BY workspace")
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
        """Every upload token a stored request uses (``/api/uploads/<token>``, ``upload:``)."""
        sql = (
            "SELECT request FROM tasks WHERE request LIKE '%/api/uploads/%'"
            f" OR request LIKE '%\"{UPLOAD_REF}%'"
        )
        texts = [row[0] or "" for row in self._rows(sql)]
        return {match.group(1) for text in texts for match in _UPLOAD_LINK.finditer(text)}
