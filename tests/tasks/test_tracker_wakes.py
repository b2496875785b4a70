"""When the tracker looks at the store: when something is due or wakes it, never on a tick; and
the schedule it learns from the provider's costTime."""

from __future__ import annotations

import time

import pytest

from mjstudio.api.contract import build_input, build_request
from mjstudio.config import Connection
from mjstudio.tasks.ratelimit import Budget
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
from tests import waiting
from tests.tasks.faultkit import KEY, queued, running, settings_for, wait_record
from tests.tasks.loadkit import LoadConfig, load_provider

LONG = 60.0  # the tracker's own recheck: longer than any test here waits


def finished_history(conn: Connection, count: int, cost_s: float = 40.0) -> list[TaskRecord]:
    """``count`` tasks finished and downloaded, their provider cost known."""
    request = build_request("text-to-image", prompt="old fox").to_api()
    return [
        TaskRecord.new(
            conn.workspace,
            request,
            task_id=f"old-{n}",
            state=RecordState.SUCCESS,
            downloaded=True,
            files=[f"results/x/{n}/1.png"],
            finished_at=time.time(),
            cost_s=cost_s,
        )
        for n in range(count)
    ]


class Counting:
    """Wraps a store's reads to count them (and what ``due`` was asked)."""

    def __init__(self, store: TaskStore) -> None:
        self.calls: list[tuple[str, tuple]] = []
        for name in ("due", "next_due_at", "active"):
            setattr(store, name, self._counted(name, getattr(store, name)))

    def _counted(self, name, method):
        def counted(*args, **kwargs):
            self.calls.append((name, args + tuple(kwargs.values())))
            return method(*args, **kwargs)

        return counted

    def count(self, name: str) -> int:
        return sum(1 for called, _ in self.calls if called == name)


def test_an_idle_tracker_does_not_tick_over_its_history(tmp_path):
    store = TaskStore.open(tmp_path / "data")
    conn = Connection(base_url="http://127.0.0.1:9", api_key=KEY)
    store.add_many(finished_history(conn, 2000))
    counting = Counting(store)
    tracker = Tracker(store, recheck_s=LONG)
    tracker.register(conn)
    tracker.start()
    try:
        time.sleep(1.5)  # six ticks of a tracker that ticks 4 times a second
    finally:
        tracker.stop()
    asked = [args[0] for name, args in counting.calls if name == "due" and args]
    assert all(now < time.time() + 1 for now in asked), "start-up asked for every task"
    assert counting.count("due") <= 2, counting.calls  # the first pass, maybe the register's


def test_the_tracker_sleeps_until_the_next_task_is_due(tmp_path):
    store = TaskStore.open(tmp_path / "data")
    with load_provider(LoadConfig(delay_s=0.01)) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=(30, 30))
        store.add(running(conn, "soon", next_poll_at=time.time() + 0.5))
        tracker = Tracker(store, recheck_s=LONG)
        tracker.register(conn)
        tracker.start()
        try:
            waiting.wait_for(lambda: provider.stats.per_task["soon"], timeout=10)
        finally:
            tracker.stop()


def test_a_new_task_due_sooner_wakes_the_sleeping_tracker(tmp_path):
    store = TaskStore.open(tmp_path / "data")
    with load_provider(LoadConfig(delay_s=0.01)) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=(0.2, 0.2))
        store.add(running(conn, "later", next_poll_at=time.time() + 40))
        tracker = Tracker(store, recheck_s=LONG)  # asleep until "later" is due...
        tracker.register(conn)
        tracker.start()
        try:
            sent = submitted(tracker, store, conn, "first polled 0.2 s after it was sent")
            waiting.wait_for(lambda: provider.stats.per_task[sent.task_id] >= 2, timeout=10)
        finally:
            tracker.stop()
    assert provider.stats.per_task["later"] == 0


def test_a_callback_result_is_downloaded_at_once_without_a_poll(tmp_path):
    with load_provider(LoadConfig(delay_s=0.01)) as (url, provider):
        callback = {"request_type": "callback", "callback_base": "http://127.0.0.1:9"}
        conn = Connection(base_url=url, api_key=KEY, **callback)
        studio = Studio(settings_for(tmp_path / "data"))
        studio.tracker = Tracker(studio.store, recheck_s=LONG)  # no help from a recheck
        studio.connect(conn)
        studio.tracker.start()
        try:
            record = studio.submit(conn, build_input("text-to-image", prompt="call me"))
            record = wait_record(studio.store, record.id, lambda r: r.task_id is not None)
            assert record.next_poll_at > time.time() + 60  # only a safety poll, much later
            urls = [f"{url}/r/{record.task_id}-{n}.png" for n in range(1, 5)]
            data = {"taskId": record.task_id, "state": "success", "costTime": 4500}
            sig = record.request["callback_url"].rsplit("sig=", 1)[1]
            assert studio.receive_callback(record.id, sig, data | {"resultUrls": urls})
            done = wait_record(studio.store, record.id, lambda r: r.downloaded, timeout=10)
        finally:
            studio.tracker.stop()
    assert provider.stats.statuses == 0  # nothing waited for a poll
    assert len(done.files) == 4 and done.cost_s == pytest.approx(4.5)


def test_the_provider_cost_is_kept_and_tasks_of_its_kind_are_polled_around_it(tmp_path):
    store = TaskStore.open(tmp_path / "data")
    with load_provider(LoadConfig(delay_s=0.01, task_s=0.5)) as (url, provider):
        conn = Connection(base_url=url, api_key=KEY, poll=(0.2, 0.2))
        tracker = Tracker(store, budget=Budget(100_000))
        tracker.register(conn)
        tracker.start()
        try:
            first = submitted(tracker, store, conn, "a first fox")
            done = wait_record(store, first.id, lambda r: r.downloaded)
        finally:
            tracker.stop()
        assert done.cost_s == pytest.approx(0.5)  # the provider's costTime, in seconds
        store.add_many(finished_history(conn, 9, cost_s=20.0))  # this kind takes 20 s
        provider.config.task_s = None  # the next task runs until the test ends
        slow = Connection(base_url=url, api_key=KEY, poll=(1.0, 3.0))
        tracker = Tracker(store, budget=Budget(100_000))
        tracker.register(slow)
        tracker.start()
        try:
            second = submitted(tracker, store, slow, "a second fox")
            polled = wait_record(store, second.id, lambda r: r.polls >= 1, timeout=10)
        finally:
            tracker.stop()
    assert second.expected_s == pytest.approx(20.0, abs=2.0)
    assert second.next_poll_at - second.submitted_at == pytest.approx(1.0, abs=0.1)  # early
    assert polled.next_poll_at - polled.submitted_at > 10  # then not before the usual finish


def submitted(tracker: Tracker, store: TaskStore, conn: Connection, prompt: str) -> TaskRecord:
    """A task sent through the tracker, once the provider took it."""
    record = store.add(queued(conn))
    tracker.send(record, build_request("text-to-image", prompt=prompt), conn)
    return wait_record(store, record.id, lambda r: r.task_id is not None)
