"""Sign-in at the AppTest level: off without ``[auth]``, a sign-in page, the user, team Settings.

AppTest's ``secrets`` reach ``st.secrets`` (which components/identity.py reads) and its ``user``
is what a run reads as ``st.user``, so a signed-in user is faked by setting ``is_logged_in`` and
the claims. Clicking "Sign in" is left to the browser tests (tests/e2e/test_signin.py):
``st.login()`` checks Streamlit's own secrets, which AppTest does not replace.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import services
from mjstudio.api.client import mask_key
from tests.pages.conftest import SCRIPT, button, open_page
from tests.pages.probes import walk

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "cookie-secret-for-identity-tests",
    "client_id": "mjstudio",
    "client_secret": "client-secret-for-identity-tests",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ALICE = {
    "is_logged_in": True,
    "iss": "https://idp.example",
    "sub": "alice-123",
    "name": "Alice Example",
    "email": "alice@example.com",
}
KEY = "server-side-provider-key-4321"
pytestmark = pytest.mark.usefixtures("framed")  # every run goes through frame.py, as served


def open_studio(secrets: dict | None = None, user: dict | None = None, page: str | None = None):
    """Run frame.py once with these secrets and st.user (optionally on one page)."""
    return open_page(page, secrets=secrets, user=user)


def identity_probe():
    """A script that shows what components.identity answers in a run."""
    import streamlit as st

    from components import identity

    st.text(f"configured={identity.auth_configured()}")
    st.text(f"user={identity.current_user()!r}")
    try:
        st.text(f"owner={identity.owner()!r}")
    except RuntimeError as refused:
        st.text(f"owner refused: {refused}")


def probe(secrets: dict, user: dict | None = None) -> list[str]:
    """The probe's lines for these secrets and st.user."""
    at = AppTest.from_function(identity_probe, default_timeout=30)
    at.secrets.update(secrets)
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, at.exception
    return [t.value for t in at.text]


def everything(at: AppTest) -> str:
    """Every value the run shows, main area and sidebar, as one string."""
    nodes = [*walk(at.main), *walk(at.sidebar)]
    return " ".join(str(getattr(n, "value", "")) + str(getattr(n, "label", "")) for n in nodes)


@pytest.fixture
def server_key(data_dir, monkeypatch) -> str:
    """MJ_API_KEY and MJ_BASE_URL set for the server, as an operator would."""
    monkeypatch.setenv("MJ_API_KEY", KEY)
    monkeypatch.setenv("MJ_BASE_URL", "http://127.0.0.1:9")
    services.settings.clear()
    return KEY


# --------------------------------------------------------------------------- identity answers


def test_without_an_auth_section_sign_in_is_off_and_there_is_no_owner(data_dir):
    lines = probe({"MJ_PROVIDER": "auto"})  # secrets, but no [auth]
    assert lines == ["configured=False", "user=None", "owner=None"]


def test_a_signed_in_user_is_keyed_by_issuer_and_subject(data_dir):
    lines = probe({"auth": AUTH}, ALICE)
    assert lines[0] == "configured=True"
    assert lines[1] == (
        "user=User(key='https://idp.example#alice-123', name='Alice Example', "
        "email='alice@example.com')"
    )
    assert lines[2] == "owner='https://idp.example#alice-123'"


def test_with_sign_in_on_and_nobody_signed_in_owner_refuses_to_answer(data_dir):
    lines = probe({"auth": AUTH}, {"is_logged_in": False})
    refused = "owner refused: sign-in is configured but nobody is signed in"
    assert lines == ["configured=True", "user=None", refused]


def test_an_incomplete_auth_section_is_not_configured(data_dir):
    incomplete = {k: v for k, v in AUTH.items() if k != "client_secret"}
    assert probe({"auth": incomplete})[0] == "configured=False"


# --------------------------------------------------------------------------- the frame


def test_without_an_auth_section_the_studio_opens_as_today(data_dir):
    at = open_studio({"MJ_PROVIDER": "auto"})
    assert [t.value for t in at.title] == ["Imagine"]
    assert at.text_area(key="text-to-image:prompt") is not None
    labels = [b.label for b in at.button]
    assert "Sign in" not in labels and "Sign out" not in labels
    assert any("Add a key on the Settings page" in i.value for i in at.info)


def test_with_auth_and_nobody_signed_in_only_the_sign_in_page_shows(data_dir, server_key):
    at = open_studio({"auth": AUTH})
    assert [t.value for t in at.title] == ["MJ Studio"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(list(walk(at.main))) == 2  # the name and the button, nothing else
    assert list(walk(at.sidebar)) == []
    shown = everything(at)
    assert KEY not in shown and mask_key(KEY) not in shown


def test_an_incomplete_auth_section_stops_the_studio_naming_what_is_missing(data_dir):
    incomplete = {k: v for k, v in AUTH.items() if k not in ("client_secret", "cookie_secret")}
    at = open_studio({"auth": incomplete})
    assert [t.value for t in at.title] == ["MJ Studio"]
    assert len(at.error) == 1 and "cookie_secret, client_secret" in at.error[0].value
    assert len(at.button) == 0 and list(walk(at.sidebar)) == []
    assert AUTH["client_id"] not in at.error[0].value  # names only, never values


def test_a_signed_in_user_gets_the_studio_with_their_name_and_sign_out(data_dir):
    at = open_studio({"auth": AUTH}, ALICE)
    assert [t.value for t in at.title] == ["Imagine"]
    sidebar = everything(at).replace("\u2060", "").replace("\\", "")
    assert "Alice Example" in sidebar and "alice@example.com" in sidebar
    assert any("operator sets MJ_API_KEY" in i.value for i in at.info)
    assert not any("Settings page" in i.value for i in at.info)
    assert any("Provider:" in c.value for c in at.sidebar.caption)

    button(at, "Sign out").click()
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == []  # st.logout(), and the run stopped right there:
    assert not any("Provider:" in c.value for c in at.sidebar.caption)  # no page, no summary
    at.user = {"is_logged_in": False}  # the session the browser opens after /auth/logout
    at.run()
    assert [b.label for b in at.button] == ["Sign in"]


# --------------------------------------------------------------------------- Settings


def test_team_settings_show_no_key_and_offer_no_key_fields(data_dir, server_key):
    at = open_studio({"auth": AUTH}, ALICE, page=SCRIPT["settings"])
    assert [t.value for t in at.title] == ["Settings"]
    assert any("configured by the team's operator" in i.value for i in at.info)
    assert [t.label for t in at.text_input] == []
    assert "Use this key" not in [b.label for b in at.button]
    assert "API key" not in at.table[0].value["Setting"].tolist()
    shown = everything(at) + str(at.table[0].value.to_dict())
    assert KEY not in shown and mask_key(KEY) not in shown and KEY[-4:] not in shown


def test_single_user_settings_still_show_the_masked_key_and_the_key_form(data_dir, server_key):
    at = open_studio(page=SCRIPT["settings"])
    assert "API key" in [t.label for t in at.text_input]
    assert mask_key(KEY) in str(at.table[0].value.to_dict())
    assert not any("team's operator" in i.value for i in at.info)
