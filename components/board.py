"""The dense board: each task is one row, its four thumbnails side by side (an upscale: its one
image), then its state, prompt (plain text), parameters and a small action bar.

Under each thumbnail sit the controls that act on that image: U<n> (upscale, Standard HD),
V<n> (vary, subtle), "⤢" (the viewer, components/viewer.py) and a menu with every upscale and
vary type, Paint this and Use as reference. The U1–U4 / V1–V4 labels and keys are those of the
large card, so a double click still makes one task. A running task shows its progress where its
images will be. The thumbnails are the stored ones, sent as they are (components/display.py).

A small stylesheet (``style``: CSS only, no script) scoped to the board's keyed containers makes
the rows compact and lays each image's controls over its bottom edge: with it, Imagine shows
four whole grids on a 1440x900 screen (tests/e2e/test_board.py). Without it the board still
works, one control line under each image.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from components import (
    actions,
    display,
    favourites,
    image_actions,
    results,
    session,
    task_status,
    viewer,
)
from components.plain import plain
from components.sitemap import MODE_TITLES
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES
from mjstudio.tasks.record import TaskRecord

TILE = 124  # CSS px: four tiles and the task's text fit a 1440 px wide screen with the sidebar
GAP = "xsmall"  # between the four tiles (8 px)
IMAGES = 4 * TILE + 3 * 8  # the images' width: a running task's progress takes the same room
STYLE = """<style>
div[class*="st-key-board-"] div[class*="st-key-card-"] { padding: 0.5rem 0.75rem; }
div[class*="st-key-board-"] div[class*="st-key-card-"] button {
    min-height: 1.75rem; padding-top: 0; padding-bottom: 0;
}
div[class*="st-key-board-"] [data-testid="stText"] span,
div[class*="st-key-board-"] [data-testid="stCaptionContainer"] p {
    display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden;
}
div[class*="st-key-thumb-"] { position: relative; }
div[class*="st-key-thumbtools-"] {
    position: absolute; left: 0.25rem; bottom: 0.25rem; width: auto; opacity: 0.8;
    background: rgba(255, 255, 255, 0.9); border-radius: 0.4rem; padding: 0 0.3rem;
}
div[class*="st-key-thumb-"]:hover div[class*="st-key-thumbtools-"] { opacity: 1; }
div[class*="st-key-thumbtools-"] button { min-height: 1.5rem; padding: 0 0.15rem; }
</style>"""


def style() -> None:
    """The board's compact spacing (CSS only, scoped to the board's own containers).

    Style-only HTML goes to Streamlit's event container: it takes no room on the page.
    """
    st.html(STYLE)


def wrapper_key(where: str) -> str:
    """The key of the container around a page's rows: the stylesheet applies to board rows."""
    return f"cards-{where}" if session.large_cards() else f"board-{where}"


def row(record: TaskRecord, *, where: str, bar: Callable[[TaskRecord], None] | None = None) -> None:
    """One task as one row of the board (the container key is the card's: card-<where>-<id>)."""
    with st.container(border=True, horizontal=True, gap="small", key=f"card-{where}-{record.id}"):
        if record.is_done:
            _images(record, where=where)
        else:
            with st.container(width=IMAGES):
                task_status.render(record, where=where)
        with st.container(gap="xxsmall"):
            _about(record, where=where)
            if record.is_done:
                _bar(record, where=where, bar=bar)
            elif bar is not None:
                bar(record)


# --------------------------------------------------------------------------- the images


def _images(record: TaskRecord, *, where: str) -> None:
    files = results.paths(record.files)
    shown = results.shown(record, files)
    if record.mode == "upscale":
        _upscaled(record, files[0], shown[0], where=where)
        return
    with st.container(horizontal=True, gap=GAP, width="content"):
        for index, path in enumerate(shown):
            with st.container(width=TILE, gap=None, key=f"thumb-{where}-{record.id}-{index}"):
                if path is None or not display.image(path, width="stretch"):
                    display.placeholder(f"Image {index + 1}")
                _controls(record, index, shown=path is not None, where=where)


def _upscaled(record: TaskRecord, path: Path, shown: Path | None, *, where: str) -> None:
    """An upscale's one image, as tall as a grid's, its size under it, then its controls."""
    size = display.pixel_size(path)
    with st.container(width=TILE, gap="xxsmall"):
        caption = f"Upscaled · {size[0]}×{size[1]}" if size else None
        if size is None or shown is None or not display.image(shown, caption=caption):
            display.placeholder("Upscaled image")
            return
        _controls(record, 0, shown=True, where=where, over=False)


def _controls(
    record: TaskRecord, index: int, *, shown: bool, where: str, over: bool = True
) -> None:
    """U<n>, V<n>, open and the menu of image ``index``: over its bottom edge, or under it."""
    nonce = actions.click_nonce(record)
    prefix = "thumbtools" if over else "tools"  # the stylesheet lays "thumbtools-" over the image
    with st.container(horizontal=True, gap="xxsmall", key=f"{prefix}-{where}-{record.id}-{index}"):
        if image_actions.can_derive(record):
            _derive_button(record, index, "U", nonce, where=where)
            _derive_button(record, index, "V", nonce, where=where)
        if not shown:
            return
        viewer.open_button(record, index, where=where)
        entry = st.menu_button(
            "⋯",
            image_actions.menu_entries(record),
            key=f"{where}:{record.id}:menu{index}:{nonce}",
            type="tertiary",
            help=f"Image {index + 1}: every upscale and vary type, Paint this, Use as reference",
        )
    if entry == image_actions.OPEN:
        viewer.open_at(where, record.id, index)
    elif entry:
        image_actions.run_entry(record, index, entry)


def _derive_button(record: TaskRecord, index: int, letter: str, nonce: str, *, where: str) -> None:
    """U<n> (Standard HD) or V<n> (Subtle): the key is the large card's, with the click token."""
    mode, kinds = ("upscale", UPSCALE_TYPES) if letter == "U" else ("vary", VARY_TYPES)
    verb = "Upscale" if letter == "U" else "Vary"
    if st.button(
        f"{letter}{index + 1}",
        key=f"{where}:{record.id}:{letter}{index + 1}:{nonce}",
        type="tertiary",
        help=f"{verb} image {index + 1} ({kinds[0]}); the ⋯ menu has the other types",
    ):
        actions.derive(record, mode, index, 0)


# --------------------------------------------------------------------------- the text


def _about(record: TaskRecord, *, where: str) -> None:
    mode = plain(MODE_TITLES.get(record.mode, record.mode))
    icon = results.STATE_ICONS[record.state]
    st.caption(f"{icon} {record.state.value} · **{mode}** · {results.when(record.created_at)}")
    st.text(results.title(record))  # two lines at most on the board; the viewer shows it all
    details = [plain(results.flags(record)) or "default parameters", results.lineage(record)]
    st.caption(" · ".join(part for part in details if part))
    missing = results.missing(results.paths(record.files)) if record.is_done else []
    if missing:
        st.warning(
            f"Image(s) {', '.join(map(str, missing))} are missing from the data folder.",
            icon=":material/broken_image:",
        )
        task_status.download_again(record, where=where)


def _bar(record: TaskRecord, *, where: str, bar: Callable[[TaskRecord], None] | None) -> None:
    """The task's actions: the page's own (``bar``) or use settings and re-run; a zip."""
    with st.container(horizontal=True, gap="xxsmall"):
        if bar is not None:
            bar(record)
        else:
            favourites.star_button(record, where=where)
            if st.button("Use these settings", key=f"{where}:{record.id}:use", type="tertiary"):
                actions.use_settings(record)
            if st.button(
                "Re-run",
                key=f"{where}:{record.id}:rerun:{actions.click_nonce(record)}",
                type="tertiary",
                help="Send the same request again as a new task",
            ):
                actions.rerun(record)
        present = [p for p in results.paths(record.files) if p.is_file()]
        if len(present) > 1:
            actions.download_all(record, present, where=where, label="⬇ all")
        elif present and record.mode == "upscale":
            actions.download_one(record, 0, present[0], where=where)
