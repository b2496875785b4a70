"""The session's live task feed: cards refreshed in a fragment while tasks run."""

from __future__ import annotations

import streamlit as st

from components import services, task_card

REFRESH_S = 1.0
FEED_SIZE = 12


def _seed_from_store() -> None:
    """A new session (a reload) starts with the workspace's running and latest tasks."""
    if st.session_state.get("feed_seeded"):
        return
    st.session_state["feed_seeded"] = True
    store = services.studio().store
    workspace = services.connection().workspace
    recent = store.list(workspace, limit=4)
    running = [r for r in store.active(workspace) if r.id not in {x.id for x in recent}]
    for record in [*recent, *running]:
        if record.id not in st.session_state["feed"]:
            st.session_state["feed"].append(record.id)


def _records() -> list:
    store = services.studio().store
    found = [store.get(rid) for rid in st.session_state["feed"][:FEED_SIZE]]
    return [r for r in found if r is not None]


def render(where: str) -> None:
    """The feed of this session's tasks; refreshes itself every second while one runs."""
    _seed_from_store()
    active = any(r.is_active or (r.state == "success" and not r.downloaded) for r in _records())
    st.fragment(run_every=REFRESH_S if active else None)(_body)(where)


def _body(where: str) -> None:
    records = _records()
    if not records:
        st.caption("Your tasks appear here. Nothing has been generated in this session yet.")
        return
    still = any(r.is_active or (r.state == "success" and not r.downloaded) for r in records)
    for record in records:
        task_card.render(record, where=where)
    if not still and st.session_state.get(f"feed-live-{where}"):
        st.session_state[f"feed-live-{where}"] = False
        st.rerun()  # everything finished: a full run stops the timer
    st.session_state[f"feed-live-{where}"] = still
