"""Favourites and batches: the star on a task or an image, and the History filters over them.

A star toggles at once (a button callback, before the page runs again): the task's own
``favourite`` flag, or one image's index in ``favourite_images``. The click sets the state the
designer saw changed, so a double click stars once. History filters by starred tasks (a task
counts when it or one of its images is starred) and by one batch of the workspace.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from components import problems, services, team
from components.row_action import Action
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.store import BatchSummary

STAR, UNSTAR = ":material/star:", ":material/star_border:"
BATCH_LABEL_SHOWN = 60  # characters of a batch's title in a picker
ONLY_STARRED = "favourites:only"  # the History filter widgets' keys
BATCH = "favourites:batch"
BATCHES_LISTED = 50


def is_starred(record: TaskRecord, index: int | None = None) -> bool:
    """Whether the task (index None) or one of its images is starred."""
    return record.favourite if index is None else index in record.favourite_images


def _set(record_id: str, index: int | None, value: bool) -> None:
    """The star's callback: store the state the designer asked for."""
    store = services.studio().store
    with problems.store_guard():
        try:
            if index is None:
                store.set_favourite(record_id, value)
            else:
                store.set_image_favourite(record_id, index, value)
        except KeyError:  # deleted meanwhile: nothing to star
            pass


def star_button(record: TaskRecord, index: int | None = None, *, where: str) -> bool:
    """A star that toggles a task (index None) or one of its images; returns the drawn state.

    The key is ``<where>:<record id>:star`` (``:star<index>`` for an image), its CSS class
    ``st-key-<where>-<record id>-star<index>``.
    """
    starred = is_starred(record, index)
    what = "this task" if index is None else f"image {index + 1}"
    st.button(
        "",
        icon=STAR if starred else UNSTAR,
        key=f"{where}:{record.id}:star{'' if index is None else index}",
        type="tertiary",
        help=f"{'Unstar' if starred else 'Star'} {what}",
        on_click=_set,
        args=(record.id, index, not starred),
    )
    return starred


def star_action(record: TaskRecord, *, where: str) -> Action:
    """The task's star as a board row's action (the same key where Streamlit draws it)."""
    starred = is_starred(record)

    def toggle() -> None:
        _set(record.id, None, not starred)
        st.rerun()

    return Action(
        "star",
        "★" if starred else "☆",
        toggle,
        help=f"{'Unstar' if starred else 'Star'} this task",
        key=f"{where}:{record.id}:star",
    )


# ---------------------------------------------------------------------- batches


def batch_label(summary: BatchSummary) -> str:
    """A batch as one line of a picker: when, its title (cut), its count and state (plain)."""
    title = summary.label or "(untitled)"
    if len(title) > BATCH_LABEL_SHOWN:
        title = title[: BATCH_LABEL_SHOWN - 1] + "…"
    parts = [time.strftime("%m-%d %H:%M", time.localtime(summary.first_at)), title]
    parts.append(f"{summary.count} task{'s' if summary.count != 1 else ''}")
    if summary.unfinished:
        parts.append(f"{summary.unfinished} running")
    if summary.failed:
        parts.append(f"{summary.failed} failed")
    if summary.starred:
        parts.append(f"{summary.starred} starred")
    return " · ".join(parts)


def pick_batch(
    summaries: list[BatchSummary],
    *,
    label: str,
    key: str,
    none: str | None = None,
    where: Any = None,
    **kw: Any,
) -> str | None:
    """A select box of batches (the latest first); ``none``: an entry for no batch at all.

    A picked batch no longer listed (deleted) falls back to the first entry (Streamlit drops
    a value its options lack); ``where``: the container to draw in (the page by default).
    """
    labels = {s.batch_id: batch_label(s) for s in summaries}
    options: list[str | None] = ([None] if none is not None else []) + list(labels)
    if not options:
        return None
    return (where or st).selectbox(
        label,
        options,
        key=key,
        format_func=lambda batch_id: none if batch_id is None else labels[batch_id],
        **kw,
    )


def history_filters() -> dict[str, Any]:
    """History's "Starred only" and "Batch" filters: ``{"favourites": bool, "batch": id}``.

    The result goes straight into ``store.list`` / ``store.count`` (and count_upto) filters.
    """
    store, workspace = services.studio().store, services.connection().workspace
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    only = left.toggle(
        "Starred only", key=ONLY_STARRED, help="Tasks starred, or with a starred image"
    )
    batch = pick_batch(
        store.batches(workspace, limit=BATCHES_LISTED, owner=team.owner()),
        label="Batch",
        key=BATCH,
        none="All tasks",
        help="Only the tasks of one prompt matrix or sweep",
        where=right,
    )
    return {"favourites": bool(only), "batch": batch}
