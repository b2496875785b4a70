"""A task card: prompt, parameters, live state, the 2x2 grid with U1–U4 / V1–V4, downloads.

Prompts, task ids and other user- or provider-supplied strings are shown as plain text
(``st.text`` or ``plain``), never as Markdown. A result file missing from the data folder
shows a placeholder with "Download again" instead of breaking the page. Images are shown as
their stored thumbnails (components/display.py); the full-size files go out only as downloads.
A card costs a few lookups by id, whatever the history holds: its parent (remembered for the
session) and, for a finished task, its children.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import streamlit as st

from components import actions, display, services, task_status
from components.plain import plain
from components.sitemap import MODE_TITLES
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES
from mjstudio.api.prompt import format_flags
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore

STATE_ICONS = {
    RecordState.QUEUED: ":material/schedule_send:",
    RecordState.CREATING: ":material/send:",
    RecordState.PENDING: ":material/hourglass_top:",
    RecordState.PROCESSING: ":material/autorenew:",
    RecordState.SUCCESS: ":material/check_circle:",
    RecordState.FAILED: ":material/error:",
    RecordState.REJECTED: ":material/block:",
    RecordState.UNKNOWN: ":material/help:",
}


def render(record: TaskRecord, *, where: str, compact: bool = False) -> None:
    """Draw one task as a bordered card."""
    with st.container(border=True, key=f"card-{where}-{record.id}"):
        _header(record)
        if record.is_done:
            _results(record, where=where, compact=compact)
        else:
            task_status.render(record, where=where)
        _lineage(record)


def _header(record: TaskRecord) -> None:
    left, right = st.columns([5, 1])
    left.markdown(f"**{plain(MODE_TITLES.get(record.mode, record.mode))}**")
    left.text(record.prompt or _derived_title(record))
    flags = format_flags(record.params)
    extra = record.params.get("imageIndex")
    if extra is not None:
        flags += f" · image {extra + 1} · type {record.params.get('type', 0)}"
    left.caption(f"{plain(flags) or 'default parameters'} · {_when(record.created_at)}")
    right.markdown(f"{STATE_ICONS[record.state]} {record.state.value}")


PARENTS = "card:parents"  # parent id -> (prompt, mode, task id), remembered for the session
REMEMBERED = 256


def _parent(record: TaskRecord) -> tuple[str, str, str | None] | None:
    """(prompt, mode, task id) of a task's parent; None when it has none or it was deleted."""
    if not record.parent_id:
        return None
    known = st.session_state.setdefault(PARENTS, {})
    if record.parent_id not in known:
        parent = services.studio().store.get(record.parent_id)
        if parent is None:
            return None
        if len(known) >= REMEMBERED:
            known.clear()
        known[record.parent_id] = (parent.prompt, parent.mode, parent.task_id)
    return known[record.parent_id]


def _derived_title(record: TaskRecord) -> str:
    parent = _parent(record)
    base = parent[0] if parent and parent[0] else "an earlier task"
    return f"{record.mode} of “{base}”"


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def _paths(which: list[str]) -> list[Path]:
    store = services.studio().store
    return [_abspath(store, rel) for rel in which]


@functools.lru_cache(maxsize=4096)
def _abspath(store: TaskStore, rel: str) -> Path:
    """A stored result path made absolute (and checked to stay in the data folder) once."""
    return store.abspath(rel)


def _results(record: TaskRecord, *, where: str, compact: bool) -> None:
    files = _paths(record.files)
    missing = [i + 1 for i, path in enumerate(files) if not path.is_file()]
    if missing:
        st.warning(
            f"Image(s) {', '.join(map(str, missing))} are missing from the data folder.",
            icon=":material/broken_image:",
        )
        task_status.download_again(record, where=where)
    shown = _shown(record, files)
    if record.mode == "upscale":
        _upscaled(record, files[0], shown[0], where=where, compact=compact)
        return
    _grid(shown)
    if not compact:
        _uv_buttons(record, files, where=where)
    present = [p for p in files if p.is_file()]
    if present:
        actions.download_all(record, present, where=where)
    if not compact:
        actions.prompt_tools(record, where=where)


def _shown(record: TaskRecord, files: list[Path]) -> list[Path | None]:
    """What shows each image: its thumbnail, or the file (made small once) where the thumbnail
    is missing; None where the file itself is missing."""
    thumbs = _paths(record.thumbs)
    shown: list[Path | None] = []
    for index, file in enumerate(files):
        thumb = thumbs[index] if index < len(thumbs) else None
        if not file.is_file():
            shown.append(None)
        else:
            shown.append(thumb if thumb is not None and thumb.is_file() else file)
    return shown


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
    if not compact:
        actions.prompt_tools(record, where=where)


def _grid(shown: list[Path | None]) -> None:
    for row in range(0, len(shown), 2):
        cols = st.columns(2, gap="small")
        for col, index in zip(cols, range(row, min(row + 2, len(shown))), strict=False):
            with col:
                path, caption = shown[index], f"Image {index + 1}"
                if path is None or not display.image(path, caption=caption, width="stretch"):
                    display.placeholder(caption)


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
    parts = []
    if record.parent_id:
        parent = _parent(record)
        index = (record.parent_index or 0) + 1
        if parent:
            prompt, mode, task_id = parent
            parts.append(f"from image {index} of “{prompt or mode}” ({task_id})")
        else:
            parts.append("from a deleted task")
    kids = services.studio().store.children(record.id) if record.is_done else []
    if kids:
        labels = [f"{'U' if k.mode == 'upscale' else 'V'}{(k.parent_index or 0) + 1}" for k in kids]
        parts.append("made here: " + ", ".join(labels))
    if record.task_id:
        parts.append(f"task id {record.task_id}")
    if parts:
        st.caption(plain(" · ".join(parts)))
