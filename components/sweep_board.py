"""A batch's comparison board: rows x columns with their labels, each cell its task's images.

Like A1111's X/Y plot: the row labels down the left, the column labels across the top, in each
cell the task of that (row value, column value) as a 2x2 grid of its stored thumbnails
(components/display.py: sent as stored), a star on each image and one for the task. A page run
draws the finished cells and leaves a slot for each running one; one fragment fills the slots
and reruns every REFRESH_S while a cell runs, reading only those records again (and only when
the store says one changed); when one finishes it asks for one full run, which draws it
finished and, once none runs, leaves no timer. "Download contact sheet" makes the board's PNG
(mjstudio.tasks.batches.board_sheet) when clicked, from the records as they are then.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import (
    display,
    favourites,
    problems,
    records,
    services,
    session,
    task_status,
    team,
)
from components.plain import plain
from mjstudio.api.prompt import format_flags
from mjstudio.tasks.batches import Board, board_of, board_sheet
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.store import TaskStore

WHERE = "sweeps"  # the prefix of the board's widget keys
PICK = "sweeps:pick"  # the batch shown (the picker's key)
LIVE = "sweeps:live"  # the running cells' records as last read (records.fresh)
NOTICE = "sweeps:notice"  # a message for the next run (after a delete)
REFRESH_S = 0.5
BATCHES_LISTED = 20
LABEL_WEIGHT, CELL_WEIGHT = 1, 2  # the row labels' column against a cell's
CELL_PX, LABEL_PX = 230, 140  # a narrow board keeps cells this wide (two rows fit a screen)
NARROW = 3  # columns up to which the board keeps that width; a wider one takes the page's
STYLE = """<style>
div[class*="st-key-sweepthumb-"] { position: relative; }
div[class*="st-key-sweepstar-"] {
    position: absolute; right: 0.2rem; top: 0.2rem; width: auto;
    background: rgba(255, 255, 255, 0.8); border-radius: 0.4rem;
}
div[class*="st-key-sweepstar-"] button { min-height: 1.5rem; padding: 0 0.2rem; }
</style>"""


def show_notice() -> None:
    """The message a delete left for this run, once."""
    message = st.session_state.pop(NOTICE, None)
    if message:
        st.success(message, icon=":material/delete:")


def show_next(batch_id: str) -> None:
    """Show this batch's board on the next run (call before the picker is drawn)."""
    st.session_state[PICK] = batch_id


def recent() -> None:
    """The picker of the workspace's latest batches, and the picked batch's board."""
    store, workspace = services.studio().store, services.connection().workspace
    summaries = team.boards(store, workspace, BATCHES_LISTED)
    if not summaries:
        st.caption("Send a sweep or a prompt matrix: its board appears here, live.")
        return
    picked = favourites.pick_batch(summaries, label="Board", key=PICK)
    if picked is not None:
        render(store, workspace, picked)


def render(store: TaskStore, workspace: str, batch_id: str) -> None:
    """One batch's board, its running cells refreshed by a fragment while they run."""
    found = store.batch(workspace, batch_id)
    if not found:
        st.caption("This batch has no tasks any more.")
        return
    board = board_of(found)
    _toolbar(store, workspace, batch_id, board, found)
    st.html(STYLE)
    narrow = len(board.cols) <= NARROW
    width = LABEL_PX + CELL_PX * len(board.cols) if narrow else "stretch"
    with st.container(key=f"sweepboard-{batch_id}", gap="small", width=width):
        slots = _grid(board)
    if slots:
        st.fragment(run_every=REFRESH_S)(_live)(slots)


# --------------------------------------------------------------------------- toolbar


def _toolbar(
    store: TaskStore, workspace: str, batch_id: str, board: Board, found: list[TaskRecord]
) -> None:
    """The board's title and progress, its contact sheet download and Delete batch."""
    st.markdown(f"**{plain(board.label)}**")
    done = sum(1 for r in found if r.is_done)
    st.caption(f"{len(board.rows)} × {len(board.cols)} · {done} of {len(found)} tasks done")

    def sheet() -> bytes:
        return board_sheet(board_of(store.batch(workspace, batch_id)), store.abspath)

    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Download contact sheet",
            data=sheet,  # made when clicked, from the records as they are then
            file_name=f"mjstudio-board-{batch_id[:8]}.png",
            mime="image/png",
            on_click="ignore",
            icon=":material/download:",
            key=f"{WHERE}:sheet:{batch_id}",
            help="The board as one PNG: the prompt, the labels and every cell's images",
        )
        team.share_board_button(store, workspace, batch_id, found)
        if all(map(team.is_mine, found)):  # a board the team shared is not the visitor's to delete
            _delete(store, workspace, batch_id, starred=sum(1 for r in found if r.is_starred))


def _delete(store: TaskStore, workspace: str, batch_id: str, *, starred: int) -> None:
    """Delete batch, in a popover: starred tasks stay unless the box is ticked."""
    with st.popover("Delete batch", icon=":material/delete:"):
        st.caption("Removes the batch's tasks and their images from the studio.")
        everything = starred > 0 and st.checkbox(
            f"Also delete the {starred} starred task{'s' if starred != 1 else ''}",
            key=f"{WHERE}:delete-starred:{batch_id}",
        )
        if starred and not everything:
            st.caption("Starred tasks are kept.")
        if st.button("Delete", key=f"{WHERE}:delete:{batch_id}", type="primary"):
            _delete_batch(store, workspace, batch_id, bool(everything))


def _delete_batch(store: TaskStore, workspace: str, batch_id: str, everything: bool) -> None:
    """Delete the batch's tasks (the starred ones too when asked); they leave the feed."""
    before = [r.id for r in store.batch(workspace, batch_id)]
    deleted, kept = store.delete_batch(workspace, batch_id, include_favourites=everything)
    left = {r.id for r in store.batch(workspace, batch_id)}
    for record_id in before:
        if record_id not in left:
            session.drop_from_feed(record_id)
    message = f"Deleted {deleted} task{'s' if deleted != 1 else ''}"
    st.session_state[NOTICE] = message + (f"; kept {kept} starred." if kept else ".")
    st.rerun()


# --------------------------------------------------------------------------- the grid


def _grid(board: Board) -> dict[str, DeltaGenerator]:
    """The labels and the cells; an empty slot (for the fragment) for each running task."""
    weights = [LABEL_WEIGHT] + [CELL_WEIGHT] * len(board.cols)
    head = st.columns(weights, gap="small")
    axes = " / ".join(a for a in (f"{board.row_axis} ↓", f"{board.col_axis} →") if len(a) > 2)
    head[0].caption(plain(axes))
    for c, label in enumerate(board.cols):
        head[c + 1].markdown(f"**{plain(label)}**" if label else "")
    slots: dict[str, DeltaGenerator] = {}
    for r, label in enumerate(board.rows):
        line = st.columns(weights, gap="small", vertical_alignment="center")
        line[0].markdown(f"**{plain(label)}**" if label else "")
        for c in range(len(board.cols)):
            with line[c + 1], st.container(border=True, key=f"sweepcell-{r}-{c}"):
                slots |= _cell(board.at(r, c))
    return slots


def _cell(found: list[TaskRecord]) -> dict[str, DeltaGenerator]:
    """A cell's tasks (copies in order): drawn when finished, a slot while running."""
    if not found:
        st.caption("No task here.")
    slots: dict[str, DeltaGenerator] = {}
    for record in found:
        if records.is_live(record):
            slots[record.id] = st.container()
        else:
            task_view(record)
    return slots


def task_view(record: TaskRecord) -> None:
    """One task in a cell: its images with their stars, or its state; the task's star and
    its parameters as flags."""
    if record.is_done:
        _images(record)
    else:
        task_status.render(record, where=WHERE)
    with st.container(horizontal=True, gap="xxsmall", vertical_alignment="center"):
        favourites.star_button(record, where=WHERE)
        st.caption(plain(format_flags(record.params) or "default parameters"))


def _images(record: TaskRecord) -> None:
    """The task's images two by two (1 2 / 3 4), each from its stored thumbnail."""
    store = services.studio().store
    halves = st.columns(2, gap="xxsmall")
    for index, path in enumerate(_shown(store, record)):
        key = f"{record.id}-{index}"
        with halves[index % 2], st.container(key=f"sweepthumb-{key}", gap=None):
            if path is None or not display.image(path):
                display.placeholder(f"Image {index + 1}")
            with st.container(key=f"sweepstar-{key}", width="content"):
                favourites.star_button(record, index, where=WHERE)


def _shown(store: TaskStore, record: TaskRecord) -> list:
    """Per image: its thumbnail, else its file (made small once), else None (missing)."""
    found = []
    for index, rel in enumerate(record.files):
        thumb = record.thumbs[index] if index < len(record.thumbs) else None
        candidates = [store.abspath(p) for p in (thumb, rel) if p]
        found.append(next((p for p in candidates if p.is_file()), None))
    return found


def _live(slots: dict[str, DeltaGenerator]) -> None:
    """The fragment: the running tasks, each in its slot; a full run once one is done."""
    with problems.store_guard():
        ids = list(slots)
        kept = records.fresh(services.studio().store, ids, st.session_state.get(LIVE))
        st.session_state[LIVE] = kept
        current = kept[2]
        if len(current) < len(ids) or not all(records.is_live(r) for r in current):
            st.rerun()  # finished or deleted: a full run draws it once, outside the timer
        for record in current:
            with slots[record.id]:
                task_view(record)
