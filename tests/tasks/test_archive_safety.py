"""History import of hostile archives: refused before anything is written, never outside."""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from mjstudio.tasks.archive import ArchiveRefused, export_history, import_history
from mjstudio.tasks.archive_checks import FORMAT, MANIFEST, TASKS, VERSION
from mjstudio.tasks.store import TaskStore

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datafolder-v2"
NOW = 1_900_000_000.0


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An export of a copy of the previous release's data folder."""
    shutil.copytree(FIXTURE, tmp_path / "source")
    export_history(TaskStore.open(tmp_path / "source"), tmp_path / "history.zip")
    return tmp_path / "history.zip"


def write_zip(path: Path, entries: dict, tasks: list[dict] | None = None) -> Path:
    """A zip that claims to be an export: a manifest, task lines and these entries."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(MANIFEST, json.dumps({"format": FORMAT, "version": VERSION}))
        zf.writestr(TASKS, "\n".join(json.dumps(task) for task in tasks or []))
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def task(**fields) -> dict:
    base = {"id": "t1", "workspace": "ws-a", "mode": "text-to-image", "created_at": 1.0}
    return base | fields


def symlink_entry(target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("results/ws-a/t1/1.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def deflated(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def declaring(path: Path, name: str, size: int) -> Path:
    """Rewrite the central directory so that an entry declares ``size`` bytes (a zip bomb)."""
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46 : at + 46 + length] == name.encode():
            struct.pack_into("<I", raw, at + 24, size)
            break
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))
    return path


HOSTILE = {
    "a ../ entry": lambda tmp: write_zip(tmp / "h.zip", {"../outside.png": b"x"}),
    "a ../ inside results": lambda tmp: write_zip(
        tmp / "h.zip", {"results/../../outside.png": b"x"}
    ),
    "an absolute entry": lambda tmp: write_zip(tmp / "h.zip", {str(tmp / "outside.png"): b"x"}),
    "a backslash entry": lambda tmp: write_zip(
        tmp / "h.zip", {"results\\..\\..\\outside.png": b"x"}
    ),
    "an entry of another kind": lambda tmp: write_zip(tmp / "h.zip", {"run.sh": b"rm -rf /"}),
    "a symlink entry": lambda tmp: write_zip(
        tmp / "h.zip", {symlink_entry(str(tmp / "outside.png")): str(tmp / "outside.png")}
    ),
    "a huge declared size": lambda tmp: declaring(
        write_zip(tmp / "h.zip", {"results/ws-a/t1/1.png": b"small"}),
        "results/ws-a/t1/1.png",
        2**32 - 2,
    ),
    "an entry that inflates past its size": lambda tmp: declaring(
        write_zip(
            tmp / "h.zip",
            {deflated("results/ws-a/t1/1.png"): bytes(20_000_000)},
            [task(files=["results/ws-a/t1/1.png"])],
        ),
        "results/ws-a/t1/1.png",
        5,
    ),
    "a task whose file is outside": lambda tmp: write_zip(
        tmp / "h.zip", {}, [task(files=["results/../../outside.png"])]
    ),
    "a task whose file is absolute": lambda tmp: write_zip(
        tmp / "h.zip", {}, [task(files=[str(tmp / "outside.png")])]
    ),
    "a task that claims another task's file": lambda tmp: write_zip(
        tmp / "h.zip", {"results/ws-a/t0/1.png": b"x"}, [task(files=["results/ws-a/t0/1.png"])]
    ),
    "a task whose workspace climbs": lambda tmp: write_zip(
        tmp / "h.zip", {}, [task(workspace="..")]
    ),
    "a task whose id climbs": lambda tmp: write_zip(tmp / "h.zip", {}, [task(id="../../x")]),
    "a task of wrong types": lambda tmp: write_zip(tmp / "h.zip", {}, [task(files="results/a")]),
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_zip_is_refused_and_writes_nothing(make, tmp_path):
    target = TaskStore.open(tmp_path / "target")
    hostile = make(tmp_path)
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(ArchiveRefused):
        import_history(target, hostile, now=NOW)
    assert not (tmp_path / "outside.png").exists()
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written anywhere
    assert target.workspaces() == []


def test_an_entry_above_the_size_limit_is_refused(archive, tmp_path):
    target = TaskStore.open(tmp_path / "target")
    with pytest.raises(ArchiveRefused, match="too large"):
        import_history(target, archive, max_file_bytes=100)
    assert target.workspaces() == [] and not (target.data_dir / "results").exists()


def test_a_newer_version_is_refused(tmp_path):
    hostile = tmp_path / "newer.zip"
    with zipfile.ZipFile(hostile, "w") as zf:
        zf.writestr(MANIFEST, json.dumps({"format": FORMAT, "version": VERSION + 1}))
        zf.writestr(TASKS, "")
    with pytest.raises(ArchiveRefused, match="version"):
        import_history(TaskStore.open(tmp_path / "target"), hostile)


def test_a_results_folder_linked_outside_is_not_written_through(archive, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = TaskStore.open(tmp_path / "target")
    os.symlink(outside, target.data_dir / "results")
    with pytest.raises(ArchiveRefused, match="lies outside the data folder"):
        import_history(target, archive, now=NOW)
    assert list(outside.iterdir()) == []


def test_a_bad_entry_midway_leaves_no_file_without_its_task(tmp_path):
    good = "results/ws-a/t1/1.png"
    bad = "results/ws-a/t2/1.png"
    tasks = [task(files=[good]), task(id="t2", files=[bad], created_at=2.0)]
    hostile = declaring(
        write_zip(tmp_path / "h.zip", {good: b"fine", deflated(bad): bytes(20_000_000)}, tasks),
        bad,
        5,
    )
    target = TaskStore.open(tmp_path / "target")
    with pytest.raises(ArchiveRefused, match="damaged"):
        import_history(target, hostile, now=NOW)
    assert [p for p in (target.data_dir / "results").rglob("*") if p.is_file()] == []
    assert target.workspaces() == []
