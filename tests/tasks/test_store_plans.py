"""Every query the studio runs uses an index: the query plans of a filled store.

The store's own statements are recorded as it runs them (a connection whose ``execute`` asks
SQLite for the plan of the same SQL with the same arguments first), so the plans checked are
those of the real queries, not of copies of them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import DB_NAME, TaskStore

WS, OTHER = "ws-plans", "ws-other"
_READS = ("SELECT", "WITH", "UPDATE", "DELETE")
_TABLE_SCAN = re.compile(r"SCAN tasks(?: .*)?")  # "SCAN tasks_fts ..." is the FTS index


class PlanCursor(sqlite3.Cursor):
    """A cursor that records the query plan of each statement it runs on its connection."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if sql.lstrip().upper().startswith(_READS):
            rows = self.connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
            self.connection.plans.append((sql, [row[3] for row in rows]))
        return super().execute(sql, parameters)


class PlanRecorder(sqlite3.Connection):
    """A connection whose cursors (the store runs every statement on one) record plans."""

    plans: list[tuple[str, list[str]]]

    def cursor(self, factory: type = PlanCursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)


class PlannedStore(TaskStore):
    """A store whose connections record their plans (one thread here: one connection)."""

    def _open(self, *, immutable: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, factory=PlanRecorder, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.plans = []
        self.__dict__["recorder"] = conn
        return conn

    def plan(self, call: Callable[[], Any]) -> list[str]:
        """The plan lines of every statement ``call`` runs."""
        self.recorder.plans.clear()
        call()
        assert self.recorder.plans, "the call ran no recorded statement"
        return [line for _, lines in self.recorder.plans for line in lines]


def _record(n: int, **kw: Any) -> TaskRecord:
    subject = ("fox", "owl", "whale")[n % 3]
    request = {"input": {"mode": "text-to-image", "prompt": f"a {subject} number {n}"}}
    kw.setdefault("state", RecordState.SUCCESS)
    kw.setdefault("downloaded", True)
    return TaskRecord.new(WS, request, created_at=1000.0 + n, task_id=f"t-{n}", **kw)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> PlannedStore:
    """A store of 600 finished tasks, 30 running, a lineage, uploads and another workspace."""
    made = PlannedStore(tmp_path_factory.mktemp("plans") / DB_NAME)
    done = [_record(n, cost_s=30.0 + n % 7, finished_at=1040.0 + n) for n in range(600)]
    running = [
        _record(600 + n, state=RecordState.PROCESSING, next_poll_at=2000.0 + n, downloaded=False)
        for n in range(30)
    ]
    made.add_many([*done, *running])
    made.add(_record(700, parent_id=done[0].id, parent_index=1, submission="sub-1"))
    upload = {"input": {"mode": "image-to-image", "image_urls": ["upload:tok-1"]}}
    made.add(TaskRecord.new(OTHER, upload, state=RecordState.QUEUED))
    made.parent_id = done[0].id  # for the lineage query below
    made.running_ids = [r.id for r in running]
    return made


def _calls(store: PlannedStore) -> dict[str, tuple[Callable[[], Any], str]]:
    """Each public read (and the update) -> (the call, the index it must use)."""
    ids = store.running_ids[:5]
    return {
        "due": (lambda: store.due(2010.0), "tasks_due"),
        "due (tracker: every task)": (lambda: store.due(1e18), "tasks_due"),
        "next_due_at": (store.next_due_at, "tasks_due"),
        "active(workspace)": (lambda: store.active(WS), "tasks_state"),
        "active()": (store.active, "tasks_state"),
        "running": (lambda: store.running(WS, 10), "tasks_state"),
        "count_active": (lambda: store.count_active(WS), "tasks_state"),
        "list": (lambda: store.list(WS, limit=12), "tasks_ws_created"),
        "list page 3": (lambda: store.list(WS, limit=12, offset=24), "tasks_ws_created"),
        "list filtered": (
            lambda: store.list(WS, modes=["text-to-image"], states=["success"], since=1.0),
            "tasks_ws_created",
        ),
        "count": (lambda: store.count(WS), "INDEX tasks_ws_"),  # any workspace-first index
        "count filtered": (lambda: store.count(WS, states=["failed"]), "INDEX tasks_ws_"),
        "search": (lambda: store.list(WS, query="fox"), "tasks_fts"),
        "search count": (lambda: store.count(WS, query="Fox number"), "tasks_fts"),
        "short search": (lambda: store.list(WS, query="ox"), "tasks_ws_created"),
        "children": (lambda: store.children(store.parent_id), "tasks_parent"),
        "find_task": (lambda: store.find_task(WS, "t-5"), "tasks_ws_task"),
        "find_submission": (lambda: store.find_submission(WS, "sub-1"), "tasks_ws_submission"),
        "get": (lambda: store.get(ids[0]), "sqlite_autoindex_tasks_1"),
        "get_many": (lambda: store.get_many(ids[:8]), "sqlite_autoindex_tasks_1"),
        "recent_costs": (store.recent_costs, "tasks_costs"),
        "workspaces": (store.workspaces, "tasks_ws_created"),
        "upload_tokens": (store.upload_tokens, "tasks_uploads"),
        "update": (lambda: store.update(ids[1], polls=2), "sqlite_autoindex_tasks_1"),
        "latest_update": (lambda: store.latest_update(ids), "sqlite_autoindex_tasks_1"),
        "changed_since": (lambda: store.changed_since(ids, 0.0), "sqlite_autoindex_tasks_1"),
    }


def test_no_query_scans_the_table(store: PlannedStore) -> None:
    for name, (call, index) in _calls(store).items():
        lines = store.plan(call)
        scans = [line for line in lines if _TABLE_SCAN.fullmatch(line) and "INDEX" not in line]
        assert not scans, f"{name} scans the table: {lines}"
        assert any(index in line for line in lines), f"{name} does not use {index}: {lines}"


def test_due_and_the_pages_need_no_sort(store: PlannedStore) -> None:
    for name in ("due", "due (tracker: every task)", "next_due_at", "active(workspace)"):
        lines = store.plan(_calls(store)[name][0])
        assert not any("TEMP B-TREE" in line for line in lines), f"{name} sorts: {lines}"
    for name in ("list", "list page 3", "running", "search", "recent_costs"):
        lines = store.plan(_calls(store)[name][0])
        assert not any("TEMP B-TREE" in line for line in lines), f"{name} sorts: {lines}"


def test_the_indexed_queries_still_answer_right(store: PlannedStore) -> None:
    """What the plans above read is what the tracker and the pages expect."""
    due = store.due(2010.0)
    assert [r.task_id for r in due] == [f"t-{600 + n}" for n in range(11)]
    assert store.next_due_at() == 2000.0
    assert {r.id for r in store.active(WS)} == set(store.running_ids)
    assert len(store.active()) == 31  # and the queued task of the other workspace
    newest = store.running(WS, 3)
    assert [r.task_id for r in newest] == ["t-629", "t-628", "t-627"]
    assert store.count_active(WS) == 30 and store.count_active(OTHER) == 1
    assert store.workspaces() == [OTHER, WS]
    assert store.upload_tokens() == {"tok-1"}
    assert len(store.recent_costs(5)) == 5 and store.recent_costs(1)[0][2] == 30.0 + 599 % 7
    assert store.count(WS, query="fox") == len([n for n in range(630) if n % 3 == 0])
    assert [c.task_id for c in store.children(store.parent_id)] == ["t-700"]
    ids = store.running_ids
    picked = [ids[5], "gone", ids[2], ids[5]]  # the order asked, the missing left out
    assert [r.id for r in store.get_many(picked)] == [ids[5], ids[2], ids[5]]
    assert store.get_many([]) == []


def test_the_plans_hold_on_an_empty_store(tmp_path: Path) -> None:
    """No statistics and no rows: the planner still picks the same indexes."""
    empty = PlannedStore(tmp_path / DB_NAME)
    empty.parent_id, empty.running_ids = "none", ["a", "b", "c", "d", "e"]
    for name, (call, index) in _calls(empty).items():
        if name == "update":
            continue  # KeyError: nothing to update
        lines = empty.plan(call)
        assert any(index in line for line in lines), f"{name} does not use {index}: {lines}"
