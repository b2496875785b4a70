"""The SQLite store of tasks and their results, one workspace per provider URL and API key.

Each thread keeps one connection (``database``: WAL, ``synchronous = NORMAL``, a busy
timeout), so Streamlit script threads and the tracker's threads share the store without
locking here, and a thread's connection goes when the thread does. Every query the studio
runs has its index (``schema``), prompts are searched through FTS5 (``search``), and an older
file is upgraded in place at open (``migrations``). A full, read-only or damaged data folder
raises :class:`StoreUnavailable` (a plain message); the thread's connection is dropped then,
reads go on where SQLite can, and the store recovers by itself once the folder works again.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mjstudio.tasks.database import DB_NAME, Database
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.schema import (
    ACTIVE_SQL,
    BATCHES_SQL,
    COSTED_SQL,
    FIELD_NAMES,
    FOLLOWED_SQL,
    POLL_AT_SQL,
    STARRED_SQL,
    UPLOADS_SQL,
    BatchSummary,
    cell_key,
    from_row,
    to_db,
)
from mjstudio.tasks.search import filters
from mjstudio.tasks.sqlite import StoreUnavailable
from mjstudio.tasks.uploads import UPLOAD_REF

__all__ = ["DB_NAME", "BatchSummary", "StoreUnavailable", "TaskStore"]

_UPLOAD_LINK = re.compile(r'(?:/api/uploads/|"' + re.escape(UPLOAD_REF) + r")([A-Za-z0-9_-]+)")
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
_INSERT = f"INTO tasks ({', '.join(FIELD_NAMES)}) VALUES ({', '.join('?' * len(FIELD_NAMES))})"
_ID_CHUNK = 500  # ids per query of a set of ids (SQLite's variable limit is far above)
IMAGE_INDEXES = range(4)  # a grid's images 0-3 (an upscale's single image is 0)
_IN_BATCH = "workspace = ? AND batch_id = ?"
_WORKSPACES = (  # each distinct workspace by one index seek, however many rows each has
    "WITH RECURSIVE ws(name) AS (SELECT min(workspace) FROM tasks UNION ALL"
    " SELECT (SELECT min(workspace) FROM tasks WHERE workspace > name) FROM ws"
    " WHERE name IS NOT NULL) SELECT name FROM ws WHERE name IS NOT NULL"
)

Records = list[TaskRecord]
Names = list[str]


def _row_values(record: TaskRecord) -> list[Any]:
    values = asdict(record)
    return [to_db(name, values[name]) for name in FIELD_NAMES]


class TaskStore(Database):
    """Tasks and results of every workspace, in ``<data_dir>/history.sqlite3``.

    Opening never fails because of the folder: a damaged database is set aside and a new one
    started (see :attr:`recovered_from`); a full or read-only folder raises
    :class:`StoreUnavailable` from the operations that need what it lacks.
    """

    @classmethod
    def open(cls, data_dir: Path | str) -> TaskStore:
        """The store in a data folder."""
        return cls(Path(data_dir) / DB_NAME)

    def _select(self, where: str, args: Iterable[Any], tail: str = "") -> Records:
        rows = self._rows(f"SELECT * FROM tasks WHERE {where} {tail}", args)
        return [from_row(row) for row in rows]

    # ------------------------------------------------------------------ writes

    def add(self, record: TaskRecord) -> TaskRecord:
        """Insert a new record (its updated_at set to now) and return it.

        sqlite3.IntegrityError when its (workspace, submission) is stored already.
        """
        record.updated_at = record.updated_at or time.time()
        with self._write() as conn:
            conn.execute(f"INSERT {_INSERT}", _row_values(record))
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
        now = time.time()
        rows = []
        for record in records:
            record.updated_at = record.updated_at or now
            rows.append(_row_values(record))
        with self._transaction() as conn:  # rowcount: rows inserted (the search triggers' not)
            return max(0, conn.executemany(f"INSERT OR IGNORE {_INSERT}", rows).rowcount)

    def update(self, id: str, /, **changes: Any) -> TaskRecord:
        """Set some fields of a record (and updated_at); KeyError when there is no such record."""
        unknown = (set(changes) - set(FIELD_NAMES)) | ({"id"} & set(changes))
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        changes.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{name} = ?" for name in changes)
        args = [to_db(n, v) for n, v in changes.items()] + [id]
        sql = f"UPDATE tasks SET {assignments} WHERE id = ?"
        if _RETURNING:  # one autocommit statement: the write and the row written
            with self._write() as conn:
                rows = conn.execute(f"{sql} RETURNING *", args).fetchall()
        else:  # pragma: no cover - SQLite before 3.35
            with self._transaction() as conn:
                conn.execute(sql, args)
                rows = conn.execute("SELECT * FROM tasks WHERE id = ?", (id,)).fetchall()
        if not rows:
            raise KeyError(id)
        return from_row(rows[0])

    def delete(self, id: str) -> bool:
        """Remove a record and its result files; children keep their (now dangling) parent_id."""
        record = self.get(id)
        if record is None:
            return False
        with self._write() as conn:
            conn.execute("DELETE FROM tasks WHERE id = ?", (id,))
        self._remove_files(record)
        return True

    def _remove_files(self, record: TaskRecord) -> None:
        for rel in [*record.files, *record.thumbs]:
            self._unlink(rel)
        shutil.rmtree(self.results_dir(record), ignore_errors=True)

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
        favourites: bool = False,
        batch: str | None = None,
    ) -> Records:
        """A workspace's records, newest first; since <= created_at < until; empty filter = all.

        ``favourites``: only tasks starred (or with a starred image); ``batch``: one batch's.
        """
        where = filters(
            workspace,
            query,
            modes,
            states,
            since,
            until,
            self._indexed_search,
            favourites=favourites,
            batch=batch,
        )
        tail = "ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?"
        return self._select(where.sql, [*where.args, -1 if limit is None else limit, offset], tail)

    def count(
        self,
        workspace: str,
        *,
        query: str | None = None,
        modes: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        favourites: bool = False,
        batch: str | None = None,
    ) -> int:
        """How many records :meth:`list` would find without a limit."""
        where = filters(
            workspace,
            query,
            modes,
            states,
            since,
            until,
            self._indexed_search,
            counting=True,
            favourites=favourites,
            batch=batch,
        )
        return int(self._rows(f"SELECT COUNT(*) FROM tasks WHERE {where.sql}", where.args)[0][0])

    def active(self, workspace: str | None = None) -> Records:
        """Tasks the tracker must follow (oldest first), in one workspace or all."""
        where, args = ACTIVE_SQL, []
        if workspace is not None:
            where, args = f"workspace = ? AND {where}", [workspace]
        return self._select(where, args, "ORDER BY created_at, seq")

    def running(self, workspace: str, limit: int | None = None) -> Records:
        """A workspace's :meth:`active` tasks, newest first (at most ``limit``): the state index."""
        tail = "ORDER BY created_at DESC, seq DESC LIMIT ?"
        count = -1 if limit is None else limit
        return self._select(f"workspace = ? AND {ACTIVE_SQL}", [workspace, count], tail)

    def count_active(self, workspace: str) -> int:
        """How many tasks :meth:`running` would return without a limit."""
        sql = f"SELECT COUNT(*) FROM tasks WHERE workspace = ? AND {ACTIVE_SQL}"
        return int(self._rows(sql, [workspace])[0][0])

    def due(self, now: float | None = None) -> Records:
        """Sent active tasks whose next poll is due, and successes not yet downloaded."""
        now = time.time() if now is None else now
        where = f"{POLL_AT_SQL} <= ? AND ({FOLLOWED_SQL})"
        return self._select(where, [now], f"ORDER BY {POLL_AT_SQL}, seq")

    def next_due_at(self) -> float | None:
        """When the earliest task the tracker follows is due (None: nothing to follow)."""
        sql = f"SELECT {POLL_AT_SQL} FROM tasks WHERE {FOLLOWED_SQL} ORDER BY {POLL_AT_SQL} LIMIT 1"
        rows = self._rows(sql)
        return float(rows[0][0]) if rows else None

    def recent_costs(self, limit: int = 500) -> list[tuple[str, str, float]]:
        """(mode, speed, cost_s) of the latest successes whose provider cost is known."""
        sql = (
            "SELECT mode, coalesce(json_extract(request, '$.input.speed'), ''), cost_s FROM tasks"
            f" WHERE {COSTED_SQL} ORDER BY finished_at DESC LIMIT ?"
        )
        return [(row[0], row[1], float(row[2])) for row in self._rows(sql, [limit])]

    def children(self, id: str) -> Records:
        """Records made from this one (vary, upscale), oldest first."""
        return self._select("parent_id = ?", [id], "ORDER BY created_at, seq")

    def workspaces(self) -> Names:
        """Every workspace that has records."""
        return [row[0] for row in self._rows(_WORKSPACES)]

    def latest_update(self, ids: Iterable[str]) -> float | None:
        """The latest updated_at among these records (None: none stored); a cheap change check."""
        found = [self._rows(f"SELECT max(updated_at) FROM tasks WHERE {c}", a) for c, a in _in(ids)]
        stamps = [rows[0][0] for rows in found if rows and rows[0][0] is not None]
        return max(stamps) if stamps else None

    def changed_since(self, ids: Iterable[str], updated_at: float) -> Records:
        """Those of these records updated after ``updated_at`` (what a live view redraws)."""
        changed: Records = []
        for clause, args in _in(ids):
            changed += self._select(f"{clause} AND updated_at > ?", [*args, updated_at])
        return changed

    # ------------------------------------------------------------------ favourites and batches

    def set_favourite(self, id: str, value: bool = True) -> TaskRecord:
        """Star (or unstar) a task; KeyError when there is no such record."""
        return self.update(id, favourite=bool(value))

    def set_image_favourite(self, id: str, index: int, value: bool = True) -> TaskRecord:
        """Star (or unstar) one image (0-3) of a task; KeyError when there is no such record."""
        if index not in IMAGE_INDEXES:
            raise ValueError(f"image index must be from 0 to 3, got {index!r}")
        with self._transaction() as conn:  # read and write under the write lock: no lost star
            rows = conn.execute("SELECT favourite_images FROM tasks WHERE id = ?", (id,)).fetchall()
            if not rows:
                raise KeyError(id)
            starred = set(json.loads(rows[0][0] or "[]"))
            starred = starred | {index} if value else starred - {index}
            conn.execute(
                "UPDATE tasks SET favourite_images = ?, updated_at = ? WHERE id = ?",
                (to_db("favourite_images", sorted(starred)), time.time(), id),
            )
        return self.get(id)  # type: ignore[return-value]

    def batch(self, workspace: str, batch_id: str) -> Records:
        """A batch's records in cell order (row, column, copy), then as they were stored."""
        found = self._select(_IN_BATCH, [workspace, batch_id], "ORDER BY created_at, seq")
        return sorted(found, key=cell_key)  # stable: equal cells keep the stored order

    def batches(self, workspace: str, limit: int = 20) -> list[BatchSummary]:
        """A workspace's batches, the latest first, with their counts."""
        return [BatchSummary.of_row(row) for row in self._rows(BATCHES_SQL, [workspace, limit])]

    def delete_batch(
        self, workspace: str, batch_id: str, *, include_favourites: bool = False
    ) -> tuple[int, int]:
        """Remove a batch's records and files; (deleted, starred ones kept).

        Starred tasks (or tasks with a starred image) stay unless ``include_favourites``.
        """
        where = _IN_BATCH if include_favourites else f"{_IN_BATCH} AND NOT {STARRED_SQL}"
        args = [workspace, batch_id]
        with self._transaction() as conn:  # what is deleted is what was read: one transaction
            rows = conn.execute(f"SELECT * FROM tasks WHERE {where}", args).fetchall()
            conn.execute(f"DELETE FROM tasks WHERE {where}", args)
            kept = conn.execute(f"SELECT COUNT(*) FROM tasks WHERE {_IN_BATCH}", args).fetchone()
        for record in map(from_row, rows):
            self._remove_files(record)
        return len(rows), int(kept[0])

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
        rows = self._rows(f"SELECT request FROM tasks WHERE {UPLOADS_SQL}")
        texts = [row[0] or "" for row in rows]
        return {match.group(1) for text in texts for match in _UPLOAD_LINK.finditer(text)}


def _in(ids: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """``id IN (...)`` clauses with their arguments, a chunk of ids each."""
    chosen = list(dict.fromkeys(ids))
    for start in range(0, len(chosen), _ID_CHUNK):
        chunk = chosen[start : start + _ID_CHUNK]
        yield f"id IN ({', '.join('?' * len(chunk))})", chunk
