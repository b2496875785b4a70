"""History export and import: a round trip loses nothing, twice adds nothing, another workspace
remaps ids with their parents, running tasks resume (hostile archives: test_archive_safety)."""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

import pytest

from bench.synthetic import fill
from mjstudio.api.contract import build_request
from mjstudio.config import Connection
from mjstudio.sandbox import SandboxSettings
from mjstudio.tasks.archive import (
    RESUMED_WHILE_SENDING,
    export_history,
    import_history,
    remap_id,
)
from mjstudio.tasks.archive_checks import FORMAT, MANIFEST, TASKS, VERSION
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
from mjstudio.tasks.uploads import UploadRegistry, restore_data_urls
from tests.sandbox.server import running_sandbox
from tests.waiting import wait_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datafolder-v2"
NOW = 1_900_000_000.0
ID = "f00000000000000000000000000000{:02d}".format  # the fixture's ids: ID(1) ... ID(9)
RUNNING = ID(5)  # the fixture's processing task: the one to resume
PATHS = ("files", "thumbs")


@pytest.fixture
def source(tmp_path: Path) -> TaskStore:
    """A copy of the previous release's data folder (the store migrates the copy, not it)."""
    shutil.copytree(FIXTURE, tmp_path / "source")
    return TaskStore.open(tmp_path / "source")


@pytest.fixture
def archive(source: TaskStore, tmp_path: Path) -> Path:
    out = tmp_path / "history.zip"
    report = export_history(source, out)
    assert (report.tasks, report.files, report.links, report.uploads) == (9, 18, 0, 1)
    assert report.missing == [] and report.workspaces == ["ws-fixture", "ws-other"]
    return out


def everything(store: TaskStore) -> dict[str, TaskRecord]:
    return {r.id: r for ws in store.workspaces() for r in store.list(ws, limit=None)}


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under a folder: (inode, mtime), to see that nothing was rewritten."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith("history.sqlite3"):
            info = path.stat()
            found[path.relative_to(folder).as_posix()] = (info.st_ino, info.st_mtime_ns)
    return found


def resumed(record: TaskRecord) -> dict:
    """The record's fields as an import stores them: a running task is due now."""
    fields = asdict(record)
    if record.id == RUNNING:
        fields["next_poll_at"] = NOW
    return fields


# ---------------------------------------------------------------------------- round trips


def test_a_round_trip_into_an_empty_folder_loses_nothing(source, archive, tmp_path):
    before = everything(source)
    target = TaskStore.open(tmp_path / "target")
    report = import_history(target, archive, now=NOW)
    assert (report.added, report.already, report.files_written) == (9, 0, 18)
    assert (report.uploads_written, report.missing, report.resumed) == (1, 0, 1)
    after = everything(target)
    assert sorted(after) == sorted(before) == [ID(n) for n in range(1, 10)]
    for record_id, record in before.items():
        assert asdict(after[record_id]) == resumed(record), record_id
    for record in after.values():
        for rel in record.files + record.thumbs:
            assert target.abspath(rel).read_bytes() == source.abspath(rel).read_bytes(), rel
    assert [c.id for c in target.children(ID(1))] == [ID(2)]  # lineage: vary of the first
    assert [c.id for c in target.children(ID(2))] == [ID(3)]  # upscale of the vary
    queued = after[ID(4)]
    assert queued.state is RecordState.QUEUED and queued.next_poll_at is None
    sendable = restore_data_urls(queued.request, UploadRegistry(target.data_dir))
    assert sendable["input"]["image_urls"][0].startswith("data:image/png;base64,")
    assert target.upload_tokens() == source.upload_tokens() != set()


def test_the_archive_holds_every_field_and_a_manifest(source, archive):
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read(MANIFEST))
        lines = zf.read(TASKS).decode().splitlines()
        kinds = {info.filename: info.compress_type for info in zf.infolist()}
    assert manifest["format"] == FORMAT and manifest["version"] == VERSION
    assert manifest["workspaces"] == ["ws-fixture", "ws-other"] and manifest["exported_at"]
    assert manifest["counts"] == {"tasks": 9, "files": 18, "links": 0, "uploads": 1, "missing": 0}
    exported = {task["id"]: task for task in map(json.loads, lines)}
    for record_id, record in everything(source).items():
        assert exported[record_id] == json.loads(json.dumps(asdict(record)))
    assert kinds[TASKS] == zipfile.ZIP_DEFLATED
    assert kinds[f"results/ws-fixture/{ID(1)}/1.png"] == zipfile.ZIP_STORED
    assert [name for name in kinds if name.startswith("uploads/")] == [
        "uploads/4l6XW6w8KDDf9a95AYDGcsZzpNPMujrU.png"
    ]


def test_importing_twice_adds_nothing(archive, tmp_path):
    target = TaskStore.open(tmp_path / "target")
    import_history(target, archive, now=NOW)
    stored, files = everything(target), tree(target.data_dir)
    again = import_history(target, archive, now=NOW + 500)
    assert (again.added, again.already, again.files_written, again.uploads_written) == (0, 9, 0, 0)
    assert again.resumed == 0
    assert everything(target) == stored  # not even the running task's next poll moved
    assert tree(target.data_dir) == files  # no file rewritten


def test_importing_into_its_own_folder_adds_nothing(source, archive):
    files = tree(source.data_dir)
    report = import_history(source, archive, now=NOW)
    assert (report.added, report.already, report.files_written) == (0, 9, 0)
    assert tree(source.data_dir) == files


def test_another_workspace_gets_remapped_ids_and_parents(source, archive, tmp_path):
    before = everything(source)
    target = TaskStore.open(tmp_path / "target")
    report = import_history(target, archive, "ws-team", now=NOW)
    assert (report.added, report.files_written, report.workspaces) == (9, 18, ["ws-team"])
    assert target.workspaces() == ["ws-team"]
    new = {old: target.get(remap_id("ws-team", old)) for old in before}
    assert all(record is not None for record in new.values())
    assert not set(before) & {record.id for record in new.values()}
    assert new[ID(2)].parent_id == new[ID(1)].id and new[ID(3)].parent_id == new[ID(2)].id
    assert [c.id for c in target.children(new[ID(1)].id)] == [new[ID(2)].id]
    for old_id, old in before.items():
        record = new[old_id]
        folder = f"results/ws-team/{record.id}/"
        for name in PATHS:
            assert [folder + p.rsplit("/", 1)[1] for p in getattr(old, name)] == getattr(
                record, name
            )
            for was, now in zip(getattr(old, name), getattr(record, name), strict=True):
                assert target.abspath(now).read_bytes() == source.abspath(was).read_bytes()
        unchanged = {
            k: v
            for k, v in resumed(old).items()
            if k not in {"id", "workspace", "parent_id", *PATHS}
        }
        assert {k: v for k, v in asdict(record).items() if k in unchanged} == unchanged
    again = import_history(target, archive, "ws-team", now=NOW)
    assert (again.added, again.already, again.files_written) == (0, 9, 0)
    assert len(everything(target)) == 9


def test_another_workspace_of_the_same_folder_keeps_the_originals(source, archive):
    before = everything(source)
    report = import_history(source, archive, "ws-team", now=NOW)
    assert (report.added, report.already) == (9, 0)
    assert {k: v for k, v in everything(source).items() if k in before} == before
    assert len(source.list("ws-team", limit=None)) == 9


def test_hard_linked_files_are_stored_once_and_linked_again(tmp_path):
    """A synthetic history links four images into every task: the zip holds them once."""
    workspace = fill(tmp_path / "synthetic", 3, workspace="ws-synthetic")
    source = TaskStore.open(tmp_path / "synthetic")
    report = export_history(source, tmp_path / "s.zip")
    assert (report.tasks, report.files, report.links) == (3, 8, 16)
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        assert len([n for n in zf.namelist() if n.startswith("results/")]) == 8
    for into in (None, "ws-copy"):
        target = TaskStore.open(tmp_path / "target")
        done = import_history(target, tmp_path / "s.zip", into, now=NOW)
        assert (done.added, done.files_written, done.missing) == (3, 24, 0)
        copies = target.list(into or workspace, limit=None)
        originals = source.list(workspace, limit=None)
        for copy, original in zip(copies, originals, strict=True):
            pairs = zip(copy.files + copy.thumbs, original.files + original.thumbs, strict=True)
            for rel, was in pairs:
                path = target.abspath(rel)
                assert path.read_bytes() == source.abspath(was).read_bytes()
                assert path.stat().st_nlink >= 3  # linked again, not copied three times


def test_an_export_never_reads_outside_and_lists_what_is_gone(source, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for the zip")
    first = source.get(ID(1))
    linked, gone = source.abspath(first.files[0]), source.abspath(first.files[1])
    linked.unlink()
    linked.symlink_to(secret)
    gone.unlink()
    report = export_history(source, tmp_path / "h.zip")
    assert report.missing == first.files[:2] and report.files == 16
    with zipfile.ZipFile(tmp_path / "h.zip") as zf:
        assert all(zf.read(name) != secret.read_bytes() for name in zf.namelist())
        assert json.loads(zf.read(MANIFEST))["missing"] == first.files[:2]
    target = TaskStore.open(tmp_path / "target")
    done = import_history(target, tmp_path / "h.zip", now=NOW)
    assert (done.added, done.files_written, done.missing) == (9, 16, 2)
    assert target.get(ID(1)).files == first.files  # the record itself loses nothing


# ---------------------------------------------------------------------------- resuming


def test_running_tasks_resume_and_a_create_in_flight_is_never_resent(tmp_path):
    source = TaskStore.open(tmp_path / "source")
    request = build_request("text-to-image", prompt="a fox").to_api()
    far = time.time() + 3600  # exported while its next poll was an hour away
    made = {
        "processing": dict(task_id="t-1", state=RecordState.PROCESSING, next_poll_at=far),
        "pending": dict(task_id="t-2", state=RecordState.PENDING, next_poll_at=far),
        "to download": dict(task_id="t-3", state=RecordState.SUCCESS, result_urls=["u"]),
        "creating": dict(state=RecordState.CREATING),
        "queued": dict(state=RecordState.QUEUED),
        "unknown": dict(state=RecordState.UNKNOWN, error="dropped"),
        "done": dict(task_id="t-4", state=RecordState.SUCCESS, downloaded=True, finished_at=2.0),
    }
    ids = {name: source.add(TaskRecord.new("ws-a", request, **f)).id for name, f in made.items()}
    export_history(source, tmp_path / "h.zip")
    target = TaskStore.open(tmp_path / "target")
    now = time.time()
    report = import_history(target, tmp_path / "h.zip", now=now)
    assert report.resumed == 3
    due = {record.id for record in target.due(now=now)}
    assert due == {ids["processing"], ids["pending"], ids["to download"]}
    for name in ("processing", "pending", "to download"):
        assert target.get(ids[name]).next_poll_at == now
    creating = target.get(ids["creating"])
    assert creating.state is RecordState.UNKNOWN and creating.error == RESUMED_WHILE_SENDING
    assert target.get(ids["queued"]).state is RecordState.QUEUED
    assert target.get(ids["unknown"]).state is RecordState.UNKNOWN
    assert target.get(ids["done"]).next_poll_at is None


def test_a_running_studio_finishes_an_imported_task(tmp_path):
    """The import of a task still processing at the provider; the tracker polls and downloads."""
    key = "archive-test-key"
    settings = SandboxSettings(api_key=key, latency_s=0.4, data_dir=tmp_path / "provider")
    with running_sandbox(settings) as url:
        conn = Connection(base_url=url, api_key=key, poll=(0.1, 0.1))
        request = build_request("text-to-image", prompt="a fox in the snow")
        with conn.client() as client:
            task_id = client.create(request)
        source = TaskStore.open(tmp_path / "source")
        record = TaskRecord.new(
            conn.workspace,
            request.to_api(),
            task_id=task_id,
            state=RecordState.PROCESSING,
            submitted_at=time.time(),
            next_poll_at=time.time() + 3600,  # exported an hour before its next poll
        )
        source.add(record)
        export_history(source, tmp_path / "h.zip")
        target = TaskStore.open(tmp_path / "target")
        tracker = Tracker(target)
        try:
            tracker.start()
            tracker.register(conn)  # the studio already runs with this key
            assert import_history(target, tmp_path / "h.zip").resumed == 1
            done = wait_for(
                lambda: (found := target.get(record.id)) is not None and found.is_done and found,
                timeout=20,
                message=lambda: f"record {target.get(record.id)}",
            )
        finally:
            tracker.stop()
    assert len(done.files) == 4 and all(target.abspath(rel).is_file() for rel in done.files)
