"""Page-sized reads of the task store: what a page run asks for, never the whole workspace.

Every read here is bounded by the page, not by the history: one page of rows through an index,
a few records by id, a count that stops at a cap. A page run never lists, counts or scans a
workspace's every task.
"""

from __future__ import annotations

from typing import Any

from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore


def is_live(record: TaskRecord) -> bool:
    """True while a task's card changes by itself: it runs, or its results are downloading."""
    return record.needs_work and record.state is not RecordState.UNKNOWN


def by_ids(store: TaskStore, ids: list[str]) -> list[TaskRecord]:
    """The records of these local ids that still exist, in the same order (one query)."""
    return store.get_many(ids)


def fresh(store: TaskStore, ids: list[str], kept: tuple | None) -> tuple:
    """(ids, latest updated_at, their records): the ``kept`` ones while the store's cheap
    change check (one indexed max over these ids) says none of them changed, else read anew."""
    stamp = store.latest_update(ids)
    if kept is not None and kept[0] == ids and stamp is not None and kept[1] == stamp:
        return kept
    return ids, stamp, by_ids(store, ids)


def count_upto(store: TaskStore, workspace: str, cap: int, **filters: Any) -> tuple[int, bool]:
    """(how many tasks match, up to ``cap``; whether there are more): it reads at most
    ``cap`` + 1 index entries, however long the history."""
    beyond = store.list(workspace, **filters, limit=1, offset=cap)
    if beyond:
        return cap, True
    return store.count(workspace, **filters), False
