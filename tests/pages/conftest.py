"""AppTest fixtures: a fresh data folder per test; the embedded sandbox serves from a thread."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from components import services
from components.plain import WORD_JOINER
from components.sitemap import PAGES
from mjstudio.server import embedded
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = {p.script.removeprefix("pages/").removesuffix(".py"): p.script for p in PAGES}
LATER = 3600.0  # a built record is not due before then: the tracker leaves it as built


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """An empty data folder, no API key: the studio runs on its embedded sandbox."""
    for name in ("MJ_API_KEY", "MJ_BASE_URL", "MJSTUDIO_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MJSTUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MJSTUDIO_SANDBOX_LATENCY", "0.5")
    services.settings.clear()  # the settings are read once per process: read them anew
    yield tmp_path
    services.settings.clear()
    Studio.forget(tmp_path)


def open_page(
    page: str | None = None, *, secrets: dict | None = None, user: dict | None = None
) -> AppTest:
    """Run frame.py once (optionally on one page), with these secrets and ``st.user``."""
    at = AppTest.from_file(str(ROOT / "frame.py"), default_timeout=30)
    at.secrets.update(secrets or {})
    if user is not None:
        at.user = user
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(data_dir) -> Callable[[str | None], AppTest]:
    """Open the studio (optionally on one page) and run it once."""
    return open_page


@pytest.fixture
def framed(monkeypatch) -> None:
    """Run every page inside frame.py, as the server does (app.py says it uses no pages folder).

    AppTest otherwise sees the ``pages/`` folder and runs a switched-to page bare, without the
    frame's banners and guards.
    """
    original = PagesManager.__init__

    def without_pages_folder(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", without_pages_folder)


@pytest.fixture
def store(data_dir) -> TaskStore:
    """The store the app writes to."""
    return TaskStore.open(data_dir)


def wait_done(store: TaskStore, timeout: float = 30.0) -> list[TaskRecord]:
    """Wait until every stored task is final and downloaded; returns them (newest first)."""

    def stored() -> list[TaskRecord]:
        return [r for ws in store.workspaces() for r in store.list(ws, limit=None)]

    def done() -> list[TaskRecord] | None:
        records = stored()
        finished = all(r.is_final and (r.downloaded or r.state != "success") for r in records)
        return records if records and finished else None

    return wait_for(
        done,
        timeout=timeout,
        interval=0.1,
        message=lambda: f"tasks not finished: {[(r.mode, r.state) for r in stored()]}",
    )


def shown_text(markdown: str) -> str:
    """What a Markdown value escaped with components.plain reads as on the page."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


@pytest.fixture
def workspace(data_dir) -> str:
    """The workspace the pages show (the embedded sandbox's)."""
    return embedded.connection(services.settings()).workspace


def add_task(store: TaskStore, workspace: str, prompt: str = "a red fox", **fields) -> TaskRecord:
    """Store a task as the tracker would have left it; it is not due for a long while."""
    mode = fields.pop("mode", "text-to-image")
    request = {"input": {"mode": mode, "prompt": prompt, "version": "v6.1", "speed": "fast"}}
    fields.setdefault("next_poll_at", time.time() + LATER)
    fields.setdefault("expected_s", 40.0)
    return store.add(TaskRecord.new(workspace, request, **fields))


def with_files(store: TaskStore, record: TaskRecord, present: int) -> TaskRecord:
    """Give a succeeded record four result files of which only the first ``present`` exist."""
    folder = store.results_dir(record)
    folder.mkdir(parents=True, exist_ok=True)
    files, thumbs = [], []
    for i in range(1, 5):
        file, thumb = folder / f"{i}.png", folder / f"{i}.thumb.webp"
        if i <= present:
            Image.new("RGB", (8, 8), "red").save(file)
            Image.new("RGB", (4, 4), "red").save(thumb)
        files.append(store.relpath(file))
        thumbs.append(store.relpath(thumb))
    return store.update(record.id, files=files, thumbs=thumbs, downloaded=True)


def button(at: AppTest, label: str):
    """The first button with this label."""
    return next(b for b in at.button if b.label == label)
