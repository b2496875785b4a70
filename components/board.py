"""The dense board: each task is one row, its four thumbnails side by side (an upscale: its one
image), then its state, prompt (plain text), parameters and a small action bar.

Finished tasks' rows are drawn by the browser, each run of them one element
(components/board_row.py), so a page's cost hardly grows with its rows. Under each thumbnail
sit U<n> (upscale, Standard HD), V<n> (vary, subtle), "⤢" (the viewer, components/viewer.py)
and "⋯", a menu with every upscale and vary type, Paint this and Use as reference. A running
task's row is Streamlit's own: its progress where its images will be, redrawn by the feed's
live fragment (components/feed.py) until it is done.

A row's actions (``bar``: star, use these settings, re-run by default; History's own there) are
``Action``s (components/row_action.py): buttons of the browser-drawn row, or Streamlit's small
buttons on a running task's row. With the board, Imagine shows four whole grids on a 1440x900
screen (tests/e2e/test_board.py).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import actions, board_row, favourites, results, session, task_status
from components.plain import plain
from components.row_action import Action, draw_buttons
from components.sitemap import MODE_TITLES
from mjstudio.tasks.record import TaskRecord

GAP = 8  # CSS px between the four tiles
IMAGES = 4 * board_row.TILE + 3 * GAP  # a running task's progress takes the images' room
Bar = Callable[[TaskRecord], list[Action]]
STYLE = """<style>
div[class*="st-key-rowbus-"] { display: none; }
div[class*="st-key-board-"] div[data-testid="stVerticalBlock"][class*="st-key-card-"],
div[class*="st-key-board-"] div[data-testid="stHorizontalBlock"][class*="st-key-card-"] {
    padding: 0.5rem 0.75rem;
}
div[class*="st-key-board-"] div[class*="st-key-card-"] button {
    min-height: 1.75rem; padding-top: 0; padding-bottom: 0;
}
div[class*="st-key-board-"] [data-testid="stText"] span,
div[class*="st-key-board-"] [data-testid="stCaptionContainer"] p {
    display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden;
}
</style>"""


def style() -> None:
    """The board's compact spacing for Streamlit-drawn (running) rows, and its click bus
    hidden (it draws nothing): CSS only, scoped to the board's own elements (a finished row
    styles itself).

    Style-only HTML goes to Streamlit's event container: it takes no room on the page.
    """
    st.html(STYLE)


def wrapper_key(where: str) -> str:
    """The key of the container around a page's rows: the stylesheet applies to board rows."""
    return f"cards-{where}" if session.large_cards() else f"board-{where}"


def use_action(record: TaskRecord, *, where: str) -> Action:
    """Use these settings: the task's parameters on its mode's page."""
    return Action(
        "use",
        "Use these settings",
        lambda: actions.use_settings(record),
        help="Fill this mode's page with the task's parameters",
        key=f"{where}:{record.id}:use",
    )


def rerun_action(record: TaskRecord, *, where: str) -> Action:
    """Re-run: the same request again as a new task (a double click sends one)."""
    return Action(
        "rerun",
        "Re-run",
        lambda: actions.rerun(record),
        help="Send the same request again as a new task",
        key=f"{where}:{record.id}:rerun:{actions.click_nonce(record)}",
        once=True,
    )


def default_actions(record: TaskRecord, *, where: str) -> list[Action]:
    """A row's actions where the page has none of its own: star, use these settings, re-run."""
    return [
        favourites.star_action(record, where=where),
        use_action(record, where=where),
        rerun_action(record, where=where),
    ]


def draw(
    records: list[TaskRecord],
    *,
    where: str,
    bar: Bar | None = None,
    slot_for: Callable[[TaskRecord], bool] | None = None,
) -> dict[str, DeltaGenerator]:
    """Tasks as board rows, in order: each run of finished tasks one browser-drawn element,
    any other task a Streamlit row, or an empty slot (returned by id) where ``slot_for`` says
    the feed's live fragment fills it."""
    board_row.bus(where)  # before the rows: where their clicks arrive
    slots: dict[str, DeltaGenerator] = {}
    run: list[tuple[TaskRecord, list[Action]]] = []
    runs = 0
    for record in records:
        slotted = slot_for is not None and slot_for(record)
        if record.is_done and not slotted:
            run.append((record, _actions(record, where=where, bar=bar)))
            continue
        runs += _flush(run, where, runs)
        if slotted:
            slots[record.id] = st.container()
        else:
            row(record, where=where, bar=bar)
    _flush(run, where, runs)
    return slots


def _flush(run: list[tuple[TaskRecord, list[Action]]], where: str, number: int) -> int:
    """Draw a run of finished rows as one element and empty it; 1 if there was one, else 0.

    The element's key is its place on the page (rows-<where>-<n>), not its first task: a task
    that finishes above joins the same element, which keeps the rows already drawn (a click
    on one of them is not lost to a new element).
    """
    if not run:
        return 0
    board_row.draw(list(run), where=where, name=f"rows-{where}-{number}")
    run.clear()
    return 1


def _actions(record: TaskRecord, *, where: str, bar: Bar | None) -> list[Action]:
    return bar(record) if bar is not None else default_actions(record, where=where)


def row(record: TaskRecord, *, where: str, bar: Bar | None = None) -> None:
    """One task as one row of the board (its card key: card-<where>-<id>)."""
    if record.is_done:
        found = _actions(record, where=where, bar=bar)
        board_row.draw([(record, found)], where=where, name=f"rows-{where}-{record.id}")
        return
    with st.container(border=True, horizontal=True, gap="small", key=f"card-{where}-{record.id}"):
        with st.container(width=IMAGES):
            task_status.render(record, where=where)
        with st.container(gap="xxsmall"):
            _about(record)
            if bar is not None:
                draw_buttons(bar(record))


def _about(record: TaskRecord) -> None:
    mode = plain(MODE_TITLES.get(record.mode, record.mode))
    icon = results.STATE_ICONS[record.state]
    st.caption(f"{icon} {record.state.value} · **{mode}** · {results.when(record.created_at)}")
    st.text(results.title(record))  # two lines at most on the board; the viewer shows it all
    details = [plain(results.flags(record)) or "default parameters", results.lineage(record)]
    st.caption(" · ".join(part for part in details if part))
