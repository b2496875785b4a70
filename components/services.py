"""Service handles for the pages: the settings, the shared Studio and the active connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from components import per_run, session
from mjstudio.config import Connection, Settings
from mjstudio.server import embedded

if TYPE_CHECKING:
    from mjstudio.tasks.service import Studio


def secrets_map() -> dict:
    """`.streamlit/secrets.toml` as a dict (empty when there is none)."""
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        return {}


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The process's settings, read once (environment, then secrets, then defaults)."""
    return Settings.load(secrets_map())


def studio() -> Studio:
    """The process's Studio (store, uploads, tracker); the server's lifespan made it first.

    Found once per script run (every board row asks for it several times).
    """
    return per_run.once("studio", _studio)


def _studio() -> Studio:
    from mjstudio.tasks.service import Studio  # imported by the server's start-up thread

    return Studio.shared(settings())


def configured_connection() -> Connection | None:
    """The connection of MJ_API_KEY (environment or secrets), if any."""
    return settings().connection()


def connection() -> Connection:
    """The active connection: Settings page, then environment/secrets, then the sandbox."""
    conn = session.connection_override() or configured_connection()
    if conn is None or not conn.base_url:
        conn = embedded.connection(settings())
    return conn


def use_connection(conn: Connection | None) -> None:
    """Use a session-only connection (None: forget it); the tracker follows its workspace."""
    session.set_connection_override(conn)
    if conn is not None:
        studio().connect(conn)
