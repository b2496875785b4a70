"""Service handles for the pages: the shared Studio, the active connection, session keys."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mjstudio.config import Connection, env_connection
from mjstudio.server import embedded
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import default_data_dir

SESSION_DEFAULTS = {
    "feed": [],  # local ids of the tasks this session created, newest first
    "conn_override": None,  # a Connection entered on the Settings page
    "prefill": {},  # mode -> parameters to put in that page's fields ("use these settings")
    "picked": {},  # page -> (record id, image index) picked from an earlier result
}


def init_session() -> None:
    """Create every session key in one place."""
    for key, value in SESSION_DEFAULTS.items():
        st.session_state.setdefault(key, value.copy() if hasattr(value, "copy") else value)


def data_dir() -> Path:
    """The data folder (``MJSTUDIO_DATA_DIR`` or the default)."""
    return default_data_dir().resolve()


def studio() -> Studio:
    """The process's Studio (store, uploads, tracker); the server's lifespan made it first."""
    return _studio(str(data_dir()))


@st.cache_resource(show_spinner=False)
def _studio(folder: str) -> Studio:
    return Studio.shared(Path(folder))


def secrets_map() -> dict:
    """`.streamlit/secrets.toml` as a dict (empty when there is none)."""
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        return {}


def configured_connection() -> Connection | None:
    """The connection of MJ_API_KEY (environment or secrets), if any."""
    return env_connection(secrets_map())


def connection() -> Connection:
    """The active connection: Settings page, then environment/secrets, then the sandbox."""
    conn = st.session_state.get("conn_override") or configured_connection()
    if conn is None or not conn.base_url:
        conn = embedded.connection(data_dir())
    studio().tracker.register(conn)
    return conn
