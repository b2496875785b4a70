"""The provider's request budget, kept on our side: a token bucket per account.

The provider allows so many requests in any window (the seed: 10,000 a minute) and answers 429
past it. The bucket spends a little less than that (``SAFETY``), with a small burst, so that no
window, however it is placed, sees more than the budget. Creates and status calls share one
bucket per account; a create takes priority: while one waits, status calls wait behind it.
Several servers on one store share one bucket per account, kept in the store
(:class:`SharedTokenBucket`); a server whose store fails meanwhile spends from its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("mjstudio.tasks.ratelimit")

SAFETY = 0.95  # spend at most this share of the budget: late arrivals and clock drift stay under
BURST = 0.01  # the bucket holds at most this share of the budget (at least one request)
MIN_WAIT_S = 0.001


@dataclass(frozen=True)
class Budget:
    """The provider's limit: ``limit`` requests in any ``window_s`` seconds."""

    limit: int = 10_000
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s <= 0:
            raise ValueError("a budget needs at least one request in a positive window")

    @property
    def rate(self) -> float:
        """Requests a second the bucket allows."""
        return self.limit * SAFETY / self.window_s

    @property
    def burst(self) -> float:
        """Requests the bucket lets through at once, after a quiet spell."""
        return max(1.0, self.limit * BURST)


class TokenBucket:
    """A thread-safe token bucket; :meth:`take` for the create lane, :meth:`try_take` for polls."""

    def __init__(self, budget: Budget, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self._clock = clock
        self._tokens = budget.burst
        self._stamp = clock()
        self._priority = 0  # creates waiting for a token: polls leave them the next ones
        self._lock = threading.Lock()
        self.taken = 0  # tokens handed out, for figures and tests

    def _refill(self, now: float) -> None:
        self._tokens = min(self.budget.burst, self._tokens + (now - self._stamp) * self.budget.rate)
        self._stamp = now

    def try_take(self, *, priority: bool = False) -> float:
        """Take a token now (0.0), or the seconds until one may be free (nothing taken).

        A status call (``priority`` False) also leaves a token to each waiting create.
        """
        with self._lock:
            self._refill(self._clock())
            need = 1.0 + (0 if priority else self._priority)
            if self._tokens >= need:
                self._tokens -= 1.0
                self.taken += 1
                return 0.0
            return max(MIN_WAIT_S, (need - self._tokens) / self.budget.rate)

    def take(
        self,
        *,
        sleep: Callable[[float], object] = time.sleep,
        stop: threading.Event | None = None,
    ) -> bool:
        """Wait for a token ahead of every status call (a create); False when ``stop`` is set."""
        with self._lock:
            self._priority += 1
        try:
            while (wait := self.try_take(priority=True)) > 0:
                if stop is not None and stop.is_set():
                    return False
                sleep(wait)
            return True
        finally:
            with self._lock:
                self._priority -= 1


# (account, rate, burst, tokens needed) -> 0.0 when a token was taken, else seconds to wait
SharedTake = Callable[[str, float, float, float], float]


class SharedTokenBucket(TokenBucket):
    """An account's bucket kept in the store, so that every server sharing it counts.

    Each token is taken by one statement (``TaskStore.take_token``); the local bucket is used
    only while the store cannot be reached, so a server never stops for want of it.
    """

    def __init__(self, budget: Budget, account: str, take: SharedTake) -> None:
        super().__init__(budget)
        self._account = account
        self._take = take

    def try_take(self, *, priority: bool = False) -> float:
        with self._lock:
            need = 1.0 + (0 if priority else self._priority)
        try:
            wait = self._take(self._account, self.budget.rate, self.budget.burst, need)
        except Exception as exc:  # noqa: BLE001 - the store failed: spend from the local bucket
            log.warning("shared request budget unavailable, counting locally: %s", exc)
            return super().try_take(priority=priority)
        if wait == 0.0:
            with self._lock:
                self.taken += 1
        return wait


class Budgets:
    """One bucket per provider account (workspace), all with the same budget.

    ``shared``: the store's token taking, to share each account's bucket between servers.
    """

    def __init__(
        self,
        budget: Budget,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedTake | None = None,
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._shared = shared
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, account: str) -> TokenBucket:
        """The bucket of an account, made on first use."""
        with self._lock:
            found = self._buckets.get(account)
            if found is None:
                found = self._buckets[account] = self._make(account)
            return found

    def _make(self, account: str) -> TokenBucket:
        if self._shared is None:
            return TokenBucket(self.budget, self._clock)
        return SharedTokenBucket(self.budget, account, self._shared)
