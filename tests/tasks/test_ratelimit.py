"""The token bucket that keeps the provider's budget: no window over it, creates first."""

from __future__ import annotations

import bisect
import threading

import pytest

from mjstudio.tasks.ratelimit import Budget, Budgets, TokenBucket


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_window_anywhere_holds_more_than_the_budget():
    clock, budget = Clock(), Budget(limit=600, window_s=60.0)
    bucket = TokenBucket(budget, clock)
    sent: list[float] = []
    while clock.now < 1000.0 + 300:  # five minutes of a caller that always wants more
        wait = bucket.try_take()
        if wait == 0:
            sent.append(clock.now)
        else:
            clock.sleep(wait)
    worst = max(
        bisect.bisect_left(sent, start + budget.window_s) - i for i, start in enumerate(sent)
    )
    assert worst <= budget.limit
    assert len(sent) >= 0.9 * budget.limit * 5  # and the budget is used, nearly all of it


def test_a_quiet_bucket_lets_a_small_burst_through():
    clock = Clock()
    bucket = TokenBucket(Budget(limit=10_000), clock)
    assert [bucket.try_take() for _ in range(100)] == [0.0] * 100  # 1% of the budget
    assert bucket.try_take() > 0


def test_a_waiting_create_gets_the_next_token_before_any_status_call():
    clock = Clock()
    bucket = TokenBucket(Budget(limit=60, window_s=60.0), clock)  # one a second
    assert bucket.try_take() == 0.0  # the burst is spent
    got: list[str] = []

    def sleep(seconds: float) -> None:  # the create waits; meanwhile a status call tries
        assert len(got) < 3, f"the create is still waiting: {got}"
        clock.sleep(seconds)
        got.append("status" if bucket.try_take() == 0 else "status refused")

    assert bucket.take(sleep=sleep)
    got.append("create")
    assert got == ["status refused", "create"]
    assert bucket.try_take() > 0  # and the status call waits for the token after


def test_a_create_waiting_for_a_token_gives_up_when_the_tracker_stops():
    clock = Clock()
    bucket = TokenBucket(Budget(limit=1, window_s=3600.0), clock)
    assert bucket.try_take() == 0.0
    stop = threading.Event()

    def sleep(seconds: float) -> None:
        stop.set()

    assert bucket.take(sleep=sleep, stop=stop) is False


def test_each_account_has_its_own_bucket():
    budgets = Budgets(Budget(limit=100), Clock())
    assert budgets.bucket("a") is budgets.bucket("a")
    assert budgets.bucket("a") is not budgets.bucket("b")


def test_a_budget_needs_a_request_and_a_window():
    with pytest.raises(ValueError):
        Budget(limit=0)
    with pytest.raises(ValueError):
        Budget(limit=10, window_s=0)
