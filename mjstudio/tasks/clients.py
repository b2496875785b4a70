"""One API client per distinct connection, lent to workers and never closed under one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mjstudio.api.client import MJClient
from mjstudio.config import Connection


@dataclass
class _Entry:
    client: MJClient
    users: int = 0
    last_used: int = 0


class ClientPool:
    """Clients keyed by the whole connection (URL, key, header, timeouts...), not the workspace.

    A client is closed only when nobody holds it: idle clients beyond ``max_idle`` are closed,
    least recently used first, and all of them once the pool is closed.
    """

    def __init__(self, max_idle: int = 16) -> None:
        self._max_idle = max_idle
        self._entries: dict[Connection, _Entry] = {}
        self._lock = threading.Lock()
        self._clock = 0
        self._closed = False

    @contextmanager
    def lease(self, conn: Connection) -> Iterator[MJClient]:
        """The connection's client, held for the duration of the block."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the client pool is closed")
            entry = self._entries.get(conn)
            if entry is None:
                entry = self._entries[conn] = _Entry(conn.client())
            entry.users += 1
            self._clock += 1
            entry.last_used = self._clock
        try:
            yield entry.client
        finally:
            with self._lock:
                entry.users -= 1
            self._close_extra_idle()

    def __len__(self) -> int:
        return len(self._entries)

    def _close_extra_idle(self) -> None:
        with self._lock:
            idle = [conn for conn, e in self._entries.items() if e.users == 0]
            idle.sort(key=lambda conn: self._entries[conn].last_used)
            keep = 0 if self._closed else self._max_idle
            extra = [self._entries.pop(conn) for conn in idle[: max(0, len(idle) - keep)]]
        for entry in extra:
            entry.client.close()

    def close(self) -> None:
        """Lend no more clients; close the idle ones now and each held one when it is returned."""
        with self._lock:
            self._closed = True
        self._close_extra_idle()
