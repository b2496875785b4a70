"""The image viewer: one result large in a dialog, with its task's prompt and parameters, ←/→
(buttons and the arrow keys) through the grid and on through the board, and every action.

A thumbnail's "⤢" button opens it (its callback records which image); the page's board calls
``show`` once per run, which draws the dialog while an image is open, so a full run (a new task
sent from the viewer, a task finishing in the feed) keeps it open. Inside, a step reruns only
the dialog (a Streamlit dialog is a fragment). Closing it (×, Esc, a click outside) forgets the
image. New tasks go through components/actions.py: stored before sent, one per click, linked to
the image they were made from.
"""

from __future__ import annotations

import streamlit as st

from components import (
    actions,
    display,
    favourites,
    image_actions,
    records,
    results,
    services,
    session,
)
from components.plain import plain
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES
from mjstudio.api.prompt import with_flags
from mjstudio.tasks.record import TaskRecord

AT = "viewer:at"  # (where, record id, image index) shown; absent when the viewer is closed
ORDER = "viewer:order:"  # + where: the ids of the tasks on that board, in order
NOTE = "viewer:note"  # what the viewer's last action sent, said on its next run
REMIX = "viewer:remix"
BOX = (600, 560)  # the picture fits this (CSS px): the dialog stays within a 1440x900 screen
Spot = tuple[str, int]  # (record id, image index)


def open_button(record: TaskRecord, index: int, *, where: str) -> None:
    """The small button under a thumbnail that opens it in the viewer."""
    st.button(
        "⤢",
        key=f"{where}:{record.id}:open{index}",
        type="tertiary",
        help=f"Open image {index + 1} large (←/→ step through the board)",
        on_click=open_at,
        args=(where, record.id, index),
    )


def open_at(where: str, record_id: str, index: int) -> None:
    """Show this image in the viewer (a button callback: the run that follows draws it)."""
    st.session_state[AT] = (where, record_id, index)
    st.session_state.pop(NOTE, None)


def close() -> None:
    """Close the viewer (its dismiss callback, and before going to another page)."""
    st.session_state.pop(AT, None)
    st.session_state.pop(NOTE, None)


def show(where: str, order: list[str]) -> None:
    """Remember the board's tasks (for ←/→) and draw the viewer when one of its images is open."""
    st.session_state[ORDER + where] = order
    at = st.session_state.get(AT)
    if at is None:
        return
    if at[0] != where or session.came_from_another_page():
        close()  # opened on another page: not reopened here
        return
    _dialog()


def _body() -> None:
    """The dialog's content: the steps, the picture, what the task is, the actions."""
    at = st.session_state.get(AT)
    record = services.studio().store.get(at[1]) if at else None
    if at is None or record is None or not record.is_done:
        st.caption("This image is no longer in the history.")
        return
    where, index = at[0], min(at[2], len(record.files) - 1)
    picture, about = st.columns([BOX[0], 560], gap="medium")
    with picture:
        _steps(where, record, index)
        _picture(record, index)
    with about:
        _about(record, index)
        _actions(record, index)


_dialog = st.dialog("Image viewer", width="large", on_dismiss=close)(_body)


# --------------------------------------------------------------------------- stepping


def _order(where: str, record: TaskRecord) -> list[str]:
    order = st.session_state.get(ORDER + where) or []
    return order if record.id in order else [record.id]


def _next_task(order: list[str], start: int, step: int) -> TaskRecord | None:
    """The nearest task with images from ``start`` on in direction ``step`` (by id lookups)."""
    position = start + step
    while 0 <= position < len(order):
        found = records.by_ids(services.studio().store, [order[position]])
        if found and found[0].is_done:
            return found[0]
        position += step
    return None


def neighbours(where: str, record: TaskRecord, index: int) -> tuple[Spot | None, Spot | None]:
    """The images before and after this one: in its grid, then in the board's next tasks."""
    order = _order(where, record)
    position = order.index(record.id)
    before: Spot | None = (record.id, index - 1) if index > 0 else None
    after: Spot | None = (record.id, index + 1) if index + 1 < len(record.files) else None
    if before is None and (prev := _next_task(order, position, -1)) is not None:
        before = (prev.id, len(prev.files) - 1)
    if after is None and (following := _next_task(order, position, 1)) is not None:
        after = (following.id, 0)
    return before, after


def step(where: str, direction: int) -> None:
    """Show the next (1) or previous (-1) image: a button callback, relative to the image shown
    when it runs, so two quick presses of a key move two images."""
    at = st.session_state.get(AT)
    record = services.studio().store.get(at[1]) if at else None
    if at is None or record is None or not record.is_done:
        return
    before, after = neighbours(where, record, min(at[2], len(record.files) - 1))
    target = after if direction > 0 else before
    if target is not None:
        open_at(where, *target)


def _steps(where: str, record: TaskRecord, index: int) -> None:
    before, after = neighbours(where, record, index)
    order = _order(where, record)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(
            "Previous",
            icon=":material/arrow_back:",
            key="viewer:prev",
            shortcut="Left",
            disabled=before is None,
            help="The previous image (← key)",
            on_click=step,
            args=(where, -1),
        )
        st.caption(
            f"Image {index + 1} of {len(record.files)} · task {order.index(record.id) + 1} "
            f"of {len(order)} on this board",
            width="stretch",
            text_alignment="center",
        )
        st.button(
            "Next",
            icon=":material/arrow_forward:",
            key="viewer:next",
            shortcut="Right",
            disabled=after is None,
            help="The next image (→ key)",
            on_click=step,
            args=(where, 1),
        )


# --------------------------------------------------------------------------- what it shows


def _picture(record: TaskRecord, index: int) -> None:
    path = results.paths(record.files)[index]
    label = "Upscaled" if record.mode == "upscale" else f"Image {index + 1}"
    size = display.pixel_size(path)
    caption = f"{label} · {size[0]}×{size[1]}" if size else label
    if display.large(path, box=BOX, caption=caption) is None:
        display.placeholder(label)


def _about(record: TaskRecord, index: int) -> None:
    note = st.session_state.get(NOTE)  # until the viewer steps or closes
    if note:
        st.success(note, icon=":material/send:")
    if record.prompt:  # plain text with a copy button: the prompt with its flags
        st.code(with_flags(record.prompt, record.params), language=None, wrap_lines=True)
    else:
        st.text(results.title(record))
    flags = plain(results.flags(record)) or "default parameters"
    st.caption(f"{results.STATE_ICONS[record.state]} {flags} · {results.when(record.created_at)}")
    lineage = results.lineage(record)
    if lineage:
        st.caption(lineage)


# --------------------------------------------------------------------------- what it does


def _actions(record: TaskRecord, index: int) -> None:
    if image_actions.can_derive(record):
        _derive_buttons(record, index)
    paint, reference = st.columns(2)
    if paint.button(image_actions.PAINT, key="viewer:paint", icon=":material/brush:"):
        close()
        image_actions.paint_this(record, index)
    if reference.button(image_actions.REFERENCE, key="viewer:reference", icon=":material/image:"):
        close()
        image_actions.use_as_reference(record, index)
    use, download = st.columns(2)
    with use:
        favourites.star_button(record, index, where="viewer")
    if use.button("Use these settings", key="viewer:use", icon=":material/tune:"):
        close()
        actions.use_settings(record)
    path = results.paths(record.files)[index]
    if path.is_file():
        with download:
            actions.download_one(record, index, path, where="viewer", label="Download")


def _derive_buttons(record: TaskRecord, index: int) -> None:
    """Vary subtle / strong (with the optional remix prompt) and every upscale type."""
    nonce = actions.click_nonce(record)
    remix = st.text_input("Remix prompt (optional)", key=REMIX, placeholder="steer the variation")
    for column, kind in zip(st.columns(len(VARY_TYPES)), VARY_TYPES, strict=True):
        label = f"Vary ({VARY_TYPES[kind].lower()})"
        if column.button(label, key=f"viewer:vary{kind}:{nonce}", icon=":material/shuffle:"):
            _sent(f"{label} of image {index + 1}")
            image_actions.vary(record, index, kind, remix)
            st.session_state.pop(NOTE, None)  # reached only when nothing was sent
    st.caption("Upscale")
    for column, kind in zip(st.columns(len(UPSCALE_TYPES)), UPSCALE_TYPES, strict=True):
        label = UPSCALE_TYPES[kind]
        if column.button(label, key=f"viewer:up{kind}:{nonce}", width="stretch"):
            _sent(f"Upscale ({label}) of image {index + 1}")
            image_actions.upscale(record, index, kind)
            st.session_state.pop(NOTE, None)


def _sent(what: str) -> None:
    """Say on the viewer's next run what was sent (the action reruns the whole page)."""
    st.session_state[NOTE] = f"Sent: {what}. It appears on the board as it runs."
