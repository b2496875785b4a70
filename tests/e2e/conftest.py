"""Real-browser fixtures: free ports, sandbox and studio subprocesses, a Chromium page.

Every process a test starts runs in its own process group and is killed at teardown; its
output goes to a log file in the test's tmp folder, and the logs' tails are added to the report
of a failing test (with a screenshot of the page saved beside them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEALTH_PATH = "/api/mjstudio/health"
START_TIMEOUT_S = 60.0
LOG_TAIL_CHARS = 6000
LOGS = pytest.StashKey[list[Path]]()
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


# --------------------------------------------------------------------------- collection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder e2e; skip them only off CI when Chromium is missing."""
    skip = None
    if not CHROMIUM.exists() and os.environ.get("CI") != "true":
        skip = pytest.mark.skip(
            reason=f"Debian Chromium is not installed at {CHROMIUM} (apt-get install chromium); "
            "browser tests are skipped outside CI (with CI=true they run and fail)"
        )
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            if skip:
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Keep each phase's report on the item; add the process logs to a failing phase."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    if report.failed:
        for log in item.stash.get(LOGS, []):
            report.sections.append((f"log {log.name}", _tail(log)))
    return report


def _failed(node: pytest.Item) -> bool:
    reports = node.stash.get(REPORTS, {})
    return any(r.failed for r in reports.values())


def _tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return text if len(text) <= chars else "…" + text[-chars:]


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def port() -> int:
    """A free loopback port."""
    return free_port()


@dataclass
class Proc:
    """A subprocess started by a test, in its own process group, logging to a file."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group (a crash: nothing gets to clean up) and reap it."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
        self.kill()

    def fail(self, why: str) -> None:
        """Fail the test with the process's log tail."""
        pytest.fail(f"{self.name}: {why}\n--- {self.log} ---\n{_tail(self.log)}", pytrace=False)


class Launcher:
    """Starts subprocesses for one test and kills every one of them at teardown."""

    def __init__(self, folder: Path, node: pytest.Item) -> None:
        self.folder = folder
        self.node = node
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        """Start ``argv`` in the repository root with exactly ``env`` added to a clean base."""
        log = self.folder / f"{len(self.procs) + 1:02d}-{name}.log"
        out = log.open("wb")
        popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=_base_env() | env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        self.node.stash.setdefault(LOGS, []).append(log)
        return proc

    def close(self) -> None:
        """Kill whatever is still running."""
        for proc in reversed(self.procs):
            proc.stop(timeout=3.0)


def _base_env() -> dict[str, str]:
    """The environment of a child: ours without any provider or studio settings."""
    drop = ("MJ_", "MJSTUDIO_", "STREAMLIT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def launcher(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Launcher]:
    """Start processes for this test; all are killed at teardown, logs kept in tmp_path."""
    logs = tmp_path / "logs"
    logs.mkdir()
    launch = Launcher(logs, request.node)
    yield launch
    launch.close()
    if _failed(request.node):
        print(f"\nprocess logs kept in {logs}")


def _wait(what: str, ready: Callable[[], bool], proc: Proc, timeout: float) -> None:
    def up() -> bool:
        if not proc.alive:
            proc.fail(f"exited with {proc.popen.returncode} before {what}")
        return ready()

    try:
        wait_for(up, timeout=timeout, interval=0.2, message=f"not {what}")
    except AssertionError as timed_out:
        proc.fail(str(timed_out))  # with the process's log tail


# --------------------------------------------------------------------------- sandbox


@dataclass
class Sandbox:
    """A standalone sandbox provider process."""

    url: str
    api_key: str
    data_dir: Path
    proc: Proc

    def task_files(self) -> list[Path]:
        """The sandbox's record of every task it created (one JSON file each)."""
        return sorted((self.data_dir / "tasks").glob("*.json"))


@pytest.fixture
def start_sandbox(launcher: Launcher) -> Callable[..., Sandbox]:
    """Start ``python -m mjstudio.sandbox`` on a free port; returns when it accepts requests."""

    def start(api_key: str, data_dir: Path, *, latency: float = 6.0) -> Sandbox:
        port = free_port()
        argv = [sys.executable, "-m", "mjstudio.sandbox", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--api-key", api_key, "--latency", str(latency)]
        argv += ["--data-dir", str(data_dir)]
        proc = launcher.start("sandbox", argv, {})
        _wait("ready", lambda: "sandbox ready at" in _tail(proc.log), proc, START_TIMEOUT_S)
        return Sandbox(f"http://127.0.0.1:{port}", api_key, data_dir, proc)

    return start


# --------------------------------------------------------------------------- studio


@dataclass
class Studio:
    """A `streamlit run app.py` process."""

    url: str
    data_dir: Path
    proc: Proc
    env: dict[str, str] = field(default_factory=dict)


def _healthy(url: str) -> bool:
    try:
        answer = httpx.get(url + HEALTH_PATH, timeout=2.0)
        return answer.status_code == 200 and answer.json().get("tracker") is True
    except (httpx.HTTPError, ValueError):
        return False


@pytest.fixture
def start_studio(launcher: Launcher) -> Callable[..., Studio]:
    """Start the studio on a free port with a data folder and extra env; waits for health."""

    def start(data_dir: Path, env: dict[str, str] | None = None) -> Studio:
        port = free_port()
        argv = [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py"]
        if not Path(argv[0]).exists():
            argv[0:1] = [sys.executable, "-m", "streamlit"]
        argv += ["--server.headless", "true", "--server.address", "127.0.0.1"]
        argv += ["--server.port", str(port), "--browser.gatherUsageStats", "false"]
        extra = {"MJSTUDIO_DATA_DIR": str(data_dir), **(env or {})}
        proc = launcher.start("studio", argv, extra)
        url = f"http://127.0.0.1:{port}"
        _wait("healthy", lambda: _healthy(url), proc, START_TIMEOUT_S)
        return Studio(url, data_dir, proc, extra)

    return start


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by one test module.

    Not by the session: sync Playwright keeps its event loop on the main thread, and the
    AppTest and sandbox tests that run after the e2e folder use asyncio there too; a browser
    kept open across them hung at the session's end.
    """
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(
    browser: Browser, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Page]]:
    """Open pages in fresh browser contexts (no shared session); all closed at teardown."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    failed = _failed(request.node)
    for number, context in enumerate(contexts):
        for page in context.pages:
            if failed and not page.is_closed():
                shot = tmp_path / f"failure-{number}.png"
                try:
                    page.screenshot(path=str(shot), timeout=5_000)
                    print(f"\nscreenshot: {shot}")
                except Exception as exc:  # noqa: BLE001 - best effort only
                    print(f"\nno screenshot: {exc}")
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """A page in a fresh browser context."""
    return new_page()


# The page's text and markup including open shadow roots (a board row is drawn in one, and
# innerText and page.content() do not look inside them).
_SHADOWED = """(what) => {
    const parts = [what === "text" ? document.body.innerText : document.documentElement.outerHTML];
    const visit = (root) => {
        for (const node of root.querySelectorAll("*")) {
            if (!node.shadowRoot) continue;
            for (const child of node.shadowRoot.children) {
                const text = child.innerText ?? child.textContent;
                parts.push(what === "text" ? text : child.outerHTML);
            }
            visit(node.shadowRoot);
        }
    };
    visit(document);
    return parts.join("\\n");
}"""


def page_text(page: Page) -> str:
    """What the page shows as text, board rows included."""
    return page.evaluate(_SHADOWED, "text")


def page_markup(page: Page) -> str:
    """The page's markup, board rows' included."""
    return page.evaluate(_SHADOWED, "markup")
