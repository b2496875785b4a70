"""Sign-in in tests: a mock OpenID provider, the studio's secrets for it, a browser sign-in.

The provider is oidc-provider-mock (a Flask app served by uvicorn), run as
``python -m oidc_provider_mock`` on 127.0.0.1 at a free port in its own process. It accepts any
client id and secret; its authorize page asks only for the user's ``sub`` (the other claims,
such as name and email, are PUT beforehand at ``/users/<sub>``), and its ``end_session``
endpoint (where ``st.logout()`` sends the browser) shows an "End session" button.

A studio test server reads its own secrets file, never the repository's
``.streamlit/secrets.toml``: Streamlit's ``secrets.files`` option, given as the
``STREAMLIT_SECRETS_FILES`` environment variable (the ``--secrets.files`` flag would do the
same), replaces the default list of secrets files.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import free_port
from tests.waiting import wait_for

if TYPE_CHECKING:
    from tests.e2e.conftest import Launcher, Proc

START_TIMEOUT_S = 60.0
DISCOVERY = "/.well-known/openid-configuration"
CLIENT_ID = "mjstudio-test"
SIGN_IN_TIMEOUT_MS = 30_000


@dataclass
class MockProvider:
    """A running oidc-provider-mock process."""

    url: str
    proc: Proc

    @property
    def metadata_url(self) -> str:
        """Its OIDC discovery document: the studio's ``server_metadata_url``."""
        return self.url + DISCOVERY

    def set_user(self, sub: str, claims: dict[str, object]) -> None:
        """Give the user ``sub`` these claims (name, email...) for their next sign-in."""
        answer = httpx.put(f"{self.url}/users/{quote(sub, safe='')}", json=claims, timeout=10.0)
        assert answer.status_code == 204, answer.text

    def stop(self) -> None:
        """Stop the provider (the launcher also does at the test's end)."""
        self.proc.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + DISCOVERY, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def start_provider(launcher: Launcher) -> MockProvider:
    """Start oidc-provider-mock on 127.0.0.1 at a free port; returns once it serves discovery."""
    port = free_port()
    argv = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1"]
    argv += ["--port", str(port)]
    proc = launcher.start("oidc-provider", argv, {})
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if not proc.alive:
            proc.fail(f"exited with {proc.popen.returncode} before serving {DISCOVERY}")
        return _answers(url)

    try:
        wait_for(up, timeout=START_TIMEOUT_S, interval=0.2, message=f"no {DISCOVERY}")
    except AssertionError as timed_out:
        proc.fail(str(timed_out))
    return MockProvider(url, proc)


@dataclass(frozen=True)
class StudioSecrets:
    """A secrets file for one studio test server and how to make the server read it."""

    path: Path
    cookie_secret: str

    @property
    def env(self) -> dict[str, str]:
        """Environment for ``streamlit run app.py``: read this file instead of the defaults."""
        return {"STREAMLIT_SECRETS_FILES": str(self.path)}


def _toml(value: object) -> str:
    """A TOML basic string (the values here are URLs, ids and hex secrets)."""
    text = str(value)
    assert all(c.isprintable() and c not in '"\\' for c in text), text
    return f'"{text}"'


def studio_secrets(folder: Path, provider: MockProvider) -> StudioSecrets:
    """Write ``folder/secrets.toml`` with ``[auth]`` pointing at ``provider``.

    The redirect URI is ``http://127.0.0.1:{port}/oauth2callback``: Streamlit fills in
    ``{port}`` with the port the server listens on, so the file can be written before the
    studio's free port is picked. The path must have no spaces (the environment variable is
    split at them).
    """
    cookie_secret = secrets.token_hex(32)
    auth = {
        "redirect_uri": "http://127.0.0.1:{port}/oauth2callback",
        "cookie_secret": cookie_secret,
        "client_id": CLIENT_ID,
        "client_secret": secrets.token_hex(16),
        "server_metadata_url": provider.metadata_url,
    }
    lines = ["[auth]", *(f"{k} = {_toml(v)}" for k, v in auth.items())]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secrets.toml"
    assert " " not in str(path), path
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return StudioSecrets(path, cookie_secret)


def sign_in(page: Page, provider: MockProvider, sub: str, name: str, email: str) -> None:
    """Sign in on the studio's sign-in page (already open) as ``sub`` with a name and email.

    Clicks "Sign in", types ``sub`` into the provider's authorize form and waits until the
    browser is back on the studio with the sidebar's "Sign out" button.
    """
    provider.set_user(sub, {"name": name, "email": email})
    page.get_by_role("button", name="Sign in").click()
    form = page.get_by_placeholder("sub")
    expect(form).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    form.fill(sub)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
