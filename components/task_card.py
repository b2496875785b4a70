"""A task as a large card: prompt, parameters, live state, the 2x2 grid with U1–U4 / V1–V4.

``render`` draws a task where a page lists it: as one row of the dense board
(components/board.py, the default) or, when the designer chose the large cards, as the card
drawn here. Prompts, task ids and other user- or provider-supplied strings are shown as plain
text (``st.text`` or ``plain``), never as Markdown. A result file missing from the data folder
shows a placeholder with "Download again" instead of breaking the page. Images are shown as
their stored thumbnails (components/display.py); the full-size files go out only as downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import actions, board, display, results, session, task_status, viewer
from components.plain import plain
from components.row_action import Action, draw_buttons
from components.sitemap import MODE_TITLES
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES
from mjstudio.tasks.record import TaskRecord

Bar = Callable[[TaskRecord], list[Action]]


def render_all(
    shown: list[TaskRecord],
    *,
    where: str,
    compact: bool = False,
    bar: Bar | None = None,
    slot_for: Callable[[TaskRecord], bool] | None = None,
) -> dict[str, DeltaGenerator]:
    """Draw a page's tasks in order: the board's rows (runs of finished tasks drawn by the
    browser), or large cards when chosen. Where ``slot_for`` says so, an empty slot for the
    feed's live fragment instead (returned by record id)."""
    if not session.large_cards():
        return board.draw(shown, where=where, bar=bar, slot_for=slot_for)
    slots: dict[str, DeltaGenerator] = {}
    for record in shown:
        if slot_for is not None and slot_for(record):
            slots[record.id] = st.container()
        else:
            render(record, where=where, compact=compact, bar=bar)
    return slots


def render(
    record: TaskRecord, *, where: str, compact: bool = False, bar: Bar | None = None
) -> None:
    """Draw one task: a board row, or a bordered card when large cards are chosen.

    ``bar`` gives the page's own actions for the task (History's Open, Delete...).
    """
    if not session.large_cards():
        board.row(record, where=where, bar=bar)
        return
    with st.container(border=True, key=f"card-{where}-{record.id}"):
        _header(record)
        if record.is_done:
            _results(record, where=where, compact=compact)
        else:
            task_status.render(record, where=where)
        _lineage(record)
    if bar is not None:
        draw_buttons(bar(record))


def _header(record: TaskRecord) -> None:
    left, right = st.columns([5, 1])
    left.markdown(f"**{plain(MODE_TITLES.get(record.mode, record.mode))}**")
    left.text(results.title(record))
    flags = plain(results.flags(record)) or "default parameters"
    left.caption(f"{flags} · {results.when(record.created_at)}")
    right.markdown(f"{results.STATE_ICONS[record.state]} {record.state.value}")


def _results(record: TaskRecord, *, where: str, compact: bool) -> None:
    files = results.paths(record.files)
    missing = results.missing(files)
    if missing:
        st.warning(
            f"Image(s) {', '.join(map(str, missing))} are missing from the data folder.",
            icon=":material/broken_image:",
        )
        task_status.download_again(record, where=where)
    shown = results.shown(record, files)
    if record.mode == "upscale":
        _upscaled(record, files[0], shown[0], where=where, compact=compact)
        return
    _grid(record, shown, where=where)
    if not compact:
        _uv_buttons(record, files, where=where)
    present = [p for p in files if p.is_file()]
    if present:
        actions.download_all(record, present, where=where)
    if not compact:
        actions.prompt_tools(record, where=where)


def _upscaled(
    record: TaskRecord, path: Path, shown: Path | None, *, where: str, compact: bool
) -> None:
    size = display.pixel_size(path)
    if (
        size is None
        or shown is None
        or not display.image(shown, caption=f"Upscaled · {size[0]}×{size[1]}", width="content")
    ):
        display.placeholder("Upscaled image")
    else:
        actions.download_one(record, 0, path, where=where)
        viewer.open_button(record, 0, where=where)
    if not compact:
        actions.prompt_tools(record, where=where)


def _grid(record: TaskRecord, shown: list[Path | None], *, where: str) -> None:
    for row in range(0, len(shown), 2):
        cols = st.columns(2, gap="small")
        for col, index in zip(cols, range(row, min(row + 2, len(shown))), strict=False):
            with col:
                path, caption = shown[index], f"Image {index + 1}"
                if path is None or not display.image(path, caption=caption, width="stretch"):
                    display.placeholder(caption)
                else:
                    viewer.open_button(record, index, where=where)


def _uv_buttons(record: TaskRecord, files: list[Path], *, where: str) -> None:
    a, b = st.columns(2)
    up_type = a.selectbox(
        "Upscale type",
        list(UPSCALE_TYPES),
        format_func=UPSCALE_TYPES.get,
        key=f"{where}:{record.id}:utype",
    )
    vary_type = b.selectbox(
        "Vary type", list(VARY_TYPES), format_func=VARY_TYPES.get, key=f"{where}:{record.id}:vtype"
    )
    _button_row(record, "U", "upscale", up_type, UPSCALE_TYPES, where=where)
    _button_row(record, "V", "vary", vary_type, VARY_TYPES, where=where)
    downloads = st.columns(4)
    for i, path in enumerate(files):
        if path.is_file():
            with downloads[i % 4]:
                actions.download_one(record, i, path, where=where)


def _button_row(
    record: TaskRecord, letter: str, mode: str, kind: int, kinds: dict, *, where: str
) -> None:
    """One row of U1–U4 or V1–V4: button N works on image N (index N-1).

    The keys carry the task's click token: a second click of a double click arrives for a
    button that is no longer drawn once the first one's task was stored (one task per click).
    """
    verb = "Upscale" if mode == "upscale" else "Vary"
    nonce = actions.click_nonce(record)
    for i, col in enumerate(st.columns(4)[: len(record.files)]):
        if col.button(
            f"{letter}{i + 1}",
            key=f"{where}:{record.id}:{letter}{i + 1}:{nonce}",
            width="stretch",
            help=f"{verb} image {i + 1} ({kinds[kind]})",
        ):
            actions.derive(record, mode, i, kind)


def _lineage(record: TaskRecord) -> None:
    text = results.lineage(record)
    if text:
        st.caption(text)
