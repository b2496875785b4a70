"""A task card: prompt, parameters, live state, the 2x2 grid with U1–U4 / V1–V4, downloads.

Prompts, task ids and other user- or provider-supplied strings are shown as plain text
(``st.text`` or ``plain``), never as Markdown. A result file missing from the data folder
shows a placeholder with "Download again" instead of breaking the page.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from PIL import Image

from components import actions, services, task_status
from components.plain import plain
from components.sitemap import MODE_TITLES
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES
from mjstudio.api.prompt import format_flags
from mjstudio.tasks.record import RecordState, TaskRecord

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


def _derived_title(record: TaskRecord) -> str:
    parent = services.studio().store.get(record.parent_id) if record.parent_id else None
    base = parent.prompt if parent and parent.prompt else "an earlier task"
    return f"{record.mode} of “{base}”"


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def _paths(which: list[str]) -> list[Path]:
    store = services.studio().store
    return [store.abspath(rel) for rel in which]


def _results(record: TaskRecord, *, where: str, compact: bool) -> None:
    files = _paths(record.files)
    missing = [i + 1 for i, path in enumerate(files) if not path.is_file()]
    if missing:
        st.warning(
            f"Image(s) {', '.join(map(str, missing))} are missing from the data folder.",
            icon=":material/broken_image:",
        )
        task_status.download_again(record, where=where)
    if record.mode == "upscale":
        _upscaled(record, files[0], where=where, compact=compact)
        return
    _grid(_shown(record, files) if compact else files)
    if not compact:
        _uv_buttons(record, files, where=where)
    present = [p for p in files if p.is_file()]
    if present:
        actions.download_all(record, present, where=where)
    if not compact:
        actions.prompt_tools(record, where=where)


def _shown(record: TaskRecord, files: list[Path]) -> list[Path]:
    """The thumbnails, or the full image where a thumbnail is missing."""
    thumbs = _paths(record.thumbs)
    return [t if t.is_file() else f for t, f in zip(thumbs, files, strict=False)] or files


def _upscaled(record: TaskRecord, path: Path, *, where: str, compact: bool) -> None:
    try:
        with Image.open(path) as img:  # reads the header only
            w, h = img.size
    except OSError:
        _placeholder("Upscaled image")
    else:
        st.image(str(path), caption=f"Upscaled · {w}×{h}", width="stretch")
        actions.download_one(record, 0, path, where=where)
    if not compact:
        actions.prompt_tools(record, where=where)


def _placeholder(caption: str) -> None:
    with st.container(border=True):
        st.caption(f":material/broken_image: {caption}: the file is missing")


def _grid(shown: list[Path]) -> None:
    for row in range(0, len(shown), 2):
        cols = st.columns(2, gap="small")
        for col, index in zip(cols, range(row, min(row + 2, len(shown))), strict=False):
            with col:
                if shown[index].is_file():
                    st.image(str(shown[index]), caption=f"Image {index + 1}", width="stretch")
                else:
                    _placeholder(f"Image {index + 1}")


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
    store = services.studio().store
    parts = []
    if record.parent_id:
        parent = store.get(record.parent_id)
        index = (record.parent_index or 0) + 1
        if parent:
            parts.append(
                f"from image {index} of “{parent.prompt or parent.mode}” ({parent.task_id})"
            )
        else:
            parts.append("from a deleted task")
    kids = store.children(record.id)
    if kids:
        labels = [f"{'U' if k.mode == 'upscale' else 'V'}{(k.parent_index or 0) + 1}" for k in kids]
        parts.append("made here: " + ", ".join(labels))
    if record.task_id:
        parts.append(f"task id {record.task_id}")
    if parts:
        st.caption(plain(" · ".join(parts)))
