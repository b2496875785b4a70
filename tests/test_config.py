"""The one settings object: argument, then environment, then secrets, then default."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mjstudio.api.contract import DEFAULT_AUTH_HEADER, DEFAULT_PROVIDER, DEFAULT_REQUEST_TYPE
from mjstudio.config import Settings, workspace_id

KEY = "sk-live-very-secret-key-123456"
ROOT = Path(__file__).resolve().parents[1]


def test_each_setting_comes_from_argument_then_environment_then_secrets_then_default(
    tmp_path: Path,
) -> None:
    env = {"MJ_BASE_URL": "https://env.example/", "MJSTUDIO_POLL": "2,1"}
    secrets = {"MJ_BASE_URL": "https://secret.example", "MJ_API_KEY": "from-secrets"}
    conf = Settings.load(secrets, environ=env, data_dir=tmp_path, sandbox_latency_s=0.5)
    assert conf.base_url == "https://env.example"  # environment beats secrets
    assert conf.api_key == "from-secrets"  # secrets beat the default
    assert conf.sandbox_latency_s == 0.5  # the argument beats everything
    assert conf.poll == (2.0, 1.0)
    assert conf.data_dir == tmp_path.resolve()
    assert (conf.auth_header, conf.provider, conf.request_type) == (
        DEFAULT_AUTH_HEADER,
        DEFAULT_PROVIDER,
        DEFAULT_REQUEST_TYPE,
    )
    assert conf.upload_max_age_days == 7.0


def test_the_connection_carries_the_settings_and_hides_the_key(tmp_path: Path) -> None:
    env = {"MJ_API_KEY": KEY, "MJ_BASE_URL": "https://p.example", "MJ_AUTH_HEADER": "x-api-key"}
    conf = Settings.load(environ=env | {"MJSTUDIO_POLL": "5"}, data_dir=tmp_path)
    conn = conf.connection()
    assert conn is not None and conn.auth_header == "x-api-key"
    assert conn.schedule("fast").first_s == 5.0 and conn.schedule("fast").every_s == 5.0
    assert KEY not in repr(conf) and KEY not in repr(conn)
    assert Settings.load(environ={}, data_dir=tmp_path).connection() is None


def test_the_sandbox_connection_follows_the_callback_settings(tmp_path: Path) -> None:
    env = {"MJ_REQUEST_TYPE": "callback", "MJSTUDIO_PUBLIC_URL": "http://127.0.0.1:8501/"}
    conn = Settings.load(environ=env, data_dir=tmp_path).sandbox_connection("http://s", "k")
    assert (conn.request_type, conn.callback_base) == ("callback", "http://127.0.0.1:8501")
    plain = Settings.load(environ={}, data_dir=tmp_path).sandbox_connection("http://s", "k")
    assert (plain.request_type, plain.callback_base) == (DEFAULT_REQUEST_TYPE, None)


def test_the_data_folder_defaults_to_xdg_then_home(tmp_path: Path) -> None:
    explicit = Settings.load(environ={"MJSTUDIO_DATA_DIR": str(tmp_path / "explicit")})
    assert explicit.data_dir == tmp_path / "explicit"
    xdg = Settings.load(environ={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert xdg.data_dir == tmp_path / "xdg" / "mjstudio"
    home = Settings.load(environ={"HOME": str(tmp_path / "home")})
    assert home.data_dir == tmp_path / "home" / ".local" / "share" / "mjstudio"


def test_a_bad_number_is_refused_when_read(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Settings.load(environ={"MJSTUDIO_SANDBOX_LATENCY": "soon"}, data_dir=tmp_path)


def test_workspace_id_is_short_stable_and_hides_the_key() -> None:
    ws = workspace_id("https://api.example.com", KEY)
    assert ws == workspace_id("https://API.example.com/", KEY)
    assert 12 <= len(ws) <= 20 and all(c in "0123456789abcdef" for c in ws)
    assert KEY not in ws and KEY[:8] not in ws
    assert workspace_id("https://api.example.com", KEY + "x") != ws
    assert workspace_id("https://other.example.com", KEY) != ws


def test_only_the_settings_module_reads_the_environment() -> None:
    found = subprocess.run(
        ["grep", "-rln", "--include=*.py", "os.environ", "mjstudio", "components", "pages"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert found == ["mjstudio/config.py"]
