"""The cheap reads pages use for a live view: the running set and what changed since."""

from __future__ import annotations

from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore

WS = "ws-views"


def make(n: int, **kw) -> TaskRecord:
    request = {"input": {"mode": "text-to-image", "prompt": f"task {n}"}}
    return TaskRecord.new(WS, request, created_at=1000.0 + n, updated_at=2000.0 + n, **kw)


def test_running_is_the_active_set_newest_first(store: TaskStore) -> None:
    states = [
        dict(state=RecordState.SUCCESS, task_id="a"),
        dict(state=RecordState.PROCESSING, task_id="b"),
        dict(state=RecordState.QUEUED),
        dict(state=RecordState.FAILED, task_id="c"),
        dict(state=RecordState.PENDING),  # no task id: nothing to follow
        dict(state=RecordState.UNKNOWN),
    ]
    records = [store.add(make(n, **kw)) for n, kw in enumerate(states)]
    store.add(TaskRecord.new("elsewhere", {}, state=RecordState.QUEUED))
    running = [r.id for r in store.running(WS)]
    assert running == [records[5].id, records[2].id, records[1].id]
    assert running == [r.id for r in reversed(store.active(WS))]
    assert [r.id for r in store.running(WS, 2)] == running[:2]
    assert store.running(WS, 0) == [] and store.count_active(WS) == 3
    store.update(records[1].id, state=RecordState.SUCCESS)
    assert store.count_active(WS) == 2 and records[1].id not in {r.id for r in store.running(WS)}


def test_latest_update_and_changed_since(store: TaskStore) -> None:
    records = [store.add(make(n)) for n in range(3)]
    ids = [r.id for r in records]
    assert store.latest_update(ids) == 2002.0
    assert store.latest_update(["no-such-id"]) is None and store.latest_update([]) is None
    assert store.changed_since(ids, 2002.0) == []
    changed = store.update(ids[0], polls=1)
    assert store.latest_update(ids) == changed.updated_at > 2002.0
    assert store.changed_since(ids, 2002.0) == [changed]
    assert store.changed_since(ids[1:], 2002.0) == []


def test_many_ids_are_asked_in_chunks(store: TaskStore) -> None:
    records = [make(n) for n in range(1200)]
    store.add_many(records)
    ids = [r.id for r in records]
    assert store.latest_update(ids) == 2000.0 + 1199
    assert len(store.changed_since(ids, 2000.0 + 99.5)) == 1100


def test_add_many_counts_the_records_inserted_not_the_search_index_writes(tmp_path) -> None:
    """add_many says how many records were new: a second call with the same ids adds none."""
    store = TaskStore.open(tmp_path)
    records = [
        TaskRecord(workspace="ws", mode="text-to-image", prompt=f"fox {i}") for i in range(5)
    ]
    assert store.add_many(records) == 5
    assert store.add_many(records) == 0
    assert store.count("ws") == 5
