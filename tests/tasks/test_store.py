"""The task store against real SQLite files."""

from __future__ import annotations

import socket
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from mjstudio.config import workspace_id
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.sqlite import UNREACHABLE
from mjstudio.tasks.store import DB_NAME, StoreUnavailable, TaskStore

WS = "ws-one"
KEY = "sk-live-very-secret-key-123456"


def make(ws: str = WS, prompt: str = "a red fox", mode: str = "text-to-image", **kw) -> TaskRecord:
    request = {"input": {"mode": mode, "prompt": prompt, "version": "v7"}, "provider": "auto"}
    return TaskRecord.new(ws, request, **kw)


def full_record() -> TaskRecord:
    return TaskRecord(
        workspace=WS,
        mode="vary",
        request={
            "input": {"mode": "vary", "taskId": "t-9", "imageIndex": 2, "type": 1, "prompt": "é ☃"},
            "request_type": "async",
            "provider": "auto",
        },
        prompt="é ☃",
        task_id="prov-123",
        state="failed",
        fail_code="CONTENT_VIOLATION",
        fail_msg="nope",
        error="our own note",
        parent_id="parent-local-id",
        parent_index=2,
        result_urls=["https://cdn.example/a.png", "https://cdn.example/b.png"],
        files=["results/ws-one/x/0.png"],
        thumbs=["results/ws-one/x/0.thumb.webp"],
        created_at=1_700_000_000.25,
        updated_at=1_700_000_001.5,
        submitted_at=1_700_000_000.75,
        finished_at=1_700_000_040.125,
        next_poll_at=1_700_000_003.0,
        polls=7,
        downloaded=True,
        expected_s=37.5,
    )


# --------------------------------------------------------------------------- round trip


def test_every_field_round_trips(store: TaskStore) -> None:
    record = full_record()
    store.add(record)
    assert asdict(store.get(record.id)) == asdict(record)


def test_new_record_defaults(store: TaskStore) -> None:
    record = store.add(make(prompt="a cat", parent_id="p", parent_index=1))
    got = store.get(record.id)
    assert got.mode == "text-to-image" and got.prompt == "a cat"
    assert got.state == "creating" and got.is_active and not got.is_final
    assert got.task_id is None and got.files == [] and got.downloaded is False
    assert got.params == {"prompt": "a cat", "version": "v7"}
    assert len(got.id) == 32 and got.updated_at is not None


def test_the_key_is_never_stored(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / DB_NAME)
    store.add(make(ws=workspace_id("https://api.example.com", KEY)))
    assert KEY.encode() not in (tmp_path / DB_NAME).read_bytes()


def test_update_sets_fields_and_updated_at(store: TaskStore) -> None:
    record = store.add(make(created_at=100.0, updated_at=100.0))
    got = store.update(record.id, task_id="T1", state="pending", next_poll_at=120.0)
    assert (got.task_id, got.state, got.next_poll_at) == ("T1", "pending", 120.0)
    assert got.updated_at > 100.0
    got = store.update(record.id, state="success", result_urls=["u1", "u2"], downloaded=True)
    assert store.get(record.id) == got and got.result_urls == ["u1", "u2"] and got.is_final


def test_update_rejects_unknown_fields_and_records(store: TaskStore) -> None:
    record = store.add(make())
    with pytest.raises(ValueError):
        store.update(record.id, colour="red")
    with pytest.raises(ValueError):
        store.update(record.id, id="other")
    with pytest.raises(KeyError):
        store.update("no-such-id", state="failed")
    assert store.get("no-such-id") is None


def test_find_task_is_per_workspace(store: TaskStore) -> None:
    a = store.add(make(ws="A", task_id="T-1", state="pending"))
    b = store.add(make(ws="B", task_id="T-1", state="pending"))
    assert store.find_task("A", "T-1").id == a.id
    assert store.find_task("B", "T-1").id == b.id
    assert store.find_task("A", "T-2") is None


# --------------------------------------------------------------------------- list / count


def seeded(store: TaskStore) -> list[TaskRecord]:
    specs = [
        ("a Red Fox in snow", "text-to-image", "success"),
        ("blue whale", "image-to-image", "failed"),
        ("red panda", "text-to-image", "pending"),
        ("", "upscale", "success"),
        ("Ünïcode RED tree", "vary", "rejected"),
    ]
    return [
        store.add(make(prompt=p, mode=m, state=s, created_at=1000.0 + i))
        for i, (p, m, s) in enumerate(specs)
    ]


def test_list_is_newest_first_with_pagination(store: TaskStore) -> None:
    recs = seeded(store)
    newest_first = [r.id for r in reversed(recs)]
    assert [r.id for r in store.list(WS)] == newest_first
    assert [r.id for r in store.list(WS, limit=2)] == newest_first[:2]
    assert [r.id for r in store.list(WS, limit=2, offset=2)] == newest_first[2:4]
    assert [r.id for r in store.list(WS, limit=2, offset=4)] == newest_first[4:]
    assert store.list(WS, offset=10) == []
    assert len(store.list(WS, limit=None)) == store.count(WS) == 5


def test_list_filters(store: TaskStore) -> None:
    recs = seeded(store)
    ids = lambda rs: {r.id for r in rs}  # noqa: E731
    red = ids(store.list(WS, query="red"))
    assert red == {recs[0].id, recs[2].id, recs[4].id}
    assert ids(store.list(WS, query="ÜNÏCODE")) == {recs[4].id}
    assert ids(store.list(WS, modes=["text-to-image"])) == {recs[0].id, recs[2].id}
    assert ids(store.list(WS, states=["success", "failed"])) == {r.id for r in recs[:2] + [recs[3]]}
    assert ids(store.list(WS, since=1001.0, until=1003.0)) == {recs[1].id, recs[2].id}
    combined = dict(query="red", modes=["text-to-image"], states=["pending"], since=1000.0)
    assert ids(store.list(WS, **combined)) == {recs[2].id}
    assert store.count(WS, **combined) == 1
    assert store.count(WS, query="red") == 3 and store.count(WS, modes=[]) == 5
    assert store.list(WS, query="100%_") == []


def test_workspaces_are_isolated(store: TaskStore) -> None:
    store.add(make(ws="A", prompt="alpha"))
    store.add(make(ws="B", prompt="beta"))
    store.add(make(ws="B", prompt="beta two"))
    assert [r.prompt for r in store.list("A")] == ["alpha"]
    assert store.count("B") == 2 and store.count("C") == 0
    assert store.workspaces() == ["A", "B"]


# --------------------------------------------------------------------------- tracker views


def test_active_and_due(store: TaskStore) -> None:
    now = 5000.0
    creating = store.add(make(state="creating"))
    unknown = store.add(make(state="unknown"))
    due_poll = store.add(make(task_id="T1", state="pending", next_poll_at=now - 1))
    later = store.add(make(task_id="T2", state="processing", next_poll_at=now + 60))
    never_scheduled = store.add(make(task_id="T3", state="processing"))
    odd_state = store.add(make(task_id="T4", state="queued-somewhere", next_poll_at=now))
    to_download = store.add(make(task_id="T5", state="success", downloaded=False))
    store.add(make(task_id="T6", state="success", downloaded=True))
    store.add(make(task_id="T7", state="failed"))
    store.add(make(state="rejected", error="401: invalid key"))
    other_ws = store.add(make(ws="other", task_id="T8", state="pending", next_poll_at=now))

    active = {r.id for r in store.active(WS)}
    assert active == {
        r.id for r in (creating, unknown, due_poll, later, never_scheduled, odd_state)
    }
    assert {r.id for r in store.active()} == active | {other_ws.id}
    due = {r.id for r in store.due(now)}
    assert due == {r.id for r in (due_poll, never_scheduled, odd_state, to_download, other_ws)}
    assert later.id in {r.id for r in store.due(now + 60)}
    store.update(to_download.id, downloaded=True)
    store.update(due_poll.id, state="success")
    assert due_poll.id in {r.id for r in store.due(now)}  # now it needs downloading
    assert to_download.id not in {r.id for r in store.due(now)}


def test_record_properties() -> None:
    assert make(state="creating").is_active
    assert make(state="unknown").is_active
    assert make(state="pending", task_id="t").is_active
    assert not make(state="pending").is_active  # nothing to poll without a task id
    for state in ("success", "failed", "rejected"):
        rec = make(state=state, task_id="t")
        assert rec.is_final and not rec.is_active
    assert TaskRecord(workspace=WS, mode="upscale").params == {}


# --------------------------------------------------------------------------- delete / files


def test_delete_removes_files_and_leaves_children_dangling(store: TaskStore) -> None:
    parent = store.add(make(task_id="P", state="success"))
    folder = store.results_dir(parent)
    folder.mkdir(parents=True)
    (folder / "0.png").write_bytes(b"png")
    (folder / "0.thumb.webp").write_bytes(b"webp")
    store.update(
        parent.id,
        files=[store.relpath(folder / "0.png")],
        thumbs=[store.relpath(folder / "0.thumb.webp")],
    )
    assert store.abspath(store.get(parent.id).files[0]).read_bytes() == b"png"
    child = store.add(make(mode="upscale", parent_id=parent.id, parent_index=0))
    assert [c.id for c in store.children(parent.id)] == [child.id]

    assert store.delete(parent.id) is True
    assert not folder.exists() and store.get(parent.id) is None
    orphan = store.get(child.id)
    assert orphan.parent_id == parent.id and store.get(orphan.parent_id) is None
    assert store.children(parent.id) == [orphan]
    assert store.delete(parent.id) is False


def test_results_layout_and_abspath(store: TaskStore, tmp_path: Path) -> None:
    rec = make(ws="W1")
    assert store.results_dir(rec) == tmp_path / "results" / "W1" / rec.id
    assert store.abspath("results/W1/x.png") == (tmp_path / "results/W1/x.png").resolve()
    with pytest.raises(ValueError):
        store.abspath("../../etc/passwd")


def test_delete_never_touches_files_outside_the_data_dir(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "data" / DB_NAME)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    rec = store.add(make(files=["../precious.txt"], thumbs=["/etc/hostname"]))
    assert store.delete(rec.id)
    assert outside.read_text() == "keep me"


# --------------------------------------------------------------------------- durability


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    first = TaskStore(path)
    records = [first.add(full_record()), first.add(make(prompt="second"))]
    first.update(records[1].id, state="pending", task_id="T")
    del first
    again = TaskStore(path)
    assert asdict(again.get(records[0].id)) == asdict(records[0])
    assert again.get(records[1].id).task_id == "T"
    assert again.count(WS) == 2
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_opening_an_older_file_adds_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE tasks (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " workspace TEXT NOT NULL, mode TEXT NOT NULL, created_at REAL NOT NULL,"
            " updated_at REAL NOT NULL)"
        )
        conn.execute(
            "INSERT INTO tasks (id, workspace, mode, created_at, updated_at)"
            " VALUES ('old', 'W', 'upscale', 1.0, 1.0)"
        )
    store = TaskStore(path)
    old = store.get("old")
    assert old.state == "creating" and old.files == [] and old.polls == 0
    assert store.update("old", expected_s=30.0).expected_s == 30.0


def test_concurrent_writes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    TaskStore(path)
    threads_n, updates_n = 8, 50
    errors: list[BaseException] = []
    ids: list[list[str]] = [[] for _ in range(threads_n)]
    start = threading.Barrier(threads_n)

    def work(t: int) -> None:
        try:
            store = TaskStore(path)  # each thread its own handle, as pages and tracker do
            start.wait()
            mine = store.add(make(prompt=f"thread {t}"))
            ids[t].append(mine.id)
            for i in range(updates_n):
                store.update(mine.id, polls=i + 1, result_urls=[f"u{t}-{j}" for j in range(i + 1)])
                ids[t].append(store.add(make(ws=f"ws{t}", prompt=f"{t}/{i}")).id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors and not any(w.is_alive() for w in workers)

    store = TaskStore(path)
    for t in range(threads_n):
        mine = store.get(ids[t][0])
        assert mine.polls == updates_n and len(mine.result_urls) == updates_n
        assert store.count(f"ws{t}") == updates_n
    assert store.count(WS) == threads_n
    assert len({i for group in ids for i in group}) == threads_n * (updates_n + 1)


# --------------------------------------------------------------------------- one submission


def test_one_submission_is_stored_once_however_many_race(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    TaskStore(path)
    racers = 10
    start = threading.Barrier(racers)
    results: list[tuple[TaskRecord, bool]] = []

    def insert() -> None:
        store = TaskStore(path)  # each its own handle, as two server processes would have
        start.wait(timeout=10)
        results.append(store.add_once(make(submission="render-7")))

    threads = [threading.Thread(target=insert) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == racers
    assert sum(inserted for _, inserted in results) == 1
    assert len({record.id for record, _ in results}) == 1
    assert TaskStore(path).count(WS) == 1


def test_submissions_are_per_workspace_and_optional(store: TaskStore) -> None:
    a, inserted_a = store.add_once(make(ws="A", submission="s"))
    b, inserted_b = store.add_once(make(ws="B", submission="s"))
    assert inserted_a and inserted_b and a.id != b.id
    assert store.find_submission("A", "s").id == a.id and store.find_submission("A", "t") is None
    plain = [store.add_once(make(ws="A"))[1] for _ in range(3)]  # no submission: no limit
    assert plain == [True, True, True] and store.count("A") == 4
    with pytest.raises(IntegrityError):
        store.add(make(ws="A", submission="s"))


def test_an_older_file_gets_the_one_submission_rule(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE tasks (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " workspace TEXT NOT NULL, mode TEXT NOT NULL, created_at REAL NOT NULL,"
            " updated_at REAL NOT NULL)"
        )
    store = TaskStore(path)
    first, _ = store.add_once(make(submission="s"))
    again, inserted = store.add_once(make(submission="s"))
    assert not inserted and again.id == first.id and store.count(WS) == 1


def test_a_database_server_out_of_reach_is_a_plain_message(tmp_path: Path) -> None:
    """A PostgreSQL server nobody answers for: opening works, each call says so plainly."""
    with socket.socket() as probe:  # a loopback port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = TaskStore.open(tmp_path, f"postgresql://designer:s3cret-pw@127.0.0.1:{port}/team")
    for call in (lambda: store.list(WS), lambda: store.add(make()), lambda: store.claim_due("me")):
        with pytest.raises(StoreUnavailable) as caught:
            call()
        assert caught.value.reason == UNREACHABLE
        assert "s3cret-pw" not in str(caught.value) and str(port) not in str(caught.value)
