"""The session's task feed: finished cards drawn once, running cards refreshed in one fragment.

A page run draws the feed's finished cards where they belong and leaves a slot for each running
one. One fragment (``_live``) fills the slots and reruns every REFRESH_S while a task runs: it
asks the store for the latest updated_at of those records (one indexed query), reads them again
only when it moved, and redraws only those cards; the finished cards are outside it and never
redrawn by the timer. A task this server stores done does not wait for the timer: the tracker
tells the fragment, which the session reruns at once (components/wakeup.py). A running task that
finished (or is gone) is drawn finished in its slot, its images shown at once, and the fragment
asks for one full run a moment later (at once where no server can be asked, as in AppTest): it
draws the task as a finished card outside the fragment and, when nothing runs any more, leaves
no timer at all.

A Streamlit fragment clears what a rerun of it does not draw again, so a running card is drawn
on every tick; it is small (header, state line, lineage), and it shows the elapsed time.

The feed is a dense board (components/board.py: one row per task, each run of finished rows one
browser-drawn element) unless the session chose the large cards; the image viewer
(components/viewer.py) steps through the feed's tasks.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import (
    board,
    problems,
    records,
    results,
    services,
    session,
    task_card,
    team,
    viewer,
    wakeup,
)
from mjstudio.tasks.record import TaskRecord

REFRESH_S = 0.3
FEED_SIZE = 12
SEED_RECENT = 8  # a new session (a reload) starts with the latest tasks and every running one


def _seed_from_store() -> None:
    """A new session starts with the workspace's latest and running tasks (one page of each)."""
    if not session.feed_needs_seeding():
        return
    store = services.studio().store
    workspace = services.connection().workspace
    recent = store.list(workspace, limit=SEED_RECENT, **team.mine())
    running = store.running(workspace, FEED_SIZE, owner=team.owner())  # the unfinished index
    session.seed_feed([r.id for r in [*recent, *running]])


def _records(ids: list[str]) -> list[TaskRecord]:
    return records.by_ids(services.studio().store, ids)


def render(where: str) -> None:
    """The feed of this session's tasks; its running cards refresh themselves."""
    with problems.store_guard():
        _seed_from_store()
        shown = _records(session.feed()[:FEED_SIZE])
        if not shown:
            st.caption("Your tasks appear here. Nothing has been generated in this session yet.")
            return
        board.style()
        with st.container(key=board.wrapper_key(where), gap="xsmall"):
            slots = _draw(shown, where)
        if slots:
            st.fragment(run_every=REFRESH_S)(_live)(where, slots)
        else:
            wakeup.forget(where)
        viewer.show(where, [r.id for r in shown])


def _draw(shown: list[TaskRecord], where: str) -> dict[str, DeltaGenerator]:
    """The finished cards, and an empty slot (for the fragment) for each running one."""
    results.read_children(shown)
    return task_card.render_all(shown, where=where, slot_for=records.is_live)


def _live(where: str, slots: dict[str, DeltaGenerator]) -> None:
    """The fragment: the running cards, each in its slot; a full run once one is done."""
    with problems.store_guard():
        wakeup.watch(where, list(slots))  # a change this server stores reruns it at once
        current = _running(where, list(slots))
        done = len(current) < len(slots) or not all(records.is_live(r) for r in current)
        if done and not wakeup.full_run(after_s=REFRESH_S):  # after this run has shown it
            st.rerun()  # finished or deleted: a full run draws it once, outside the timer
        for record in current:
            with slots[record.id]:
                task_card.render(record, where=where)


def _running(where: str, ids: list[str]) -> list[TaskRecord]:
    """The running cards' records, read again only when one of them changed in the store."""
    key = f"feed:live:{where}"
    kept = records.fresh(services.studio().store, ids, st.session_state.get(key))
    st.session_state[key] = kept
    return kept[2]
