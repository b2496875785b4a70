"""Fixtures of the task tests: a store on each backend, a sandbox provider, fast retries, a Studio.

``store`` runs a test once on SQLite and once on PostgreSQL (a fresh database of the suite's
server): the store's own tests are one suite over both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mjstudio.sandbox import SandboxSettings
from mjstudio.tasks import downloads
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import DB_NAME, TaskStore
from tests.sandbox.server import running_sandbox
from tests.tasks.faultkit import KEY, settings_for

BACKENDS = ("sqlite", "postgresql")


def open_store(request: pytest.FixtureRequest, folder: Path, backend: str) -> TaskStore:
    """A new store on ``backend`` whose data folder is ``folder``."""
    if backend == "sqlite":
        return TaskStore(folder / DB_NAME)
    return TaskStore.open(folder, request.getfixturevalue("pg_database_url"))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    """An empty store, on SQLite and on PostgreSQL."""
    made = open_store(request, tmp_path, request.param)
    yield made
    made.close()


@pytest.fixture
def sandbox(tmp_path):
    settings = SandboxSettings(api_key=KEY, latency_s=0.4, data_dir=tmp_path / "provider")
    with running_sandbox(settings) as url:
        yield url


@pytest.fixture
def fast_retries(monkeypatch):
    """Download retries after 0.05 s, 0.1 s ... and a give-up after three attempts."""
    monkeypatch.setattr(downloads, "BACKOFF_S", 0.05)
    monkeypatch.setattr(downloads, "BACKOFF_FACTOR", 2.0)
    monkeypatch.setattr(downloads, "MAX_ATTEMPTS", 3)


@pytest.fixture
def studio(tmp_path, fast_retries):
    made = Studio(settings_for(tmp_path / "data"))
    yield made
    made.tracker.stop()
