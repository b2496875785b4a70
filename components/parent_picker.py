"""Pick the finished task (and its image) that Vary or Upscale works on."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components import display, services, session, team
from mjstudio.tasks.record import RecordState, TaskRecord

FROM_HISTORY = "From history"
CHOICES = 20  # finished tasks offered: one page of the newest
BY_ID = "Paste a task id"


@dataclass(frozen=True)
class Parent:
    """The task id to send, its stored record when we have one, and the image index."""

    task_id: str
    record: TaskRecord | None
    index: int


def pick(page: str) -> Parent | None:
    """Choose a task and one image of it; None until both are known."""
    how = st.segmented_control(
        "Task",
        (FROM_HISTORY, BY_ID),
        default=FROM_HISTORY,
        key=f"{page}:how",
        label_visibility="collapsed",
    )
    record = _by_id(page) if how == BY_ID else _from_history(page)
    if isinstance(record, str):
        return _choose_index(page, record, None, 4)
    if record is None:
        return None
    return _choose_index(page, record.task_id or "", record, len(record.files) or 4)


def _from_history(page: str) -> TaskRecord | None:
    conn = services.connection()
    store = services.studio().store
    done = store.list(conn.workspace, states=[RecordState.SUCCESS], limit=CHOICES, **team.mine())
    done = [r for r in done if r.task_id]
    if not done:
        st.info(
            "No finished task yet in this workspace: generate one on Imagine first, "
            "or paste a task id."
        )
        return None
    preset = session.last_pick(page)
    ids = [r.id for r in done]
    index = ids.index(preset[0]) if preset and preset[0] in ids else 0
    return st.selectbox("Finished task", done, index=index, key=f"{page}:task", format_func=_label)


def _label(record: TaskRecord) -> str:
    what = record.prompt or f"{record.mode} of an earlier task"
    return f"{what[:60]} · {record.mode} · {record.task_id}"


def _by_id(page: str) -> TaskRecord | str | None:
    task_id = st.text_input("Task id", key=f"{page}:task-id", placeholder="the provider's taskId")
    task_id = (task_id or "").strip()
    if not task_id:
        return None
    record = services.studio().parent_by_task_id(services.connection(), task_id)
    if record is None:
        st.caption("Not in this workspace's history; it is sent as given.")
        return task_id
    return record


def _choose_index(page: str, task_id: str, record: TaskRecord | None, count: int) -> Parent:
    if record is not None and record.thumbs:
        cols = st.columns(4)
        store = services.studio().store
        for i, rel in enumerate(record.thumbs):
            with cols[i % 4]:
                if not display.image(store.abspath(rel), caption=f"Image {i + 1}"):
                    st.caption(f"Image {i + 1}: the file is missing")
    preset = session.last_pick(page)
    default = preset[1] if preset and record is not None and preset[0] == record.id else 0
    index = st.radio(
        "Image",
        list(range(count)),
        index=min(default, count - 1),
        horizontal=True,
        key=f"{page}:index:{task_id}",
        format_func=lambda i: f"Image {i + 1}",
    )
    if record is not None:
        session.remember_pick(page, record.id, index)
    return Parent(task_id=task_id, record=record, index=index)
