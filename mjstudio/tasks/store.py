"""The store of tasks and their results, one workspace per provider URL and API key.

The tasks live in SQLite (the data folder's ``history.sqlite3``) or, for a team, in PostgreSQL
(``database``, ``backend``): the same statements on both, through SQLAlchemy. With SQLite each
thread keeps one connection (WAL, ``synchronous = NORMAL``, a busy timeout), so Streamlit script
threads and the tracker's threads share the store without locking here. Every query the studio
runs has its index (``schema``), prompts are searched through a full-text index (``search``),
and an older database is upgraded in place at open (``migrations``, Alembic). A full,
read-only or damaged data folder, or a database server out of reach, raises
:class:`StoreUnavailable` (a plain message); the store recovers by itself once it works again.
Several servers may share one database: ``leases`` says which one works on which task.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from mjstudio.tasks.backend import sql
from mjstudio.tasks.database import DB_NAME
from mjstudio.tasks.leases import LEASE_S, Leases
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.schema import (
    ACTIVE_SQL,
    COSTED_SQL,
    FIELD_NAMES,
    STARRED_SQL,
    UPLOADS_SQL,
    BatchSummary,
    batches_sql,
    cell_key,
    from_row,
    to_db,
)
from mjstudio.tasks.search import Where, filters
from mjstudio.tasks.sqlite import StoreUnavailable
from mjstudio.tasks.uploads import UPLOAD_REF

__all__ = ["DB_NAME", "BatchSummary", "StoreUnavailable", "TaskStore"]

_UPLOAD_LINK = re.compile(r'(?:/api/uploads/|"' + re.escape(UPLOAD_REF) + r")([A-Za-z0-9_-]+)")
_VALUES = ", ".join(":" + name for name in FIELD_NAMES)
_INSERT = f"INTO tasks ({', '.join(FIELD_NAMES)}) VALUES ({_VALUES})"
_INSERT_LEASED = (
    f"INTO tasks ({', '.join(FIELD_NAMES)}, lease_owner, lease_until)"
    f" VALUES ({_VALUES}, :lease_owner, :lease_until)"
)
_ID_CHUNK = 500  # ids per query of a set of ids (SQLite's variable limit is far above)
IMAGE_INDEXES = range(4)  # a grid's images 0-3 (an upscale's single image is 0)
_IN_BATCH = "workspace = :workspace AND batch_id = :batch_id"
_WORKSPACES = (  # each distinct workspace by one index seek, however many rows each has
    "WITH RECURSIVE ws(name) AS (SELECT min(workspace) FROM tasks UNION ALL"
    " SELECT (SELECT min(workspace) FROM tasks WHERE workspace > name) FROM ws"
    " WHERE name IS NOT NULL) SELECT name FROM ws WHERE name IS NOT NULL"
)

_FLAGS = ("favourites", "batch", "owner", "team")
_LEASE = {"lease_owner", "lease_until"}  # not record fields: which server works on the task
Records = list[TaskRecord]
Names = list[str]


def _row_values(record: TaskRecord) -> dict[str, Any]:
    values = asdict(record)
    return {name: to_db(name, values[name]) for name in FIELD_NAMES}


def _limit(limit: int | None) -> str:
    return "" if limit is None else f" LIMIT {int(limit)}"


class TaskStore(Leases):
    """Tasks and results of every workspace: in ``<data_dir>/history.sqlite3``, or PostgreSQL.

    Opening never fails because of the folder: a damaged database is set aside and a new one
    started (see :attr:`recovered_from`); a full or read-only folder raises
    :class:`StoreUnavailable` from the operations that need what it lacks.
    """

    @classmethod
    def open(cls, data_dir: Path | str, url: str | None = None) -> TaskStore:
        """The store of a data folder: its SQLite file, or the PostgreSQL database at ``url``."""
        return cls(Path(data_dir) / DB_NAME, url)

    # ------------------------------------------------------------------ writes

    def add(self, record: TaskRecord, lease_owner: str | None = None) -> TaskRecord:
        """Insert a new record (its updated_at set to now) and return it.

        ``lease_owner``: the record is stored claimed by that server for a lease period (other
        servers leave it alone from its first moment). sqlalchemy.exc.IntegrityError when its id
        or (workspace, submission) is stored already.
        """
        record.updated_at = record.updated_at or time.time()
        values, statement = _row_values(record), f"INSERT {_INSERT}"
        if lease_owner is not None:
            values |= {"lease_owner": lease_owner, "lease_until": time.time() + LEASE_S}
            statement = f"INSERT {_INSERT_LEASED}"
        with self._write() as conn:
            self._run(conn, statement, values)
        return record

    def add_once(self, record: TaskRecord) -> tuple[TaskRecord, bool]:
        """Insert a record unless its (workspace, submission) is stored already.

        Returns the stored record and whether it is the one just inserted; threads and
        processes racing with one submission insert one row between them.
        """
        try:
            return self.add(record), True
        except IntegrityError:
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
        if not rows:
            return 0
        statement = sql(f"INSERT {_INSERT} ON CONFLICT DO NOTHING")
        with self._transaction() as conn:  # what is new: the count before and after, one lock
            before = conn.execute(sql("SELECT count(*) FROM tasks")).scalar_one()
            conn.execute(statement, rows)
            return conn.execute(sql("SELECT count(*) FROM tasks")).scalar_one() - before

    def update(self, id: str, /, **changes: Any) -> TaskRecord:
        """Set some fields of a record (and updated_at); KeyError when there is no such record."""
        unknown = (set(changes) - set(FIELD_NAMES) - _LEASE) | ({"id"} & set(changes))
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        changes.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        args = {n: to_db(n, v) for n, v in changes.items()} | {"id_": id}
        statement = f"UPDATE tasks SET {assignments} WHERE id = :id_ RETURNING *"
        with self._write() as conn:  # one statement: the write and the row written
            rows = self._run(conn, statement, args).fetchall()
        if not rows:
            raise KeyError(id)
        return from_row(rows[0])

    def delete(self, id: str) -> bool:
        """Remove a record and its result files; children keep their (now dangling) parent_id."""
        record = self.get(id)
        if record is None:
            return False
        with self._write() as conn:
            conn.execute(sql("DELETE FROM tasks WHERE id = :id"), {"id": id})
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
        found = self._select("id = :id", {"id": id})
        return found[0] if found else None

    def get_many(self, ids: list[str]) -> Records:
        """The records of these local ids that exist, in the given order (one query)."""
        by_id = {record.id: record for record in self._select_in("id", ids)}
        return [by_id[rid] for rid in ids if rid in by_id]

    def find_task(self, workspace: str, task_id: str) -> TaskRecord | None:
        """The record of a provider task id in a workspace, or None."""
        where = "workspace = :workspace AND task_id = :task_id"
        found = self._select(where, {"workspace": workspace, "task_id": task_id}, "LIMIT 1")
        return found[0] if found else None

    def find_submission(self, workspace: str, submission: str) -> TaskRecord | None:
        """The record a form submission made in a workspace, or None."""
        where = "workspace = :workspace AND submission = :submission"
        found = self._select(where, {"workspace": workspace, "submission": submission})
        return found[0] if found else None

    def list(
        self, workspace: str, *, limit: int | None = 20, offset: int = 0, **filters: Any
    ) -> Records:
        """A workspace's records, newest first, at most ``limit`` from ``offset``.

        ``filters`` (each left out or empty: all): ``query`` (prompt text), ``modes``,
        ``states``, ``since`` <= created_at < ``until``, ``favourites`` (starred tasks or
        images), ``batch`` (one batch's), ``owner`` (one designer's), ``team`` (shared ones).
        """
        where = self._filters(workspace, filters)
        page = f" LIMIT {int(limit)}" if limit is not None else f" {self.dialect.no_limit}"
        tail = f"ORDER BY created_at DESC, seq DESC{page} OFFSET {int(offset)}"
        return self._select(where.sql, where.args, tail)

    def count(self, workspace: str, **filters: Any) -> int:
        """How many records :meth:`list` would find without a limit (the same ``filters``)."""
        where = self._filters(workspace, filters, counting=True)
        return int(self._rows(f"SELECT COUNT(*) FROM tasks WHERE {where.sql}", where.args)[0][0])

    def _filters(self, workspace: str, given: dict[str, Any], counting: bool = False) -> Where:
        found = {name: given.get(name) for name in ("query", "modes", "states", "since", "until")}
        extra = {name: given[name] for name in _FLAGS if name in given}
        if unknown := set(given) - set(found) - set(extra):
            raise TypeError(f"unknown filter: {', '.join(sorted(unknown))}")
        found |= {"indexed": self._indexed_search, "counting": counting, "dialect": self.dialect}
        return filters(workspace, **found, **extra)

    def active(self, workspace: str | None = None) -> Records:
        """Tasks the tracker must follow (oldest first), in one workspace or all."""
        where, args = ACTIVE_SQL, {}
        if workspace is not None:
            where, args = f"workspace = :workspace AND {where}", {"workspace": workspace}
        return self._select(where, args, "ORDER BY created_at, seq")

    def running(
        self, workspace: str, limit: int | None = None, owner: str | None = None
    ) -> Records:
        """A workspace's :meth:`active` tasks, newest first (at most ``limit``): the state index.

        ``owner``: only one designer's.
        """
        where, args = _scoped(workspace, owner)
        tail = f"ORDER BY created_at DESC, seq DESC{_limit(limit)}"
        return self._select(f"{where} AND {ACTIVE_SQL}", args, tail)

    def count_active(self, workspace: str, owner: str | None = None) -> int:
        """How many tasks :meth:`running` would return without a limit."""
        where, args = _scoped(workspace, owner)
        statement = f"SELECT COUNT(*) FROM tasks WHERE {where} AND {ACTIVE_SQL}"
        return int(self._rows(statement, args)[0][0])

    def recent_costs(self, limit: int = 500) -> list[tuple[str, str, float]]:
        """(mode, speed, cost_s) of the latest successes whose provider cost is known."""
        statement = (
            f"SELECT mode, {self.dialect.speed}, cost_s FROM tasks"
            f" WHERE {COSTED_SQL} ORDER BY finished_at DESC LIMIT :limit"
        )
        rows = self._rows(statement, {"limit": limit})
        return [(row[0], row[1], float(row[2])) for row in rows]

    def children(self, id: str) -> Records:
        """Records made from this one (vary, upscale), oldest first."""
        return self._select("parent_id = :id", {"id": id}, "ORDER BY created_at, seq")

    def children_of(self, ids: list[str]) -> Records:
        """Records made from any of these (one query), oldest first."""
        return self._select_in("parent_id", ids, "ORDER BY created_at, seq")

    def workspaces(self) -> Names:
        """Every workspace that has records."""
        return [row[0] for row in self._rows(_WORKSPACES)]

    def latest_update(self, ids: Iterable[str]) -> float | None:
        """The latest updated_at among these records (None: none stored); a cheap change check."""
        statement = "SELECT max(updated_at) FROM tasks WHERE {}"
        found = [self._rows(statement.format(c), a) for c, a in _in(ids)]
        stamps = [rows[0][0] for rows in found if rows and rows[0][0] is not None]
        return max(stamps) if stamps else None

    def changed_since(self, ids: Iterable[str], updated_at: float) -> Records:
        """Those of these records updated after ``updated_at`` (what a live view redraws)."""
        changed: Records = []
        for clause, args in _in(ids):
            since = args | {"since": updated_at}
            changed += self._select(f"{clause} AND updated_at > :since", since)
        return changed

    # ------------------------------------------------------------------ favourites and sharing

    def set_favourite(self, id: str, value: bool = True) -> TaskRecord:
        """Star (or unstar) a task; KeyError when there is no such record."""
        return self.update(id, favourite=bool(value))

    def set_shared(self, id: str, value: bool = True) -> TaskRecord:
        """Show a task to the whole team (or stop); KeyError when there is no such record."""
        return self.update(id, shared=bool(value))

    def share_batch(self, workspace: str, batch_id: str, value: bool = True) -> int:
        """Show every task of a batch (a board) to the team, or stop; how many tasks."""
        args = {"workspace": workspace, "batch_id": batch_id, "shared": int(value)}
        args["now"] = time.time()
        statement = f"UPDATE tasks SET shared = :shared, updated_at = :now WHERE {_IN_BATCH}"
        with self._write() as conn:
            return conn.execute(sql(statement), args).rowcount

    def set_image_favourite(self, id: str, index: int, value: bool = True) -> TaskRecord:
        """Star (or unstar) one image (0-3) of a task; KeyError when there is no such record."""
        if index not in IMAGE_INDEXES:
            raise ValueError(f"image index must be from 0 to 3, got {index!r}")
        lock = "" if self.dialect.is_sqlite else " FOR UPDATE"
        with self._transaction() as conn:  # read and write under the lock: no lost star
            found = conn.execute(sql(f"SELECT favourite_images FROM tasks WHERE id = :id{lock}"),
                                 {"id": id}).fetchall()  # fmt: skip
            if not found:
                raise KeyError(id)
            starred = set(json.loads(found[0][0] or "[]"))
            starred = starred | {index} if value else starred - {index}
            values = to_db("favourite_images", sorted(starred))
            conn.execute(
                sql("UPDATE tasks SET favourite_images = :v, updated_at = :now WHERE id = :id"),
                {"v": values, "now": time.time(), "id": id},
            )
        return self.get(id)  # type: ignore[return-value]

    # ------------------------------------------------------------------ batches

    def batch(self, workspace: str, batch_id: str) -> Records:
        """A batch's records in cell order (row, column, copy), then as they were stored."""
        args = {"workspace": workspace, "batch_id": batch_id}
        found = self._select(_IN_BATCH, args, "ORDER BY created_at, seq")
        return sorted(found, key=cell_key)  # stable: equal cells keep the stored order

    def batches(
        self, workspace: str, limit: int = 20, owner: str | None = None, team: bool = False
    ) -> list[BatchSummary]:
        """A workspace's batches, the latest first, with their counts.

        ``owner``: one designer's batches; ``team``: those shared with the team.
        """
        args = {"workspace": workspace, "limit": limit, "owner": owner}
        statement = batches_sql(owner=owner is not None, team=team)
        return [BatchSummary.of_row(row) for row in self._rows(statement, args)]

    def delete_batch(
        self, workspace: str, batch_id: str, *, include_favourites: bool = False
    ) -> tuple[int, int]:
        """Remove a batch's records and files; (deleted, starred ones kept).

        Starred tasks (or tasks with a starred image) stay unless ``include_favourites``.
        """
        where = _IN_BATCH if include_favourites else f"{_IN_BATCH} AND NOT {STARRED_SQL}"
        args = {"workspace": workspace, "batch_id": batch_id}
        with self._transaction() as conn:  # what is deleted is what was read: one transaction
            rows = conn.execute(sql(f"DELETE FROM tasks WHERE {where} RETURNING *"), args).all()
            kept = conn.execute(sql(f"SELECT COUNT(*) FROM tasks WHERE {_IN_BATCH}"), args)
            kept_count = int(kept.scalar_one())
        for record in map(from_row, rows):
            self._remove_files(record)
        return len(rows), kept_count

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
        rows = self._rows(f"SELECT request FROM tasks WHERE {UPLOADS_SQL}")  # its own index
        texts = [row[0] or "" for row in rows]
        return {match.group(1) for text in texts for match in _UPLOAD_LINK.finditer(text)}


def _in(ids: Iterable[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """``id IN (...)`` clauses with their arguments, a chunk of ids each."""
    chosen = list(dict.fromkeys(ids))
    for start in range(0, len(chosen), _ID_CHUNK):
        chunk = {f"id_{n}": value for n, value in enumerate(chosen[start : start + _ID_CHUNK])}
        yield f"id IN ({', '.join(':' + name for name in chunk)})", chunk


def _scoped(workspace: str, owner: str | None) -> tuple[str, dict[str, Any]]:
    """A workspace's clause, narrowed to one designer's tasks when ``owner`` is given."""
    if owner is None:
        return "workspace = :workspace", {"workspace": workspace}
    return "workspace = :workspace AND owner = :owner", {"workspace": workspace, "owner": owner}
