"""The session's live task feed: cards refreshed in a fragment while tasks run."""

from __future__ import annotations

import streamlit as st

from components import problems, services, session, task_card

REFRESH_S = 1.0
FEED_SIZE = 12


def _seed_from_store() -> None:
    """A new session (a reload) starts with the workspace's running and latest tasks."""
    if not session.feed_needs_seeding():
        return
    store = services.studio().store
    workspace = services.connection().workspace
    recent = store.list(workspace, limit=4)
    running = store.active(workspace)
    session.seed_feed([r.id for r in [*recent, *running]])


def _records() -> list:
    store = services.studio().store
    found = [store.get(rid) for rid in session.feed()[:FEED_SIZE]]
    return [r for r in found if r is not None]


def render(where: str) -> None:
    """The feed of this session's tasks; refreshes itself every second while one runs."""
    with problems.store_guard():
        _seed_from_store()
        active = any(r.needs_work for r in _records())
        st.fragment(run_every=REFRESH_S if active else None)(_guarded)(where)


def _guarded(where: str) -> None:
    """The fragment: a data folder that can't be used shows the banner, not a traceback."""
    with problems.store_guard():
        _body(where)


def _body(where: str) -> None:
    records = _records()
    if not records:
        st.caption("Your tasks appear here. Nothing has been generated in this session yet.")
        return
    still = any(r.needs_work for r in records)
    for record in records:
        task_card.render(record, where=where)
    live_key = f"feed:live:{where}"
    if not still and st.session_state.get(live_key):
        st.session_state[live_key] = False
        st.rerun()  # everything finished: a full run stops the timer
    st.session_state[live_key] = still
