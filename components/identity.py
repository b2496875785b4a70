"""Who uses the studio: sign-in through Streamlit's OIDC (``st.login``) when it is configured.

With an ``[auth]`` section in the secrets holding what ``st.login()`` needs (``redirect_uri``,
``cookie_secret`` and the provider's ``client_id``, ``client_secret`` and
``server_metadata_url``) the studio is a team service: every page asks for sign-in first, and
the store files each task under the signed-in user's key. Without an ``[auth]`` section it is a
single designer's studio, as before: no sign-in, no owner.

An ``[auth]`` section that lacks some of those settings does not open the studio: the frame
shows which settings are missing (their names only) and draws nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import per_run

STUDIO_NAME = "MJ Studio"
# what st.login() (its default provider) needs in [auth]
AUTH_SETTINGS = (
    "redirect_uri",
    "cookie_secret",
    "client_id",
    "client_secret",
    "server_metadata_url",
)


@dataclass(frozen=True)
class User:
    """A signed-in user.

    ``key`` is stable per user: the OIDC ``sub`` claim qualified by its issuer (``iss#sub``),
    so two identity providers cannot hand out the same key. ``name`` is for showing;
    ``email`` is None when the provider does not share it.
    """

    key: str
    name: str
    email: str | None = None


def _auth_section() -> Mapping[str, Any] | None:
    """The secrets' ``[auth]`` section; None when there is none (or no secrets at all)."""
    secrets = st.secrets  # looked up per call: AppTest swaps the module's secrets
    if not secrets.load_if_toml_exists():
        return None
    section = secrets.get("auth")
    return section if isinstance(section, Mapping) else None


def missing_settings() -> list[str]:
    """The names of the ``[auth]`` settings st.login() needs that are not set (none: all set)."""
    section = _auth_section() or {}
    return [name for name in AUTH_SETTINGS if not section.get(name)]


def auth_configured() -> bool:
    """True when the secrets' ``[auth]`` section holds everything ``st.login()`` needs."""
    return _auth_section() is not None and not missing_settings()


def current_user() -> User | None:
    """The signed-in user; None when sign-in is not configured or nobody is signed in."""
    if not auth_configured():
        return None
    claims = st.user.to_dict()
    sub = claims.get("sub")
    if claims.get("is_logged_in") is not True or not sub:
        return None
    issuer = claims.get("iss")
    key = f"{issuer}#{sub}" if issuer else str(sub)
    name = claims.get("name") or claims.get("preferred_username") or claims.get("email") or sub
    return User(key=key, name=str(name), email=claims.get("email") or None)


def require_sign_in() -> None:
    """Stop the run at a sign-in page unless sign-in is off or the visitor is signed in.

    The page shows the studio's name and one "Sign in" button (``st.login()``), nothing else:
    no history, no provider, no key. An ``[auth]`` section missing some settings stops the run
    too, naming them, instead of opening the studio without sign-in.
    """
    if _auth_section() is None:
        return
    missing = missing_settings()
    if missing:
        st.title(STUDIO_NAME)
        st.error(f"Sign-in is not set up completely: [auth] lacks {', '.join(missing)}.")
        st.stop()
    if current_user() is not None:
        return
    st.title(STUDIO_NAME)
    if st.button("Sign in", type="primary"):
        st.login()
    st.stop()


def owner() -> str | None:
    """The key the store files this visitor's tasks under.

    None when sign-in is off: the studio has a single designer and the store does not filter
    by owner. Otherwise the signed-in user's ``key``; with sign-in on and nobody signed in it
    raises instead of answering None (which would mean "everyone's tasks"): pages run only
    after require_sign_in. Found once per script run (a board row asks for each of its
    actions; the secrets and the visitor do not change within a run).
    """
    return per_run.once("owner", _owner)


def _owner() -> str | None:
    if not auth_configured():
        return None
    user = current_user()
    if user is None:
        raise RuntimeError("sign-in is configured but nobody is signed in")
    return user.key
