"""How long tasks of each kind take, learned from the store's latest finished tasks.

Read once when first needed, then again only after a task finished with a known cost, and at
most every ``refresh_s`` seconds: an idle studio reads nothing, however long its history.
"""

from __future__ import annotations

import logging
import threading
import time

from mjstudio.tasks.schedule import Expected, Kind, kind, learn
from mjstudio.tasks.store import StoreUnavailable, TaskStore

log = logging.getLogger("mjstudio.tasks.learned")

RECENT = 500  # the latest finished tasks that count
REFRESH_S = 30.0


class Learned:
    """Expected durations per (mode, speed), kept fresh from ``store.recent_costs()``."""

    def __init__(self, store: TaskStore, refresh_s: float = REFRESH_S) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._by_kind: dict[Kind, Expected] = {}
        self._loaded_at: float | None = None
        self._stale = True
        self._lock = threading.Lock()

    def note_finished(self) -> None:
        """A task finished with a cost: read the history again when next due."""
        self._stale = True

    def expected(self, mode: str | None, speed: str | None) -> Expected | None:
        """How long a task of this mode and speed usually takes (None: too little history)."""
        self._refresh()
        return self._by_kind.get(kind(mode, speed))

    def _refresh(self) -> None:
        now = time.monotonic()
        with self._lock:
            recent = self._loaded_at is not None and now - self._loaded_at < self._refresh_s
            if not self._stale or recent:
                return
            self._stale, self._loaded_at = False, now
        try:
            self._by_kind = learn(self._store.recent_costs(RECENT))
        except StoreUnavailable as exc:
            log.info("durations not learned this time: %s", exc)
            self._stale = True
