"""Schema migrations: a data folder of the previous release opens with nothing lost.

``tests/fixtures/datafolder-v2`` was written by the release before (schema version 2) with its
own code; it is copied, never opened in place. Its rows are read back as that release stored
them (an immutable read of the fixture) and compared with what today's store returns.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from mjstudio.tasks import migrations
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.schema import SCHEMA_VERSION
from mjstudio.tasks.store import DB_NAME, TaskStore
from mjstudio.tasks.uploads import UploadRegistry

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datafolder-v2"
WS = "ws-fixture"
TOKEN = "4l6XW6w8KDDf9a95AYDGcsZzpNPMujrU"


def fid(n: int) -> str:
    return f"f{n:031d}"


def fixture_rows() -> dict[str, dict[str, Any]]:
    """The fixture's rows as release 2 stored them, read without touching the file."""
    conn = sqlite3.connect(f"file:{FIXTURE / DB_NAME}?immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return {row["id"]: dict(row) for row in conn.execute("SELECT * FROM tasks")}
    finally:
        conn.close()


def as_stored(row: dict[str, Any]) -> dict[str, Any]:
    """The record fields a release-2 row stands for (cost_s unknown then, no batch, no star)."""
    fields = {k: v for k, v in row.items() if k != "seq"}
    for name in ("request", "result_urls", "files", "thumbs"):
        fields[name] = json.loads(fields[name])
    for name in ("downloaded", "download_gave_up"):
        fields[name] = bool(fields[name])
    return fields | {"cost_s": None} | V4_DEFAULTS


V4_DEFAULTS = {  # release 4's fields, as an older row reads
    "batch_id": None,
    "batch_label": None,
    "cell": None,
    "favourite": False,
    "favourite_images": [],
    "owner": "",  # release 5: no sign-in then, nothing shared
    "shared": False,
}


def store_record(prompt: str) -> TaskRecord:
    return TaskRecord.new("ws", {"input": {"mode": "text-to-image", "prompt": prompt}})


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [*conn.iterdump(), f"user_version {migrations.user_version(conn)}"]
    finally:
        conn.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(FIXTURE, copy)
    return copy


def test_the_fixture_is_a_release_2_folder() -> None:
    conn = sqlite3.connect(f"file:{FIXTURE / DB_NAME}?immutable=1", uri=True)
    try:
        assert migrations.user_version(conn) == 2
        assert "cost_s" not in {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    finally:
        conn.close()


def test_every_task_is_intact(folder: Path) -> None:
    store = TaskStore.open(folder)
    rows = fixture_rows()
    assert len(rows) == 9
    for id, row in rows.items():
        assert asdict(store.get(id)) == as_stored(row), id
    assert store.count(WS) == 8 and store.count("ws-other") == 1
    assert store.workspaces() == [WS, "ws-other"]
    first = store.get(fid(1))
    assert (first.prompt, first.state, first.task_id) == (
        "a red fox in snow",
        "success",
        "task-parent",
    )
    assert first.request["input"]["chaos"] == 10 and first.expected_s == 40.0
    assert store.find_submission(WS, "sub-1").id == fid(1)
    assert store.find_task(WS, "task-vary").id == fid(2)
    failed = store.get(fid(6))
    assert (failed.state, failed.fail_code, failed.fail_msg) == ("failed", "501", "banned prompt")
    gave_up = store.get(fid(8))
    assert gave_up.download_gave_up and gave_up.download_attempts == 5
    assert store.get(fid(9)).error == "Insufficient credits"


def test_every_image_file_is_intact(folder: Path) -> None:
    store = TaskStore.open(folder)
    counts = {}
    for n in (1, 2, 3):
        record = store.get(fid(n))
        assert record.is_done
        for rel in [*record.files, *record.thumbs]:
            assert store.abspath(rel).read_bytes() == (FIXTURE / rel).read_bytes(), rel
        counts[n] = (len(record.files), len(record.thumbs))
    assert counts == {1: (4, 4), 2: (4, 4), 3: (1, 1)}


def test_the_lineage_is_intact(folder: Path) -> None:
    store = TaskStore.open(folder)
    vary, upscale = store.get(fid(2)), store.get(fid(3))
    assert (vary.parent_id, vary.parent_index) == (fid(1), 1)
    assert (upscale.parent_id, upscale.parent_index) == (fid(2), 2)
    assert [r.id for r in store.children(fid(1))] == [fid(2)]
    assert [r.id for r in store.children(fid(2))] == [fid(3)]
    assert store.children(fid(3)) == []


def test_the_upload_reference_is_intact(folder: Path) -> None:
    store = TaskStore.open(folder)
    queued = store.get(fid(4))
    assert queued.request["input"]["image_urls"] == [f"upload:{TOKEN}"]
    assert store.upload_tokens() == {TOKEN}
    data, mime = UploadRegistry(folder).get(TOKEN)
    assert data == (FIXTURE / "uploads" / f"{TOKEN}.png").read_bytes() and mime == "image/png"


def test_the_unfinished_tasks_are_followed_again(folder: Path) -> None:
    store = TaskStore.open(folder)
    assert [r.id for r in store.active(WS)] == [fid(4), fid(5), fid(7)]
    assert store.get(fid(4)).state is RecordState.QUEUED
    processing = store.get(fid(5))
    assert processing.state is RecordState.PROCESSING and processing.next_poll_at == 1764000410.0
    assert [r.id for r in store.due(1764000410.0)] == [fid(5)]  # not the one that gave up
    assert store.next_due_at() == 1764000410.0
    assert [r.id for r in store.running(WS)] == [fid(7), fid(5), fid(4)]


def test_search_finds_the_old_prompts(folder: Path) -> None:
    store = TaskStore.open(folder)
    assert [r.id for r in store.list(WS, query="RED FOX")] == [fid(1)]
    assert [r.id for r in store.list(WS, query="lighthouse")] == [fid(5)]
    assert [r.id for r in store.list(WS, query="Watercolor")] == [fid(4)]
    assert store.count("ws-other", query="workspace's") == 1
    with sqlite3.connect(folder / DB_NAME) as conn:  # through the full-text index, filled
        assert conn.execute("SELECT count(*) FROM tasks_fts").fetchone()[0] == 9
        conn.execute("INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('integrity-check', 1)")


def test_the_upgrade_is_recorded_and_opening_again_changes_nothing(folder: Path) -> None:
    TaskStore.open(folder).close()
    once = dump(folder / DB_NAME)
    assert once[-1] == f"user_version {SCHEMA_VERSION}"
    assert any("CREATE VIRTUAL TABLE" in line and "tasks_fts" in line for line in once)
    assert any("tasks_due" in line for line in once)
    watcher = sqlite3.connect(folder / DB_NAME)  # its data_version moves on any other write
    try:
        version = watcher.execute("PRAGMA data_version").fetchone()[0]
        again = TaskStore.open(folder)
        assert [r.id for r in again.list(WS, limit=None)][-1] == fid(1)
        assert again.count(WS, query="fox") == 1
        assert watcher.execute("PRAGMA data_version").fetchone()[0] == version
        again.close()
    finally:
        watcher.close()
    assert dump(folder / DB_NAME) == once


def test_the_upgrade_is_one_transaction(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that fails half-way leaves the file as the previous release left it."""
    before = dump(folder / DB_NAME)

    def broken(conn: sqlite3.Connection) -> None:
        migrations.to_3(conn)
        raise sqlite3.OperationalError("the disk went away half-way")

    monkeypatch.setattr(migrations, "STEPS", ((2, migrations.to_2), (3, broken)))
    with pytest.raises(sqlite3.OperationalError):
        TaskStore.open(folder)
    assert dump(folder / DB_NAME) == before
    monkeypatch.undo()
    assert TaskStore.open(folder).get(fid(1)).prompt == "a red fox in snow"


def test_a_file_stamped_current_but_incomplete_is_completed(tmp_path: Path) -> None:
    """A file a development build stamped 3 before full-text search existed gets it."""
    store = TaskStore(tmp_path / DB_NAME)
    record = store.add(store_record("an owl at dusk"))
    store.close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        for name in ("tasks_fts_insert", "tasks_fts_delete", "tasks_fts_update"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE tasks_fts")
        conn.execute("DROP INDEX tasks_due")
    again = TaskStore(tmp_path / DB_NAME)
    assert [r.id for r in again.list("ws", query="OWL AT")] == [record.id]
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"tasks_fts", "tasks_due", "tasks_fts_insert"} <= names


def test_a_newer_file_is_used_as_it_is(tmp_path: Path) -> None:
    """A file from a newer release: never downgraded, its own additions kept."""
    store = TaskStore(tmp_path / DB_NAME)
    kept = store.add(store_record("a whale in the sky"))
    store.close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("ALTER TABLE tasks ADD COLUMN future TEXT NOT NULL DEFAULT 'later'")
        conn.execute("CREATE TABLE future_things (x)")
        conn.execute("INSERT INTO future_things VALUES (42)")
        conn.execute("PRAGMA user_version = 99")
    watcher = sqlite3.connect(tmp_path / DB_NAME)  # its data_version moves on any other write
    version = watcher.execute("PRAGMA data_version").fetchone()[0]
    newer = TaskStore(tmp_path / DB_NAME)
    assert newer.get(kept.id) == kept and newer.count("ws", query="whale") == 1
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == version  # nothing written
    watcher.close()
    added = newer.add(store_record("a newer owl"))
    newer.update(added.id, polls=2)
    assert [r.id for r in newer.list("ws", query="owl")] == [added.id]
    newer.close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert migrations.user_version(conn) == 99
        assert conn.execute("SELECT x FROM future_things").fetchall() == [(42,)]
        futures = conn.execute("SELECT DISTINCT future FROM tasks").fetchall()
        assert futures == [("later",)]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_newer_file_without_the_search_index_still_searches(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / DB_NAME)
    kept = store.add(store_record("a castle in snow"))
    store.close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        for name in ("tasks_fts_insert", "tasks_fts_delete", "tasks_fts_update"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE tasks_fts")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer = TaskStore(tmp_path / DB_NAME)
    assert [r.id for r in newer.list("ws", query="CASTLE")] == [kept.id]
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert migrations.user_version(conn) == SCHEMA_VERSION + 1


# ---------------------------------------------------------------------------- release 4

V3_COLUMNS = {  # release 3's table, as its to_3 made it (no batch, no favourites)
    "seq", "id", "workspace", "mode", "request", "prompt", "task_id", "state", "fail_code",
    "fail_msg", "error", "parent_id", "parent_index", "result_urls", "files", "thumbs",
    "created_at", "updated_at", "submitted_at", "finished_at", "next_poll_at", "polls",
    "downloaded", "expected_s", "submission", "download_error", "download_attempts",
    "download_gave_up", "cost_s",
}  # fmt: skip
V4_INDEXES = {"tasks_batch", "tasks_starred"}


def schema_names(path: Path) -> tuple[set[str], set[str]]:
    """(the task table's columns, every name in sqlite_master) of a file."""
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    return columns, names


def v3_file(path: Path) -> TaskRecord:
    """A release-3 file (its steps, stamped 3) holding one finished task; that task."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrations.to_2(conn)
        migrations.to_3(conn)
        conn.execute("PRAGMA user_version = 3")
        record = TaskRecord.new("ws", {"input": {"mode": "text-to-image", "prompt": "a v3 heron"}})
        record.state, record.cost_s, record.updated_at = RecordState.SUCCESS, 12.5, 2.0
        values = {k: v for k, v in asdict(record).items() if k in V3_COLUMNS}
        values["request"] = json.dumps(values["request"])
        for name in ("result_urls", "files", "thumbs"):
            values[name] = json.dumps(values[name])
        marks = ", ".join("?" * len(values))
        conn.execute(
            f"INSERT INTO tasks ({', '.join(values)}) VALUES ({marks})", list(values.values())
        )
    finally:
        conn.close()
    return record


def test_the_release_2_fixture_upgrades_to_batches_and_favourites(folder: Path) -> None:
    store = TaskStore.open(folder)
    columns, names = schema_names(folder / DB_NAME)
    assert set(V4_DEFAULTS) <= columns and names >= V4_INDEXES
    first = store.get(fid(1))
    assert (first.batch_id, first.cell, first.favourite, first.favourite_images) == (
        None, None, False, []
    )  # fmt: skip
    assert store.count(WS, favourites=True) == 0 and store.batches(WS) == []
    store.set_image_favourite(fid(1), 2)
    assert [r.id for r in store.list(WS, favourites=True)] == [fid(1)]
    assert store.get(fid(1)).prompt == "a red fox in snow"


def test_a_release_3_file_upgrades_to_batches_and_favourites(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    record = v3_file(path)
    columns, names = schema_names(path)
    assert columns == V3_COLUMNS and not V4_INDEXES & names  # what release 3 had
    store = TaskStore(path)
    assert asdict(store.get(record.id)) == asdict(record) | V4_DEFAULTS
    columns, names = schema_names(path)
    assert set(V4_DEFAULTS) <= columns and names >= V4_INDEXES
    with sqlite3.connect(path) as conn:
        assert migrations.user_version(conn) == SCHEMA_VERSION == 5
    assert [r.id for r in store.list("ws", query="HERON")] == [record.id]  # search kept
    batched = store.add(store_record("a v4 heron"))
    store.update(batched.id, batch_id="b1", cell={"row": 0, "col": 0}, favourite=True)
    assert [r.id for r in store.list("ws", batch="b1", favourites=True)] == [batched.id]
    assert [s.count for s in store.batches("ws")] == [1]


def test_a_release_3_upgrade_runs_only_the_new_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a release-3 file runs step 4 alone: the search index is not rebuilt."""
    path = tmp_path / DB_NAME
    v3_file(path)
    ran: list[int] = []
    steps = tuple(
        (n, lambda conn, n=n, step=step: (ran.append(n), step(conn)))
        for n, step in migrations.STEPS
    )
    monkeypatch.setattr(migrations, "STEPS", steps)
    TaskStore(path).close()
    assert ran == [4]
