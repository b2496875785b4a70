"""Telling a page at once that one of its tasks was stored done, in this process.

A page's live refresh finds stored changes by itself, at its next refresh; a listener left
here hears that a task is done as this process stores it (the tracker's download of its
results, a failure a poll or a provider's callback brought), so the page can redraw without
waiting. It is only a shortcut: what another server stored is not heard, and a listener not
renewed within ``ttl_s`` lapses (a page closed or left); the refresh still finds those.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger("mjstudio.tasks.changes")

LISTEN_S = 10.0  # a listener lapses unless renewed this often (a live page renews it each run)
Listener = Callable[[str], bool]  # called with the changed record's id; False: gone, drop it


@dataclass(frozen=True)
class _Entry:
    ids: frozenset[str]
    call: Listener
    until: float


class Changes:
    """Listeners of stored task changes, by key (one per page view); thread-safe."""

    def __init__(self, ttl_s: float = LISTEN_S) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def listen(self, key: str, ids: Iterable[str], call: Listener) -> None:
        """Call ``call(record_id)`` when one of ``ids`` is stored done, for ``ttl_s``; a later
        ``listen`` with the same key replaces this one and starts its time again."""
        now = time.monotonic()
        with self._lock:
            self._drop_lapsed(now)
            self._entries[key] = _Entry(frozenset(ids), call, now + self._ttl_s)

    def forget(self, key: str) -> None:
        """Stop calling the listener of ``key`` (nothing happens when there is none)."""
        with self._lock:
            self._entries.pop(key, None)

    def changed(self, record_id: str) -> int:
        """Tell every listener of this record (on this thread, outside the lock); how many.

        A listener that fails, or answers False, is dropped; lapsed ones are dropped too.
        """
        with self._lock:
            self._drop_lapsed(time.monotonic())
            told = [(k, e) for k, e in self._entries.items() if record_id in e.ids]
        for key, entry in told:
            try:
                alive = entry.call(record_id)
            except Exception:  # noqa: BLE001 - a page's listener must never stop the tracker
                log.exception("a listener of %s failed", record_id)
                alive = False
            if not alive:
                self._drop(key, entry)
        return len(told)

    def _drop_lapsed(self, now: float) -> None:
        """Forget the listeners not renewed in time (called holding the lock)."""
        for key in [k for k, e in self._entries.items() if e.until < now]:
            del self._entries[key]

    def _drop(self, key: str, entry: _Entry) -> None:
        """Drop ``entry`` unless its key was listened to anew meanwhile."""
        with self._lock:
            if self._entries.get(key) is entry:
                del self._entries[key]
