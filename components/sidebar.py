"""The parts every page shares: the provider banner and the sidebar summary."""

from __future__ import annotations

import streamlit as st

from components import services
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
        st.info(
            "**Sandbox provider** — no API key is configured, so images are made locally "
            "(marked SANDBOX) and nothing is charged. Add a key on the Settings page or "
            "set MJ_API_KEY to use the real service.",
            icon=":material/science:",
        )


def render() -> None:
    """Sidebar: provider, running tasks, data folder."""
    conn = services.connection()
    store = services.studio().store
    running = store.count_active(conn.workspace)  # through the running-set index
    with st.sidebar:
        st.caption("Provider: " + ("embedded sandbox" if conn.is_sandbox else plain(conn.base_url)))
        if running:
            st.caption(f"{running} task(s) running — tracked even if you close this tab.")
        st.caption(f"Workspace {plain(conn.workspace)}")
