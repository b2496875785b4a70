"""Whose tasks a page shows: the signed-in designer's own, or what the team shared.

With sign-in off there is one designer and every filter here is empty (the store filters by
nothing). With sign-in on, each designer's feed, History, pickers and boards hold their own
tasks; History's "Team" view and the Sweeps page's shared boards show what others shared.
Only a task's owner may share, unshare or delete it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import identity, services
from components.row_action import Action
from mjstudio.tasks.record import TaskRecord

MINE, TEAM = "Mine", "Team"
VIEW_KEY = "history:view"


def owner() -> str | None:
    """The store's owner filter for this visitor (None: sign-in off, everyone's)."""
    return identity.owner()


def mine() -> dict[str, Any]:
    """Filters for ``store.list`` / ``count``: this designer's tasks."""
    found = owner()
    return {} if found is None else {"owner": found}


def owner_key() -> str:
    """What a new task is filed under ("" with sign-in off)."""
    return owner() or ""


def history_view() -> dict[str, Any]:
    """History's "Show" control (Mine / Team) when sign-in is on; its filters."""
    if owner() is None:
        return {}
    view = st.segmented_control(
        "Show",
        [MINE, TEAM],
        default=MINE,
        key=VIEW_KEY,
        help="Your own tasks, or the tasks anyone in the team shared",
    )
    return {"team": True} if view == TEAM else mine()


def is_mine(record: TaskRecord) -> bool:
    """True when this visitor may change the task (sign-in off: every task is theirs)."""
    found = owner()
    return found is None or record.owner == found


def share_action(record: TaskRecord, where: str) -> list[Action]:
    """ "Share with team" (or "Shared": stop sharing) as a row action on the owner's own task."""
    if owner() is None or not is_mine(record):
        return []
    label = "Shared ✓" if record.shared else "Share with team"
    tip = "Stop showing it to the team" if record.shared else "Show it in the team's Team view"

    def toggle() -> None:
        services.studio().store.set_shared(record.id, not record.shared)
        st.rerun()

    return [Action("share", label, toggle, help=tip, key=f"{where}:{record.id}:share")]


def boards(store: Any, workspace: str, limit: int) -> list:
    """The boards this visitor sees: their own batches, then those the team shared."""
    found = owner()
    if found is None:
        return store.batches(workspace, limit=limit)
    own = store.batches(workspace, limit=limit, owner=found)
    seen = {summary.batch_id for summary in own}
    shared = store.batches(workspace, limit=limit, team=True)
    return own + [summary for summary in shared if summary.batch_id not in seen]


def share_board_button(store: Any, workspace: str, batch_id: str, records: list) -> None:
    """ "Share board with team" on the owner's own board (or stop sharing it)."""
    if owner() is None or not records or not all(map(is_mine, records)):
        return
    shared = all(record.shared for record in records)
    label = "Stop sharing board" if shared else "Share board with team"
    if st.button(label, key=f"sweeps:share:{batch_id}", icon=":material/group:"):
        store.share_batch(workspace, batch_id, not shared)
        st.rerun()
