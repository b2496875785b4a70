"""The store's kept SQLite connections: one per thread, closed when its thread ends.

Streamlit runs every page script in a new, short-lived thread and the tracker keeps a few long
ones. Each thread keeps its own connection in a ``threading.local``: when the thread ends,
Python drops its slot and the connection is closed with it, so dead threads leave nothing open.
The pool also knows every live connection weakly, so :meth:`ThreadConnections.close_all`
can close them all (at shutdown, or before a damaged file is set aside). A forked child never
uses or closes the connections it inherited: it opens its own.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

Opener = Callable[[], Any]  # a new connection (the store's: SQLAlchemy over sqlite3)
_INHERITED: list[Any] = []  # a forked child's copies of its parent's: never closed


class _Kept:
    """One thread's connection; closing it (or losing it with its thread) closes SQLite's.

    ``busy`` is held while its thread runs an operation on it: a close asked for meanwhile (by
    another thread, at shutdown) is left to its own thread, at the operation's end. SQLite's
    connection must never be closed under a statement that another thread is running.
    """

    __slots__ = ("conn", "pid", "busy", "doomed", "__weakref__")

    def __init__(self, conn: Any) -> None:
        self.conn: Any = conn
        self.pid = os.getpid()
        self.busy = threading.Lock()
        self.doomed = False

    def usable(self) -> bool:
        """True while it holds a connection opened by this process.

        A forked child must neither use nor close its parent's connections (closing one could
        remove the parent's WAL file): it keeps them aside and opens its own.
        """
        if self.conn is not None and self.pid != os.getpid():
            _INHERITED.append(self.conn)
            self.conn = None
        return self.conn is not None

    def close(self) -> None:
        """Close the connection now, or when the operation under way on it ends."""
        if not self.busy.acquire(blocking=False):
            self.doomed = True  # its thread closes it when the operation ends
            return
        try:
            self._close()
        finally:
            self.busy.release()

    def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and self.pid != os.getpid():
            _INHERITED.append(conn)
        elif conn is not None:
            with suppress(Exception):  # a test's thread-bound connection: freed with it
                conn.close()

    def __del__(self) -> None:
        self.close()


class ThreadConnections:
    """One kept connection per thread, opened on first use by the opener given then."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: weakref.WeakSet[_Kept] = weakref.WeakSet()

    def get(self, opener: Opener) -> Any:
        """This thread's connection, opened now if it has none (or it was dropped)."""
        kept: _Kept | None = getattr(self._local, "kept", None)
        if kept is not None and kept.usable():
            return kept.conn
        conn = opener()
        kept = _Kept(conn)
        self._local.kept = kept
        with self._lock:
            self._all.add(kept)
        return conn

    @contextmanager
    def use(self, opener: Opener) -> Iterator[Any]:
        """This thread's connection for one operation, never closed by others while in use."""
        for _ in range(2):  # closed by another thread just before: open a new one once
            self.get(opener)
            kept: _Kept = self._local.kept
            with kept.busy:
                if kept.conn is None:
                    continue
                try:
                    yield kept.conn
                finally:
                    if kept.doomed:
                        kept._close()
                return
        raise RuntimeError("the store's connection was closed as it was opened")

    def drop(self) -> None:
        """Close this thread's connection: the next :meth:`get` opens a new one."""
        kept: _Kept | None = getattr(self._local, "kept", None)
        if kept is not None:
            self._local.kept = None
            kept.close()

    def close_all(self) -> None:
        """Close every thread's connection; each opens a new one on its next use."""
        with self._lock:
            everyone = list(self._all)
        for kept in everyone:
            kept.close()

    def open_count(self) -> int:
        """How many connections are open now (threads that ended hold none)."""
        with self._lock:
            return sum(1 for kept in list(self._all) if kept.conn is not None)
