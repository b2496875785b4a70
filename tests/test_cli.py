"""The command line, run as a designer runs it: ``python -m mjstudio history export|import``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mjstudio.tasks.store import TaskStore

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "datafolder-v2"


def studio_cli(*args: str, data_dir: Path | None, home: Path) -> subprocess.CompletedProcess:
    """Run ``python -m mjstudio`` from the repository, its data folder set by the environment."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONPATH": str(REPO)}
    if data_dir is not None:
        env["MJSTUDIO_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "mjstudio", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "source")
    return tmp_path / "source"


def test_export_then_import_twice_through_the_environment(source, tmp_path):
    out = tmp_path / "backup.zip"
    done = studio_cli("history", "export", "--out", str(out), data_dir=source, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Exported 9 tasks from 2 workspace(s)" in done.stdout and "18 images" in done.stdout
    assert zipfile.is_zipfile(out)
    target = tmp_path / "team"
    first = studio_cli("history", "import", str(out), data_dir=target, home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "9 tasks added, 0 already there, 18 files written, 1 uploads written" in first.stdout
    assert "1 running tasks resume" in first.stdout
    again = studio_cli("history", "import", str(out), data_dir=target, home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 tasks added, 9 already there, 0 files written, 0 uploads written" in again.stdout
    assert TaskStore.open(target).workspaces() == ["ws-fixture", "ws-other"]


def test_flags_choose_the_folder_and_the_workspace(source, tmp_path):
    out = tmp_path / "one.zip"
    args = ("--data-dir", str(source), "--workspace", "ws-other")
    done = studio_cli("history", "export", "--out", str(out), *args, data_dir=None, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Exported 1 tasks from 1 workspace(s)" in done.stdout
    target = tmp_path / "team"
    args = ("--data-dir", str(target), "--workspace", "ws-team")
    done = studio_cli(
        "history", "import", str(out), *args, data_dir=tmp_path / "not-this", home=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "1 tasks added" in done.stdout
    assert TaskStore.open(target).workspaces() == ["ws-team"]
    assert not (tmp_path / "not-this").exists()


def test_the_default_folder_is_the_studios(source, tmp_path):
    """No flag, no MJSTUDIO_DATA_DIR: the studio's own default under the home folder."""
    home = tmp_path / "home"
    default = home / ".local" / "share" / "mjstudio"
    shutil.copytree(source, default)
    out = tmp_path / "default.zip"
    done = studio_cli("history", "export", "--out", str(out), data_dir=None, home=home)
    assert done.returncode == 0, done.stderr
    assert "Exported 9 tasks" in done.stdout


def test_a_hostile_zip_is_refused_plainly(tmp_path):
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(hostile, "w") as zf:
        zf.writestr("manifest.json", '{"format": "mjstudio-history", "version": 1}')
        zf.writestr("tasks.jsonl", "")
        zf.writestr("../escaped.png", b"x")
    target = tmp_path / "target"
    done = studio_cli("history", "import", str(hostile), data_dir=target, home=tmp_path)
    assert done.returncode == 1
    assert "Refused" in done.stderr and "unexpected entry '../escaped.png'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "escaped.png").exists()


def test_missing_inputs_are_said_plainly(tmp_path):
    missing = tmp_path / "nothing-here"
    done = studio_cli(
        "history", "export", "--out", str(tmp_path / "x.zip"), data_dir=missing, home=tmp_path
    )
    assert done.returncode == 1 and "there is no history in" in done.stderr
    assert not missing.exists() and not (tmp_path / "x.zip").exists()
    done = studio_cli("history", "import", str(tmp_path / "x.zip"), data_dir=missing, home=tmp_path)
    assert done.returncode == 1 and "there is no file" in done.stderr
    assert "Traceback" not in done.stderr and not missing.exists()
