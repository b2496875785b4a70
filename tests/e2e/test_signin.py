"""Sign-in in a real browser: the studio behind st.login, against a mock OpenID provider.

Each test starts oidc-provider-mock and a studio whose own secrets file (tests/oidc.py) has an
``[auth]`` section pointing at it; a browser signs in by typing a user's ``sub`` into the
provider's authorize page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from components.sitemap import PAGES
from mjstudio.api.client import mask_key
from tests.e2e.conftest import HEALTH_PATH, Studio, page_text
from tests.e2e.test_studio import generate
from tests.oidc import MockProvider, sign_in, start_provider, studio_secrets

KEY = "some-secret-key-123"
SHOWN_MS = 30_000  # a page (or the sign-in page) is drawn within this, however slow the machine
IDLE = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)
ALICE = ("alice", "Alice Example", "alice@example.com")
BOB = ("bob", "Bob Example", "bob@example.com")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def provider(launcher) -> MockProvider:
    """oidc-provider-mock on a free loopback port."""
    return start_provider(launcher)


@pytest.fixture
def team_studio(start_studio, provider: MockProvider, tmp_path: Path) -> Callable[..., Studio]:
    """Start a studio with sign-in configured (its own secrets file), plus extra env."""

    def start(env: dict[str, str] | None = None) -> Studio:
        written = studio_secrets(tmp_path / "secrets", provider)
        extra = {"MJSTUDIO_SANDBOX_LATENCY": "2", **written.env, **(env or {})}
        return start_studio(tmp_path / "data", extra)

    return start


# --------------------------------------------------------------------------- helpers


def settled(page: Page) -> None:
    """Wait until the page's script run has finished."""
    page.wait_for_function(IDLE, timeout=SHOWN_MS)


def assert_sign_in_page(page: Page) -> None:
    """Only the sign-in page: the studio's name and one Sign in button, nothing of the studio."""
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=SHOWN_MS)
    settled(page)
    expect(page.get_by_role("heading", name="MJ Studio")).to_be_visible()
    assert page.get_by_role("button").filter(has_text="Sign in").count() == 1
    assert page.get_by_role("textbox").count() == 0  # no prompt form
    assert page.get_by_role("link", name="History").count() == 0  # no navigation
    shown = page_text(page)
    for absent in ("task(s)", "Sandbox provider", "Provider", "Sign out", "Workspace"):
        assert absent not in shown, f"{absent!r} is on the sign-in page"


def open_page(page: Page, studio: Studio, url_path: str, title: str) -> None:
    """Open one of the studio's pages by URL and wait until it is drawn."""
    page.goto(f"{studio.url}/{url_path}")
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible(
        timeout=SHOWN_MS
    )
    settled(page)


# --------------------------------------------------------------------------- tests


def test_signed_out_visitors_see_only_the_sign_in_page(team_studio, page: Page) -> None:
    """/ and a deep link show the sign-in page only; the health route answers without it."""
    studio = team_studio()
    for path in ("/", "/history", "/settings"):
        page.goto(studio.url + path)
        assert_sign_in_page(page)
    health = httpx.get(studio.url + HEALTH_PATH, timeout=10.0)  # no cookie: never signed in
    assert health.status_code == 200 and health.json()["tracker"] is True


def test_sign_in_shows_the_user_and_sign_out_returns_to_the_sign_in_page(
    team_studio, provider: MockProvider, page: Page
) -> None:
    """Alice signs in, sees her name and email in the sidebar, signs out and is asked again."""
    studio = team_studio()
    page.goto(studio.url + "/")
    assert_sign_in_page(page)
    sign_in(page, provider, *ALICE)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("Alice Example")
    expect(sidebar).to_contain_text("example.com")
    expect(page.get_by_role("textbox", name="Prompt").last).to_be_visible(timeout=SHOWN_MS)

    page.get_by_role("button", name="Sign out").click()
    # st.logout() ends the session at the provider too; the mock asks to confirm
    page.get_by_role("button", name="End session").click(timeout=SHOWN_MS)
    expect(page).to_have_url(studio.url + "/", timeout=SHOWN_MS)
    assert_sign_in_page(page)
    page.goto(studio.url + "/history")  # the sign-in cookie is gone, not just this session
    assert_sign_in_page(page)


def test_the_provider_key_is_on_no_page_for_a_signed_in_user(
    start_sandbox, team_studio, provider: MockProvider, page: Page, tmp_path: Path
) -> None:
    """MJ_API_KEY set on the server: no page's HTML has it, masked or not; Settings says why."""
    sandbox = start_sandbox(KEY, tmp_path / "provider", latency=2.0)
    studio = team_studio({"MJ_API_KEY": KEY, "MJ_BASE_URL": sandbox.url})
    page.goto(studio.url + "/")
    assert_sign_in_page(page)
    assert KEY not in page.content()
    sign_in(page, provider, *ALICE)
    secrets = (KEY, mask_key(KEY))
    for spec in PAGES:
        open_page(page, studio, spec.url_path, spec.title)
        html = page.content()
        leaked = [s for s in secrets if s in html]
        assert not leaked, f"{spec.title} shows {leaked}"
    expect(page.get_by_text("configured by the team's operator")).to_be_visible()
    assert page.get_by_label("API key").count() == 0
    assert page.get_by_role("button", name="Use this key").count() == 0


def test_each_user_sees_their_own_tasks_and_shared_ones_in_team_view(
    team_studio, provider: MockProvider, new_page
) -> None:
    """Alice and Bob see only their own tasks; a task Alice shares shows in Bob's Team view."""
    studio = team_studio()
    alice, bob = new_page(), new_page()  # separate browser contexts: separate cookies
    for page, user, prompt in ((alice, ALICE, "alice fox"), (bob, BOB, "bob owl")):
        page.goto(studio.url + "/")
        sign_in(page, provider, *user)
        expect(page.get_by_role("textbox", name="Prompt").last).to_be_visible(timeout=SHOWN_MS)
        generate(page, prompt)
        expect(page.get_by_text(prompt).first).to_be_visible(timeout=SHOWN_MS)
    settled(bob)
    assert "alice fox" not in page_text(bob)  # not in Bob's Imagine feed

    for page, mine, theirs in ((alice, "alice fox", "bob owl"), (bob, "bob owl", "alice fox")):
        open_page(page, studio, "history", "History")
        expect(page.get_by_text(mine).first).to_be_visible()
        assert theirs not in page_text(page)

    share = alice.get_by_role("button", name="Share with team")
    expect(share).to_have_count(1)  # one row on Alice's History: her own task
    share.click()
    settled(alice)

    open_page(bob, studio, "history", "History")
    show = bob.get_by_role("radiogroup", name="Show")  # st.segmented_control("Show", ...)
    show.get_by_role("radio", name="Team", exact=True).click()
    settled(bob)
    expect(bob.get_by_text("alice fox").first).to_be_visible(timeout=SHOWN_MS)
