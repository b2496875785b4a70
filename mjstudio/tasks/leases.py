"""Several servers on one history: which server works on which task, and one rate budget.

Any number of studio servers may share one database (and one results folder). Before a server
polls a due task, downloads a result or sends a queued create, it claims the task: one
statement sets ``lease_owner`` (the server's id) and ``lease_until`` on rows nobody holds (on
PostgreSQL ``FOR UPDATE SKIP LOCKED``, so servers claiming at once never wait for each other or
take the same row; SQLite's single writer serialises the claims). A lease lasts
``LEASE_S`` and is renewed while the work goes on and released when it is done, so a server
that dies leaves its tasks to the others within one lease period. A create caught by a
server's death is never resent: once its lease has run out it is marked unknown.

The provider's request budget is one row of ``rate_buckets`` per account, a token bucket that
every server takes its tokens from in one statement, so the servers together stay under it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from mjstudio.tasks.backend import sql
from mjstudio.tasks.database import Args, Database
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.schema import FOLLOWED_SQL, POLL_AT_SQL, UNFINISHED_SQL, from_row
from mjstudio.tasks.sqlite import StoreUnavailable

log = logging.getLogger("mjstudio.tasks.leases")

LEASE_S = 30.0  # a claimed task is the claimant's for this long unless renewed
_FREE = "(lease_until IS NULL OR lease_until < :now)"
_DUE = f"{POLL_AT_SQL} <= :now AND ({FOLLOWED_SQL})"
_ORDER = f"ORDER BY {POLL_AT_SQL}, seq"
_NEW_BUCKET = (
    "INSERT INTO rate_buckets (name, tokens, stamp) VALUES (:name, :burst, :now)"
    " ON CONFLICT (name) DO NOTHING"
)
# word for word the running-set index's condition first: only unfinished rows are read
_CREATING = f"{UNFINISHED_SQL} AND state = '{RecordState.CREATING.value}' AND task_id IS NULL"


def server_id() -> str:
    """A new id for this server process: host, process id and a random part."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def is_dead_here(owner: str | None) -> bool:
    """True when ``owner`` is a server id of this host whose process has ended."""
    host, _, rest = (owner or "").partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class Leases(Database):
    """The store's operations for sharing the work between servers (see the module's text)."""

    def _select(self, where: str, args: Args, tail: str = "") -> list[TaskRecord]:
        rows = self._rows(f"SELECT * FROM tasks WHERE {where} {tail}", args)
        return [from_row(row) for row in rows]

    def _select_in(self, column: str, values: Iterable[str], tail: str = "") -> list[TaskRecord]:
        """The records whose ``column`` is one of ``values`` (one query; none for none)."""
        names = {f"v{n}": value for n, value in enumerate(dict.fromkeys(values))}
        if not names:
            return []
        return self._select(f"{column} IN ({', '.join(':' + n for n in names)})", names, tail)

    def due(self, now: float | None = None) -> list[TaskRecord]:
        """Sent active tasks whose next poll is due, and successes not yet downloaded.

        Tasks another server holds a lease on are left out (they are being worked on).
        """
        now = time.time() if now is None else now
        return self._select(f"{_DUE} AND {_FREE}", {"now": now}, _ORDER)

    def next_due_at(self) -> float | None:
        """When the earliest task the tracker follows is due (None: nothing to follow)."""
        statement = (
            f"SELECT {POLL_AT_SQL} FROM tasks WHERE {FOLLOWED_SQL} ORDER BY {POLL_AT_SQL} LIMIT 1"
        )
        rows = self._rows(statement)
        return float(rows[0][0]) if rows else None

    def claim_due(
        self, owner: str, now: float | None = None, limit: int = 500, lease_s: float = LEASE_S
    ) -> list[TaskRecord]:
        """Claim up to ``limit`` due tasks nobody holds, oldest due first, for ``lease_s``."""
        now = time.time() if now is None else now
        probe = f"SELECT seq FROM tasks WHERE {_DUE} AND {_FREE} LIMIT 1"
        if not self._rows(probe, {"now": now}):
            return []  # nothing to claim: no write (a tracker's pass when all is quiet)
        skip = "" if self.dialect.is_sqlite else " FOR UPDATE SKIP LOCKED"
        statement = (
            "UPDATE tasks SET lease_owner = :owner, lease_until = :until WHERE seq IN"
            f" (SELECT seq FROM tasks WHERE {_DUE} AND {_FREE} {_ORDER} LIMIT :limit{skip})"
            " RETURNING *"
        )
        args = {"owner": owner, "until": now + lease_s, "now": now, "limit": limit}
        with self._write() as conn:
            rows = self._run(conn, statement, args).fetchall()
        claimed = [from_row(row) for row in rows]
        return sorted(claimed, key=lambda r: (r.next_poll_at or 0.0, r.created_at))

    def claim_create(self, id: str, owner: str, lease_s: float = LEASE_S) -> bool:
        """Mark a queued task as being sent by ``owner``; False when it is not to be sent.

        Only one server's claim succeeds, however many try: the others leave it alone.
        """
        now = time.time()
        statement = (
            f"UPDATE tasks SET state = '{RecordState.CREATING.value}', error = NULL,"
            " lease_owner = :owner, lease_until = :until, updated_at = :now"
            f" WHERE id = :id AND task_id IS NULL AND (state = '{RecordState.QUEUED.value}'"
            f" OR ({_CREATING} AND lease_owner = :owner)) RETURNING id"
        )
        args = {"owner": owner, "until": now + lease_s, "now": now, "id": id}
        with self._write() as conn:
            return conn.execute(sql(statement), args).first() is not None

    def release(self, id: str, owner: str) -> None:
        """Give up ``owner``'s lease on a task (it is anyone's again when next due)."""
        statement = (
            "UPDATE tasks SET lease_owner = NULL, lease_until = NULL"
            " WHERE id = :id AND lease_owner = :owner"
        )
        with self._write() as conn:
            self._run(conn, statement, {"id": id, "owner": owner})

    def release_all(self, owner: str) -> int:
        """Give up every lease of ``owner`` but those of creates being sent; how many.

        A server stopping cleanly leaves its polls and downloads to the others at once; a
        create still under way keeps its lease (it ends by itself, and is never sent twice).
        """
        statement = (
            "UPDATE tasks SET lease_owner = NULL, lease_until = NULL"
            f" WHERE lease_owner = :owner AND state <> '{RecordState.CREATING.value}'"
        )
        with self._write() as conn:
            return self._run(conn, statement, {"owner": owner}).rowcount

    def free_dead_here(self) -> int:
        """Release the leases of servers of this host whose process has ended; how many."""
        rows = self._rows("SELECT DISTINCT lease_owner FROM tasks WHERE lease_owner IS NOT NULL")
        return sum(self.release_all(row[0]) for row in rows if is_dead_here(row[0]))

    def renew(self, owner: str, ids: list[str], lease_s: float = LEASE_S) -> int:
        """Extend ``owner``'s leases on these tasks (work still under way); how many."""
        if not ids:
            return 0
        names = {f"id_{n}": value for n, value in enumerate(ids)}
        statement = (
            "UPDATE tasks SET lease_until = :until WHERE lease_owner = :owner"
            f" AND id IN ({', '.join(':' + name for name in names)})"
        )
        with self._write() as conn:
            args = names | {"owner": owner, "until": time.time() + lease_s}
            return conn.execute(sql(statement), args).rowcount

    def lease_count(self, owner: str) -> int:
        """How many tasks ``owner`` holds a lease on now."""
        statement = "SELECT count(*) FROM tasks WHERE lease_owner = :owner AND lease_until >= :now"
        return int(self._rows(statement, {"owner": owner, "now": time.time()})[0][0])

    def orphaned_creates(self, now: float | None = None) -> list[TaskRecord]:
        """Tasks left being sent by a server that is gone (its lease ran out, or it died here)."""
        now = time.time() if now is None else now
        rows = self._rows(f"SELECT * FROM tasks WHERE {_CREATING} ORDER BY created_at, seq")
        return [from_row(row) for row in rows if _orphaned(row._mapping, now)]

    def take_token(self, name: str, rate: float, burst: float, need: float = 1.0) -> float:
        """Take one request token of a shared budget: 0.0, or the seconds until one is free.

        ``need``: tokens that must be there (creates waiting locally leave theirs to them).
        """
        now, least = time.time(), "min" if self.dialect.is_sqlite else "least"
        level = f"{least}(:burst, tokens + (:now - stamp) * :rate)"
        args: dict[str, Any] = {"name": name, "burst": burst, "now": now, "rate": rate}
        take = (
            f"UPDATE rate_buckets SET tokens = {level} - 1, stamp = :now"
            f" WHERE name = :name AND {level} >= :need RETURNING tokens"
        )
        with self._write() as conn:
            for _ in range(2):  # the bucket is made full on its first use, then taken from
                if self._run(conn, take, args | {"need": need}).first() is not None:
                    return 0.0
                found = self._run(
                    conn, f"SELECT {level} FROM rate_buckets WHERE name = :name", args
                )
                if (level_now := found.scalar()) is not None:
                    break
                self._run(conn, _NEW_BUCKET, args)
        return max(0.001, (need - float(level_now)) / rate)


def _orphaned(row: Any, now: float) -> bool:
    """True when a row's lease is missing, ran out, or is held by a dead process here."""
    owner, until = row.get("lease_owner"), row.get("lease_until")
    return owner is None or until is None or until < now or is_dead_here(owner)


class LeaseKeeper:
    """One server's side of the leases: its id, renewing the work under way, letting go.

    ``store``: a TaskStore (its ``update`` marks a dead server's creates unknown).
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.server = server_id()
        self._renew_at = 0.0

    def renew(self, busy: Callable[[], list[str]]) -> None:
        """Extend the leases of the work under way, a third of a lease period at a time."""
        if time.monotonic() < self._renew_at:
            return
        self._renew_at = time.monotonic() + LEASE_S / 3
        self.store.renew(self.server, busy())

    def settle(self, is_sending: Callable[[str], bool], error: str) -> None:
        """Mark unknown the creates a gone server left being sent (they may have arrived)."""
        for record in self.store.orphaned_creates():
            if not is_sending(record.id):
                changes = {"lease_owner": None, "lease_until": None}
                self.store.update(record.id, state=RecordState.UNKNOWN, error=error, **changes)

    def let_go(self) -> None:
        """Release this server's leases (it stops): the other servers take over at once."""
        try:
            self.store.release_all(self.server)
        except StoreUnavailable as exc:
            log.warning("leases left to run out: %s", exc)
