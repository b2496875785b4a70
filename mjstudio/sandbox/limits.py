"""The per-minute request limit: a sliding window of request times."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` requests in any ``window_s`` seconds."""

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def hit(self) -> int | None:
        """Count one request; return None if allowed, else whole seconds until one is."""
        with self._lock:
            now = self._clock()
            while self._hits and self._hits[0] <= now - self.window_s:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                return max(1, math.ceil(self._hits[0] + self.window_s - now))
            self._hits.append(now)
            return None
