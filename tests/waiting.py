"""The one way tests wait: poll a predicate until it holds or a deadline passes.

Every test that waits for something to happen in another thread or process (a task to finish,
a server to start, a callback to arrive, a page to lay out) calls :func:`wait_for` instead of
writing its own ``while time.monotonic() < deadline`` loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "the condition never held",
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that value.

    The predicate is called at once, then every ``interval`` seconds; it is always called at
    least once, and once more at (or just after) the deadline. Exceptions it raises propagate
    unchanged (a predicate may fail fast, e.g. when the process it waits on has died).

    On timeout this raises ``AssertionError`` naming the timeout, the last value the predicate
    returned and ``message`` (a string, or a callable evaluated only then, for details that are
    costly or change over time).
    """
    deadline = time.monotonic() + timeout
    while True:
        last = predicate()
        if last:
            return last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g} s (last value {last!r}): {text}")
        time.sleep(min(interval, remaining))
