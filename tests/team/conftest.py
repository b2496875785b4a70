"""Team fixtures: a counting provider and several studio servers on one database and one folder.

The servers share ``MJSTUDIO_DATA_DIR`` and ``MJSTUDIO_DATABASE_URL`` (a fresh PostgreSQL
database from the root fixture ``pg_database_url``), talk to one counting provider
(``tests.team.provider``) and spend one request budget (``MJ_RATE_LIMIT``). Processes, logs,
the browser and pages come from the browser tests' conftest: each process runs in its own
process group, is killed at teardown, and its log tail is added to a failing test's report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from tests.e2e.conftest import (
    CHROMIUM,
    HEALTH_PATH,
    ROOT,
    START_TIMEOUT_S,
    Launcher,
    Proc,
    _tail,
    _wait,
    free_port,
)

# The browser tests' fixtures under their own names, and their hook that adds the processes'
# logs to a failing test's report.
from tests.e2e.conftest import browser as browser
from tests.e2e.conftest import launcher as launcher
from tests.e2e.conftest import new_page as new_page
from tests.e2e.conftest import pytest_runtest_makereport as pytest_runtest_makereport
from tests.team.provider import READY, Request, read_log

HERE = Path(__file__).resolve().parent
API_KEY = "team-key"
# MJ_RATE_LIMIT: creates and status calls of all servers together. The 30 tasks need about 30
# creates and 30 to 60 status calls; unthrottled, up to 80 of them fall in one minute, so a
# server that kept its own budget of 60 would break the shared one, and 60 still lets the
# test finish in time (a single tracker at this budget: its busiest minute had 50).
BUDGET_PER_MINUTE = 60
ROUND_TRIP_S = 2.0  # the provider answers every request this long after it arrived
TASK_S = 25.0  # a task finishes this long after the provider created it
TASK_COLUMNS = "prompt, task_id, state, downloaded, files"
TEAM_START_S = 90.0  # several servers start at once on two cores


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the team tests only off CI when Chromium is missing (as the browser tests do)."""
    if CHROMIUM.exists() or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason=f"Debian Chromium is not installed at {CHROMIUM}")
    for item in items:
        if HERE in Path(item.path).resolve().parents and item.get_closest_marker("team"):
            item.add_marker(skip)


# --------------------------------------------------------------------------- provider


@dataclass
class CountingProvider:
    """The counting provider process and its request log."""

    url: str
    api_key: str
    log: Path
    proc: Proc

    def requests(self, kind: str | None = None) -> list[Request]:
        """The requests answered so far (of one kind), in the order they were answered."""
        answered = [r for r in read_log(self.log) if r.done is not None]
        return [r for r in answered if kind is None or r.kind == kind]

    def in_flight(self) -> list[Request]:
        """The requests that arrived and are not answered yet."""
        lines = read_log(self.log)
        answered = {r.n for r in lines if r.done is not None}
        return [r for r in lines if r.done is None and r.n not in answered]


@pytest.fixture
def start_provider(launcher: Launcher, tmp_path: Path) -> Callable[..., CountingProvider]:
    """Start ``python -m tests.team.provider`` on a free port; returns when it accepts requests."""

    def start(delay_s: float = ROUND_TRIP_S, task_s: float = TASK_S) -> CountingProvider:
        port, log = free_port(), tmp_path / "provider-requests.jsonl"
        argv = [sys.executable, "-m", "tests.team.provider", "--port", str(port)]
        argv += ["--api-key", API_KEY, "--log", str(log)]
        argv += ["--data-dir", str(tmp_path / "provider")]
        argv += ["--delay", str(delay_s), "--task-s", str(task_s)]
        proc = launcher.start("provider", argv, {})
        _wait("ready", lambda: READY in _tail(proc.log), proc, START_TIMEOUT_S)
        return CountingProvider(f"http://127.0.0.1:{port}", API_KEY, log, proc)

    return start


@pytest.fixture
def provider(start_provider: Callable[..., CountingProvider]) -> CountingProvider:
    """The counting provider of the team test: 2 s round trips, 25 s tasks."""
    return start_provider()


# --------------------------------------------------------------------------- database


@pytest.fixture
def team_db(pg_database_url: str) -> Iterator[Engine]:
    """An engine on the servers' database, for reading what they stored (no pooled links)."""
    engine = create_engine(pg_database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def stored_tasks(engine: Engine) -> list[dict]:
    """Every stored task as ``{prompt, task_id, state, downloaded, files}``."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {TASK_COLUMNS} FROM tasks")).mappings().all()
    return [dict(row) for row in rows]


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """One `streamlit run app.py` process of the team."""

    number: int
    url: str
    proc: Proc

    def health(self) -> dict | None:
        """The health route's answer, or None while it does not answer."""
        try:
            answer = httpx.get(self.url + HEALTH_PATH, timeout=2.0)
            return answer.json() if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None


@dataclass
class Team:
    """The servers of one test, their shared data folder, and the provider."""

    servers: list[Server]
    data_dir: Path
    provider: CountingProvider


def _streamlit(port: int) -> list[str]:
    argv = [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py"]
    if not Path(argv[0]).exists():
        argv[0:1] = [sys.executable, "-m", "streamlit"]
    argv += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    return argv + ["--server.port", str(port), "--browser.gatherUsageStats", "false"]


@pytest.fixture
def start_team(
    launcher: Launcher, provider: CountingProvider, pg_database_url: str, tmp_path: Path
) -> Callable[[int], Team]:
    """Start N servers at once on one data folder and database; returns once all answer."""

    def start(count: int) -> Team:
        data_dir = tmp_path / "data"
        env = {
            "MJSTUDIO_DATA_DIR": str(data_dir),
            "MJSTUDIO_DATABASE_URL": pg_database_url,
            "MJ_API_KEY": provider.api_key,
            "MJ_BASE_URL": provider.url,
            "MJ_RATE_LIMIT": str(BUDGET_PER_MINUTE),
        }
        servers = []
        for number in range(1, count + 1):
            port = free_port()
            proc = launcher.start(f"studio{number}", _streamlit(port), env)
            servers.append(Server(number, f"http://127.0.0.1:{port}", proc))
        for server in servers:
            _wait("answering", lambda s=server: s.health() is not None, server.proc, TEAM_START_S)
        return Team(servers, data_dir, provider)

    return start
