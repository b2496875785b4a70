"""The parts every page shares: the provider banner and the sidebar (user, summary)."""

from __future__ import annotations

import streamlit as st

from components import identity, services, team
from components.plain import plain


def provider_banner() -> None:
    """Say which provider the studio talks to; the sandbox banner stays visible on every page."""
    conn = services.connection()
    configured = services.configured_connection()
    if configured is not None and not configured.base_url:
        st.error(
            "MJ_API_KEY is set but MJ_BASE_URL is not: set the provider's URL "
            "(environment, secrets or Settings). Using the sandbox meanwhile.",
            icon=":material/link_off:",
        )
    if conn.is_sandbox:
        how = (
            "The team's operator sets MJ_API_KEY on the server"
            if identity.auth_configured()  # team mode: the Settings page has no key fields
            else "Add a key on the Settings page or set MJ_API_KEY"
        )
        st.info(
            "**Sandbox provider** — no API key is configured, so images are made locally "
            f"(marked SANDBOX) and nothing is charged. {how} to use the real service.",
            icon=":material/science:",
        )


def account() -> None:
    """The signed-in user's name (and email, small) and a "Sign out" button; nothing when off."""
    user = identity.current_user()
    if user is None:
        return
    with st.sidebar.container(key="account"):
        st.markdown(f"**{plain(user.name)}**")
        if user.email:
            st.caption(plain(user.email))
        if st.button("Sign out", key="account:sign-out", icon=":material/logout:"):
            st.logout()  # the browser goes on to /auth/logout
            st.stop()  # and this run draws no page for a user who is gone


def render() -> None:
    """Sidebar: the signed-in user, provider, running tasks, data folder."""
    account()  # first: shown even when the data folder below can't be used
    conn = services.connection()
    store = services.studio().store
    running = store.count_active(conn.workspace, owner=team.owner())  # the running-set index
    with st.sidebar:
        st.caption("Provider: " + ("embedded sandbox" if conn.is_sandbox else plain(conn.base_url)))
        if running:
            st.caption(f"{running} task(s) running — tracked even if you close this tab.")
        st.caption(f"Workspace {plain(conn.workspace)}")
