"""Several servers on one store: leases on due tasks and creates, and one shared rate budget.

Each test runs on SQLite and on PostgreSQL. "Servers" are separate store objects on the same
database (each with its own connections), racing from threads as real servers would.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from mjstudio.tasks.leases import is_dead_here, server_id
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore
from tests.tasks.conftest import open_store

WS = "ws-team"


def running(n: int, **kw) -> TaskRecord:
    request = {"input": {"mode": "text-to-image", "prompt": f"task {n}"}}
    fields = {"task_id": f"t-{n}", "state": RecordState.PENDING, "next_poll_at": 100.0 + n}
    return TaskRecord.new(WS, request, **(fields | kw))


def queued(n: int) -> TaskRecord:
    request = {"input": {"mode": "text-to-image", "prompt": f"queued {n}"}}
    return TaskRecord.new(WS, request, state=RecordState.QUEUED)


@pytest.fixture
def servers(request, store: TaskStore, tmp_path: Path) -> list[TaskStore]:
    """Three stores on the test's database: ``store`` and two more servers of it."""
    backend = request.node.callspec.params["store"]
    others = []
    for _ in range(2):
        other = (
            TaskStore.open(tmp_path, store.url)
            if store.url
            else open_store(request, tmp_path, backend)
        )
        others.append(other)
    yield [store, *others]
    for other in others:
        other.close()


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Run the callables at once, each on its own thread; their results in order."""
    results: list[object] = [None] * len(workers)
    start = threading.Barrier(len(workers))

    def run(i: int) -> None:
        start.wait()
        results[i] = workers[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_each_due_task_is_claimed_by_one_server(servers: list[TaskStore]) -> None:
    servers[0].add_many([running(n) for n in range(60)])
    claims = race([lambda s=s, i=i: s.claim_due(f"server-{i}", now=1000.0, limit=25)
                   for i, s in enumerate(servers * 2)])  # fmt: skip
    got = Counter(record.id for claimed in claims for record in claimed)
    assert len(got) == 60 and set(got.values()) == {1}  # every task once, none twice
    assert servers[0].due(now=1000.0) == []  # all held: nothing is due for anyone else


def test_a_claim_is_oldest_due_first_and_skips_what_is_not_due(store: TaskStore) -> None:
    store.add_many([running(n) for n in range(5)] + [running(9, next_poll_at=5000.0)])
    claimed = store.claim_due("a", now=1000.0, limit=3)
    assert [r.prompt for r in claimed] == ["task 0", "task 1", "task 2"]
    assert [r.prompt for r in store.claim_due("b", now=1000.0)] == ["task 3", "task 4"]


def test_a_lease_runs_out_and_a_release_frees_the_task(store: TaskStore) -> None:
    record = store.add(running(1))
    now = time.time()
    assert [r.id for r in store.claim_due("a", now=now, lease_s=30)] == [record.id]
    assert store.claim_due("b", now=now + 10) == []  # held by a
    assert store.lease_count("a") == 1 and store.lease_count("b") == 0
    assert store.renew("a", [record.id], lease_s=60) == 1  # a is still working on it
    assert store.claim_due("b", now=now + 40) == []
    assert [r.id for r in store.claim_due("b", now=now + 70)] == [record.id]  # a went quiet
    store.release(record.id, "a")  # a's late release does not free b's lease
    assert store.claim_due("c", now=now + 71) == []
    store.release(record.id, "b")
    assert [r.id for r in store.claim_due("c", now=now + 72)] == [record.id]


def test_a_queued_task_is_claimed_for_sending_once(servers: list[TaskStore]) -> None:
    record = servers[0].add(queued(1))
    won = race([lambda s=s, i=i: s.claim_create(record.id, f"server-{i}")
                for i, s in enumerate(servers * 3)])  # fmt: skip
    assert won.count(True) == 1
    stored = servers[0].get(record.id)
    assert stored.state is RecordState.CREATING
    assert servers[1].claim_create(record.id, "late") is False  # being sent: not again


def test_creates_left_by_a_gone_server_are_found(store: TaskStore) -> None:
    live, expired, dead, legacy = (store.add(queued(n)) for n in range(4))
    store.claim_create(live.id, "elsewhere/1/x", lease_s=600)
    store.claim_create(expired.id, "elsewhere/2/x", lease_s=-1)
    gone_pid = 2**22 + 12345  # above this machine's pid range: no such process
    store.claim_create(dead.id, f"{server_id().split('/')[0]}/{gone_pid}/x", lease_s=600)
    store.update(legacy.id, state=RecordState.CREATING)  # an older release's: no lease at all
    found = {r.id for r in store.orphaned_creates()}
    assert found == {expired.id, dead.id, legacy.id}
    assert is_dead_here(f"{server_id().split('/')[0]}/{gone_pid}/x")
    assert not is_dead_here(server_id())  # this very process


def test_the_rate_budget_is_shared_by_every_server(servers: list[TaskStore]) -> None:
    rate, burst = 20.0, 4.0  # 20 a second, 4 at once
    start = time.time()

    def spend() -> int:
        taken = 0
        while time.time() - start < 1.0:
            if servers[taken % 3].take_token("acct", rate, burst) == 0.0:
                taken += 1
        return taken

    total = sum(race([spend, spend, spend]))  # type: ignore[arg-type]
    elapsed = time.time() - start
    assert total <= burst + rate * elapsed + 1  # all servers together, never more
    assert total >= rate * 0.5  # and the budget is spent, not starved
    wait = servers[0].take_token("acct", rate, burst, need=burst + 1)
    assert 0 < wait <= (burst + 1) / rate + 0.01  # how long until enough is back


def test_a_clean_stop_or_a_dead_process_here_frees_leases_at_once(store: TaskStore) -> None:
    polled, sending = store.add(running(1)), store.add(queued(2))
    me = server_id()
    assert [r.id for r in store.claim_due(me, now=1000.0)] == [polled.id]
    assert store.claim_create(sending.id, me)
    assert store.release_all(me) == 1  # the poll's lease; the create under way keeps its own
    assert store.lease_count(me) == 1
    gone = f"{me.split('/')[0]}/{2**22 + 4321}/x"  # a process of this host that has ended
    assert [r.id for r in store.claim_due(gone, now=1000.0)] == [polled.id]
    store.claim_due("elsewhere/1/x", now=1000.0)  # nothing left to claim: held by gone
    assert store.free_dead_here() == 1
    assert [r.id for r in store.claim_due("elsewhere/1/x", now=1000.0)] == [polled.id]


def test_a_task_stored_claimed_is_left_alone_from_its_first_moment(store: TaskStore) -> None:
    sending = store.add(queued(1), lease_owner="elsewhere/1/x")
    store.update(sending.id, state=RecordState.CREATING)
    polled = store.add(running(2), lease_owner="elsewhere/1/x")
    assert store.orphaned_creates() == []  # its server is sending it
    assert store.claim_due("here", now=1000.0) == []  # and polling that one
    assert store.lease_count("elsewhere/1/x") == 2 and polled.id
