"""Settings: the provider, the key (masked), request options, polling and the data folder.

With sign-in configured (team mode) the provider belongs to the team's operator: the page
shows no key, masked or not, offers no key fields, and says who configures the provider.
"""

import streamlit as st

from components import identity, services, session
from components.plain import plain
from mjstudio.api.contract import DEFAULT_AUTH_HEADER, SPEEDS
from mjstudio.tasks.store import StoreUnavailable

st.title("Settings")
conn = services.connection()
team = identity.auth_configured()

st.toggle(
    "Large task cards instead of the dense board",
    value=session.large_cards(),
    key=session.LARGE_CARDS_WIDGET,
    on_change=session.large_cards_changed,
    help="The feed and History show one row per task (four thumbnails, actions under each) "
    "by default; large cards show each grid 2x2 with U1–U4 / V1–V4 below. For this session.",
)


def callback_row() -> str:
    """The callback URL the provider is given, or how tasks are followed instead."""
    try:
        return services.studio().callback_url(conn, "<task>") or "— (polling)"
    except StoreUnavailable:  # the page stays usable: the banner above says why
        return "— (the data folder can't be used)"


def provider_rows() -> dict[str, str]:
    """The provider table of a single designer's studio: everything, the key masked."""
    bearer = " (Bearer)" if conn.auth_header == "Authorization" else ""
    return {
        "Provider": "Embedded sandbox (local, free)" if conn.is_sandbox else conn.base_url,
        "API key": conn.masked_key,
        "Auth header": conn.auth_header + bearer,
        "provider": conn.provider,
        "Request type": conn.request_type,
        "Callback URL": callback_row(),
        "Workspace": conn.workspace,
        "Data folder": str(services.settings().folder),
    }


def team_rows() -> dict[str, str]:
    """The provider table in team mode: no key (not even masked), nothing of the server's."""
    return {
        "Provider": "Embedded sandbox (local, free)" if conn.is_sandbox else conn.base_url,
        "provider": conn.provider,
        "Request type": conn.request_type,
        "Workspace": conn.workspace,
    }


st.subheader("Provider")
if team:
    st.info(
        "The provider and its API key are configured by the team's operator on the server.",
        icon=":material/admin_panel_settings:",
    )
rows = team_rows() if team else provider_rows()
st.table({"Setting": list(rows), "Value": [plain(v) for v in rows.values()]})  # cells are Markdown

st.subheader("Polling schedule")
st.table(
    {
        "Speed": list(SPEEDS),
        "First check after (s)": [f"{conn.schedule(s).first_s:g}" for s in SPEEDS],
        "Then every (s)": [f"{conn.schedule(s).every_s:g}" for s in SPEEDS],
        "Expected (s)": [f"{conn.schedule(s).expected_s:g}" for s in SPEEDS],
        "Give up polling fast after (s)": [f"{conn.schedule(s).deadline_s:g}" for s in SPEEDS],
    }
)
st.caption(
    "One background worker polls every running task of this server, whether or not a "
    "page is open; past the deadline it keeps checking once a minute."
)


def key_form() -> None:
    """A single designer's own provider URL and key for this browser session."""
    st.subheader("Use an API key for this session")
    st.caption(
        "The key stays in this browser session's memory only: it is never written to the "
        "history, a log or the page. Tasks belong to a workspace per provider URL and key."
    )
    with st.form("key-form", clear_on_submit=True):
        base_url = st.text_input(
            "Provider URL (MJ_BASE_URL)",
            value="" if conn.is_sandbox else conn.base_url,
            placeholder="https://api.provider.example",
        )
        key = st.text_input("API key", type="password")
        header = st.text_input(
            "Auth header name",
            value=conn.auth_header or DEFAULT_AUTH_HEADER,
            help="Authorization (sent as Bearer) or e.g. x-api-key",
        )
        provider = st.text_input("provider", value=conn.provider)
        callback = st.text_input(
            "Public studio URL for callbacks (optional)",
            value=conn.callback_base or "",
            help="Set to a URL the provider can reach to use callback mode instead of polling.",
        )
        saved = st.form_submit_button("Use this key", type="primary")
    if saved:
        use_key(base_url, key, header, provider, callback)
    if session.connection_override() and st.button("Forget the session key"):
        services.use_connection(None)
        st.rerun()


def use_key(base_url: str, key: str, header: str, provider: str, callback: str) -> None:
    """Use the entered provider URL and key for this session, or say what is missing."""
    if not key.strip() or not base_url.strip().startswith(("http://", "https://")):
        st.error("Enter the provider's http(s) URL and an API key.")
        return
    services.use_connection(
        services.settings().session_connection(
            base_url, key, auth_header=header, provider=provider, callback_base=callback
        )
    )
    st.rerun()


if not team:  # in team mode the provider and its key are the operator's, set on the server
    key_form()
else:  # moving in: a designer's local history, imported into their account here
    st.subheader("Move your history here")
    user = identity.current_user()
    st.caption(
        "Export your local studio's history (`python -m mjstudio history export --out "
        "mine.zip`), then ask the operator to import it into your account on this server; "
        "tasks still running there resume here."
    )
    if user is not None:
        st.code(f"python -m mjstudio history import mine.zip --owner '{user.key}'", language="sh")
