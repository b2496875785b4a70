"""AppTest fixtures: a fresh data folder per test; the embedded sandbox serves from a thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components import services
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def app(data_dir) -> Callable[[str | None], AppTest]:
    """Open the studio (optionally on one page) and run it once."""

    def open_page(page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "frame.py"), default_timeout=30)
        at.run()
        if page:
            at.switch_page(page)
            at.run()
        assert not at.exception, at.exception
        return at

    return open_page


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
