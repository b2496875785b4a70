"""A task card: prompt, parameters, live state, the 2x2 grid with U1–U4 / V1–V4, downloads."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from PIL import Image

from components import actions, services
from components.sitemap import MODE_TITLES
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES, explain_fail_code
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
PROGRESS_LABELS = {
    RecordState.QUEUED: "Waiting to send",
    RecordState.CREATING: "Sending",
    RecordState.PENDING: "Queued",
}


def render(record: TaskRecord, *, where: str, compact: bool = False) -> None:
    """Draw one task as a bordered card."""
    with st.container(border=True, key=f"card-{where}-{record.id}"):
        _header(record)
        if record.is_done:
            _results(record, where=where, compact=compact)
        elif record.is_succeeded:
            st.caption("Downloading the results to the data folder…")
        elif record.is_active:
            _progress(record)
        else:
            _failure(record)
        _lineage(record, where=where)


def _header(record: TaskRecord) -> None:
    left, right = st.columns([5, 1])
    title = record.prompt or _derived_title(record)
    left.markdown(f"**{MODE_TITLES.get(record.mode, record.mode)}** · {title}")
    flags = format_flags(record.params)
    extra = record.params.get("imageIndex")
    if extra is not None:
        flags += f" · image {extra + 1} · type {record.params.get('type', 0)}"
    left.caption(f"{flags or 'default parameters'} · {_when(record.created_at)}")
    right.markdown(f"{STATE_ICONS[record.state]} {record.state.value}")


def _derived_title(record: TaskRecord) -> str:
    parent = services.studio().store.get(record.parent_id) if record.parent_id else None
    base = parent.prompt if parent and parent.prompt else "an earlier task"
    return f"{record.mode} of “{base}”"


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def _progress(record: TaskRecord) -> None:
    if record.state is RecordState.UNKNOWN:
        st.warning(record.error or "The outcome of the create call is unknown.")
        return
    started = record.submitted_at or record.created_at
    elapsed = max(0.0, time.time() - started)
    expected = record.expected_s or 40.0
    label = PROGRESS_LABELS.get(record.state, "Processing")
    text = f"{label} · {elapsed:.0f} s of about {expected:.0f} s"
    st.progress(min(0.97, elapsed / expected) if expected else 0.0, text=text)
    if record.error:
        st.caption(f"Retrying: {record.error}")


def _failure(record: TaskRecord) -> None:
    if record.state is RecordState.FAILED:
        st.error(
            f"**{record.fail_code or 'Failed'}** — {explain_fail_code(record.fail_code)}"
            f"\n\nProvider's message: {record.fail_msg or '(none)'}"
        )
    else:
        st.error(record.error or "The provider refused this task.")


def _paths(record: TaskRecord, which: list[str]) -> list[Path]:
    store = services.studio().store
    return [store.abspath(rel) for rel in which]


def _results(record: TaskRecord, *, where: str, compact: bool) -> None:
    files = _paths(record, record.files)
    thumbs = _paths(record, record.thumbs)
    if record.mode == "upscale":
        with Image.open(files[0]) as img:  # reads the header only
            w, h = img.size
        st.image(str(files[0]), caption=f"Upscaled · {w}×{h}", width="stretch")
        actions.download_one(record, 0, files[0], where=where)
        if not compact:
            actions.prompt_tools(record, where=where)
        return
    _grid(record, thumbs if compact else files, where=where)
    if compact:
        actions.download_all(record, files, where=where)
        return
    _uv_buttons(record, where=where)
    actions.download_all(record, files, where=where)
    actions.prompt_tools(record, where=where)


def _grid(record: TaskRecord, shown: list[Path], *, where: str) -> None:
    for row in range(0, len(shown), 2):
        cols = st.columns(2, gap="small")
        for col, index in zip(cols, range(row, min(row + 2, len(shown))), strict=False):
            with col:
                st.image(str(shown[index]), caption=f"Image {index + 1}", width="stretch")


def _uv_buttons(record: TaskRecord, *, where: str) -> None:
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
    for i, path in enumerate(_paths(record, record.files)):
        with downloads[i]:
            actions.download_one(record, i, path, where=where)


def _button_row(
    record: TaskRecord, letter: str, mode: str, kind: int, kinds: dict, *, where: str
) -> None:
    """One row of U1–U4 or V1–V4: button N works on image N (index N-1)."""
    verb = "Upscale" if mode == "upscale" else "Vary"
    for i, col in enumerate(st.columns(4)[: len(record.files)]):
        if col.button(
            f"{letter}{i + 1}",
            key=f"{where}:{record.id}:{letter}{i + 1}",
            width="stretch",
            help=f"{verb} image {i + 1} ({kinds[kind]})",
        ):
            actions.derive(record, mode, i, kind)


def _lineage(record: TaskRecord, *, where: str) -> None:
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
        parts.append(f"task id `{record.task_id}`")
    if parts:
        st.caption(" · ".join(parts))
