"""Start-up stays light: the server answers as soon as it listens, and the store, the tracker and
the page modules are made ready by its start-up thread (app.py), not by importing app.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT

HEAVY = (
    "sqlalchemy",
    "alembic",
    "mjstudio.tasks.store",
    "mjstudio.tasks.tracker",
    "numpy",
    "PIL.Image",
    "shapely",
    "components.feed",
    "pydantic",
    "httpx",
    "mjstudio.api.contract",
)


def loaded_after(code: str, data_dir: Path) -> list[str]:
    """The HEAVY modules loaded after running ``code`` in a fresh interpreter at the root."""
    found = f"[m for m in {HEAVY!r} if m in sys.modules]"
    probe = f"import sys, json\n{code}\nprint(json.dumps({found}))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MJ_", "MJSTUDIO_"))}
    env["MJSTUDIO_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_server_opens_no_store_and_loads_no_page_module(tmp_path):
    assert loaded_after("import app", tmp_path / "data") == []
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").glob("*.sqlite*"))


def test_the_start_up_thread_opens_the_store_and_warms_the_first_page(tmp_path):
    code = "import app\napp._start([])\napp._studio().forget(app.SETTINGS.folder)"
    loaded = loaded_after(code, tmp_path / "data")
    assert {"sqlalchemy", "mjstudio.tasks.store", "mjstudio.tasks.tracker"} <= set(loaded)
    assert {"components.feed", "PIL.Image", "numpy", "pydantic", "httpx"} <= set(loaded)
