"""What a started studio exposes: loopback only by default, and /sandbox only while it is the
provider. Each test starts `streamlit run app.py` as a subprocess (the e2e launcher's pieces),
without ``--server.address``, so the project's own .streamlit/config.toml decides the binding.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mjstudio.api.contract import CREATE_PATH, STATUS_PATH
from mjstudio.config import SANDBOX_PREFIX
from mjstudio.server.embedded import server_base
from tests.e2e.conftest import ROOT, START_TIMEOUT_S, Launcher, _healthy, _wait, free_port

SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
CONNECT_S = 3.0


@pytest.fixture
def launch(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Launcher]:
    """Processes of this test, killed at teardown."""
    logs = tmp_path / "logs"
    logs.mkdir()
    launcher = Launcher(logs, request.node)
    yield launcher
    launcher.close()


def start_studio(launch: Launcher, data: Path, env: dict[str, str], host: str) -> int:
    """`streamlit run app.py` on a free port, address from config or env; waits for health."""
    port = free_port()
    argv = [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py"]
    if not Path(argv[0]).exists():
        argv[0:1] = [sys.executable, "-m", "streamlit"]
    argv += ["--server.headless", "true", "--server.port", str(port)]
    argv += ["--browser.gatherUsageStats", "false"]
    proc = launch.start("studio", argv, {"MJSTUDIO_DATA_DIR": str(data), **env})
    _wait("healthy", lambda: _healthy(f"http://{host}:{port}"), proc, START_TIMEOUT_S)
    return port


def reachable(host: str, port: int) -> bool:
    """True when a TCP connection to host:port is accepted."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_S):
            return True
    except OSError:
        return False


def own_addresses() -> list[str]:
    """This machine's addresses that are not loopback (nor IPv6 link-local): Linux only."""
    import fcntl  # local: Linux only, like the test that uses it

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name[:15].encode())
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # no IPv4 address on this interface
            found.append(socket.inet_ntoa(answer[20:24]))
    try:
        lines = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        lines = []
    found += [str(ipaddress.IPv6Address(bytes.fromhex(line.split()[0]))) for line in lines]
    usable = [ipaddress.ip_address(a) for a in found]
    return [str(a) for a in usable if not (a.is_loopback or a.is_link_local)]


def test_the_project_config_binds_loopback():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


@pytest.mark.skipif(sys.platform != "linux", reason="lists addresses through Linux ioctls")
def test_a_started_studio_is_not_reachable_off_loopback(launch, tmp_path):
    port = start_studio(launch, tmp_path / "data", {}, "127.0.0.1")
    others = own_addresses()
    if not [a for a in others if ipaddress.ip_address(a).version == 4]:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    assert [a for a in others if reachable(a, port)] == []


def test_the_documented_setting_moves_the_address(launch, tmp_path):
    env = {"STREAMLIT_SERVER_ADDRESS": "127.0.0.2"}  # a loopback stand-in for 0.0.0.0
    port = start_studio(launch, tmp_path / "data", env, "127.0.0.2")
    assert not reachable("127.0.0.1", port)


def test_the_sandbox_is_mounted_only_while_it_is_the_provider(launch, tmp_path):
    keyed = {"MJ_API_KEY": "a-real-key", "MJ_BASE_URL": "http://127.0.0.1:9"}
    port = start_studio(launch, tmp_path / "keyed", keyed, "127.0.0.1")
    base = f"http://127.0.0.1:{port}{SANDBOX_PREFIX}"
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get(STATUS_PATH, params={"taskId": "x"}).status_code == 404
        assert http.post(CREATE_PATH, json={}).status_code == 404
        assert http.get("/files/token/1.png").status_code == 404
    port = start_studio(launch, tmp_path / "keyless", {}, "127.0.0.1")
    answer = httpx.get(f"http://127.0.0.1:{port}{SANDBOX_PREFIX}{STATUS_PATH}", timeout=10)
    assert answer.status_code == 401  # served: it asks for the sandbox's key


@pytest.mark.parametrize(
    ("address", "url"),
    [
        (None, "http://127.0.0.1:8501"),
        ("127.0.0.1", "http://127.0.0.1:8501"),
        ("0.0.0.0", "http://127.0.0.1:8501"),
        ("::", "http://127.0.0.1:8501"),
        ("127.0.0.2", "http://127.0.0.2:8501"),
        ("192.0.2.7", "http://192.0.2.7:8501"),
        ("fd00::2", "http://[fd00::2]:8501"),
    ],
)
def test_the_server_reaches_itself_where_it_listens(address, url):
    assert server_base(address, 8501) == url
