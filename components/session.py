"""The one owner of cross-page session state: every shared key, its default, its operations.

Pages and components read and change the shared keys only through the functions here. A
component's private keys (widget values, its own bookkeeping) carry its prefix instead, e.g.
``paint:`` for the Paint canvas, ``picker:`` for the image pickers, ``feed:`` for the feed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

from mjstudio.config import Connection

# key -> a function making its default (a fresh list or dict per session)
DEFAULTS: dict[str, Callable[[], Any]] = {
    "feed": list,  # local ids of the tasks shown in this session's feed, newest first
    "feed_seeded": lambda: False,  # the feed was filled from the store once this session
    "conn_override": lambda: None,  # a Connection entered on the Settings page
    "prefill": dict,  # mode -> parameters for that page's fields ("use these settings")
    "picked": dict,  # picker -> (record id, image index) last picked from an earlier result
    "page_before": lambda: None,  # url path of the page shown on the previous run
    "page_now": lambda: None,  # url path of the page shown on this run
    "nonces": dict,  # form or button group -> the token of its current render (one task each)
    "notices": set,  # one-time notices already shown in this session
    "large_cards": lambda: False,  # the feed and History show large cards, not the dense board
    "handed": dict,  # picker -> (record id, image index) sent from the viewer, taken once
}
LARGE_CARDS_WIDGET = "settings:large-cards"  # the Settings toggle that changes "large_cards"


def init() -> None:
    """Give every shared key its default once per session."""
    for key, make in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = make()


# ---------------------------------------------------------------------- navigation


def arrive(url_path: str) -> None:
    """Record the page this run shows (the frame calls it once per run)."""
    st.session_state["page_before"] = st.session_state["page_now"]
    st.session_state["page_now"] = url_path


def came_from_another_page() -> bool:
    """True on the first run of a page after another page was shown (or on a new session)."""
    return st.session_state["page_before"] != st.session_state["page_now"]


# ---------------------------------------------------------------------- the feed


def feed() -> list[str]:
    """The feed's record ids, newest first (a copy: change it through the functions here)."""
    return list(st.session_state["feed"])


def add_to_feed(record_id: str, *, on_top: bool = True) -> None:
    """Show a task in the feed (at the top for a new task, at the bottom when seeding)."""
    ids = st.session_state["feed"]
    if record_id in ids:
        return
    if on_top:
        ids.insert(0, record_id)
    else:
        ids.append(record_id)


def drop_from_feed(record_id: str) -> None:
    """Remove a (deleted) task from the feed."""
    st.session_state["feed"] = [i for i in st.session_state["feed"] if i != record_id]


def feed_needs_seeding() -> bool:
    """True until the feed was filled from the store once in this session."""
    return not st.session_state["feed_seeded"]


def seed_feed(record_ids: list[str]) -> None:
    """Fill a new session's feed once, below anything already in it."""
    if st.session_state["feed_seeded"]:
        return
    st.session_state["feed_seeded"] = True
    for record_id in record_ids:
        add_to_feed(record_id, on_top=False)


def reset_feed() -> None:
    """Start the feed over (another workspace): it is seeded again from the store."""
    st.session_state["feed"] = []
    st.session_state["feed_seeded"] = False


# ---------------------------------------------------------------------- connection


def connection_override() -> Connection | None:
    """The connection entered on the Settings page for this session, if any."""
    return st.session_state["conn_override"]


def set_connection_override(conn: Connection | None) -> None:
    """Use (or forget, with None) a session-only connection; the feed starts over."""
    st.session_state["conn_override"] = conn
    reset_feed()


# ---------------------------------------------------------------------- prefill and picks


def prefill(mode: str, params: dict[str, Any]) -> None:
    """Ask a mode page to put these parameters into its fields on its next run."""
    st.session_state["prefill"][mode] = dict(params)


def take_prefill(mode: str) -> dict[str, Any] | None:
    """The parameters waiting for a mode page, removed once taken."""
    return st.session_state["prefill"].pop(mode, None)


def remember_pick(picker: str, record_id: str, index: int) -> None:
    """Remember the earlier result a picker chose, so it is chosen again on return."""
    st.session_state["picked"][picker] = (record_id, index)


def last_pick(picker: str) -> tuple[str, int] | None:
    """The (record id, image index) a picker chose last, if any."""
    return st.session_state["picked"].get(picker)


def hand_image(picker: str, record_id: str, index: int) -> None:
    """Give a picker an earlier result to show chosen on its page's next run ("Paint this")."""
    st.session_state["handed"][picker] = (record_id, index)
    remember_pick(picker, record_id, index)


def take_handed(picker: str) -> tuple[str, int] | None:
    """The (record id, image index) handed to a picker, removed once taken."""
    return st.session_state["handed"].pop(picker, None)


# ---------------------------------------------------------------------- layout


def large_cards() -> bool:
    """True when this session shows tasks as large cards instead of the dense board."""
    return bool(st.session_state["large_cards"])


def set_large_cards(on: bool) -> None:
    """Show large cards (True) or the dense board (False) for the rest of the session."""
    st.session_state["large_cards"] = bool(on)


def large_cards_changed() -> None:
    """The Settings toggle's callback: its widget value becomes the session's layout."""
    set_large_cards(st.session_state.get(LARGE_CARDS_WIDGET, False))


# ---------------------------------------------------------------------- one task per click


def nonce(scope: str) -> str:
    """The token of a form's (or a button group's) current render; the same until renewed.

    Every click on that render carries it, so a double click sends one task: the widget keys
    include it, and Studio.submit stores one task per submission.
    """
    nonces = st.session_state["nonces"]
    if scope not in nonces:
        nonces[scope] = uuid.uuid4().hex
    return nonces[scope]


def renew_nonce(scope: str) -> None:
    """A new token for the next render, once a submission was stored."""
    st.session_state["nonces"][scope] = uuid.uuid4().hex


# ---------------------------------------------------------------------- notices


def first_time(notice: str) -> bool:
    """True the first time a one-time notice is asked about in this session."""
    shown = st.session_state["notices"]
    if notice in shown:
        return False
    shown.add(notice)
    return True
