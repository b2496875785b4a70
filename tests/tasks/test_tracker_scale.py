"""The tracker at an account's volume: creates ahead of polls, the provider's budget kept, every
task polled in turn, downloads in parallel, an idle tracker that does not scan its history."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from mjstudio.api.contract import build_request
from mjstudio.config import Connection, Settings
from mjstudio.tasks.ratelimit import Budget
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
from tests import waiting
from tests.tasks.faultkit import KEY, queued, running, wait_record
from tests.tasks.loadkit import LoadConfig, load_provider

EVERY = (0.1, 0.1)  # each task wants a poll every 0.1 s: far more than any budget here


def many_running(store: TaskStore, conn: Connection, count: int) -> list[TaskRecord]:
    """``count`` sent tasks, all due, the oldest due first (t0 before t1 ...)."""
    now = time.time()
    records = [
        running(conn, f"t{n}", next_poll_at=now - count + n, submitted_at=now) for n in range(count)
    ]
    store.add_many(records)
    return records


@pytest.fixture
def store(tmp_path):
    return TaskStore.open(tmp_path / "data")


def test_a_create_reaches_the_provider_ahead_of_the_polls_queued_before_it(store):
    config = LoadConfig(delay_s=0.15)  # a slow provider...
    with load_provider(config) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=EVERY)
        many_running(store, conn, 300)  # ...and hundreds of tasks due
        tracker = Tracker(store, concurrency=4, budget=Budget(100_000))
        tracker.register(conn)
        tracker.start()
        try:
            waiting.wait_for(lambda: provider.stats.statuses >= 12, timeout=20)
            before = len(provider.stats.order)  # what reached the provider before the submit
            record = store.add(queued(conn))
            tracker.send(record, build_request("text-to-image", prompt="queued fox"), conn)
            sent = wait_record(store, record.id, lambda r: r.task_id is not None, timeout=20)
        finally:
            tracker.stop()
    order = provider.stats.order
    polls_ahead = order[before : order.index("create")].count("status")
    assert sent.state is RecordState.PENDING
    assert polls_ahead <= 8, f"{polls_ahead} polls reached the provider before the create"
    assert provider.stats.statuses < 300  # the polls queued before it were still going on
    assert provider.stats.max_in_flight <= 4


def test_polls_keep_to_the_budget_and_every_task_gets_its_turn(store):
    tasks, budget = 40, Budget(limit=160, window_s=4.0)  # 40 a second, far below the demand
    config = LoadConfig(delay_s=0.02, limit=budget.limit, window_s=budget.window_s)
    with load_provider(config) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=EVERY)
        many_running(store, conn, tasks)
        tracker = Tracker(store, concurrency=8, budget=budget)
        tracker.register(conn)
        tracker.start()
        try:  # past one window: the sliding window is full
            waiting.wait_for(lambda: provider.stats.statuses >= 5 * tasks, timeout=30)
        finally:
            tracker.stop()
    stats = provider.stats
    assert stats.limited == 0, f"{stats.limited} answers 429"
    counts = [stats.per_task[f"t{n}"] for n in range(tasks)]
    assert min(counts) >= stats.statuses // tasks - 1, counts  # nobody starves...
    assert max(counts) - min(counts) <= 2, counts  # ...and nobody gets more than its turn
    assert stats.max_in_flight <= 8


def test_status_calls_run_concurrently_up_to_the_limit(store):
    config = LoadConfig(delay_s=0.3)
    with load_provider(config) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=EVERY)
        many_running(store, conn, 40)
        tracker = Tracker(store, concurrency=6, budget=Budget(100_000))
        tracker.register(conn)
        tracker.start()
        try:
            waiting.wait_for(lambda: provider.stats.statuses >= 30, timeout=20)
        finally:
            tracker.stop()
    assert provider.stats.max_in_flight == 6  # as many as allowed at once, never more


def test_polls_start_oldest_due_first(store):
    budget = Budget(limit=60, window_s=2.0)  # one call at a time, in the order they are taken
    config = LoadConfig(delay_s=0.01)
    with load_provider(config) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=(30, 30))
        many_running(store, conn, 12)
        tracker = Tracker(store, concurrency=1, budget=budget)
        tracker.register(conn)
        tracker.start()
        try:
            waiting.wait_for(lambda: provider.stats.statuses >= 12, timeout=20)
        finally:
            tracker.stop()
    assert provider.stats.asked[:12] == [f"t{n}" for n in range(12)]


def test_results_download_in_parallel_and_once(store, tmp_path):
    config = LoadConfig(delay_s=0.01, task_s=0.0, result_delay_s=0.3)
    with load_provider(config) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=EVERY)
        tracker = Tracker(store, workers=4, budget=Budget(100_000))
        tracker.register(conn)
        tracker.start()
        try:
            ids = []
            for n in range(8):
                record = store.add(queued(conn))
                tracker.send(record, build_request("text-to-image", prompt=f"fox {n}"), conn)
                ids.append(record.id)
            waiting.wait_for(
                lambda: all(store.get(i).downloaded for i in ids),
                timeout=30,
                message=lambda: str([store.get(i) for i in ids]),
            )
            time.sleep(0.3)  # a second download of a finished task would have started by now
        finally:
            tracker.stop()
    gets = Counter(provider.stats.results)
    assert len(gets) == 32 and set(gets.values()) == {1}  # four images each, each once
    assert provider.stats.max_results_in_flight > 1  # tasks downloaded side by side


def test_the_settings_set_the_budget_and_the_concurrency(tmp_path):
    env = {"MJ_RATE_LIMIT": "600", "MJ_STATUS_CONCURRENCY": "3"}
    settings = Settings.load(environ=env, data_dir=tmp_path / "data")
    studio = Studio(settings)
    assert studio.tracker.budgets.budget == Budget(600, 60.0)
    assert studio.tracker.concurrency == 3
    default = Studio(Settings.load(environ={}, data_dir=tmp_path / "other"))
    assert default.tracker.budgets.budget == Budget(10_000, 60.0)
