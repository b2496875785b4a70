"""What a designer can do with a task: U/V, re-run, reuse its settings, download."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import services, session
from components.sitemap import MODE_PAGES
from mjstudio import images
from mjstudio.api.contract import DEFAULT_SPEED, DEFAULT_VERSION, InvalidRequest, build_input
from mjstudio.api.prompt import with_flags
from mjstudio.tasks.record import TaskRecord


def submit(task_input, *, parent: TaskRecord | None = None, index: int | None = None) -> TaskRecord:
    """Store and send a validated input under the active connection; it joins the feed."""
    record = services.studio().submit(
        services.connection(), task_input, parent=parent, parent_index=index
    )
    session.add_to_feed(record.id)
    return record


def derive(record: TaskRecord, mode: str, index: int, kind: int, prompt: str | None = None) -> None:
    """U or V on one image of a finished task."""
    params = record.params
    try:
        task_input = build_input(
            mode,
            taskId=record.task_id,
            imageIndex=index,
            type=kind,
            version=params.get("version", DEFAULT_VERSION),
            speed=params.get("speed", DEFAULT_SPEED),
            **({"prompt": prompt} if prompt else {}),
        )
    except InvalidRequest as exc:
        st.error(f"**{exc.field}** {exc.message}")
        return
    submit(task_input, parent=record, index=index)
    st.rerun()


def rerun(record: TaskRecord) -> None:
    """Send the same input again as a new task (a new charge)."""
    params = dict(record.params)
    try:
        task_input = build_input(record.mode, **params)
    except InvalidRequest as exc:
        st.error(f"**{exc.field}** {exc.message}")
        return
    parent = services.studio().store.get(record.parent_id) if record.parent_id else None
    submit(task_input, parent=parent, index=record.parent_index)


def use_settings(record: TaskRecord) -> None:
    """Fill the mode's page with this task's parameters and go there."""
    params = {k: v for k, v in record.params.items() if k not in ("mask", "canvas", "imgPos")}
    session.prefill(record.mode, params)
    st.switch_page(MODE_PAGES[record.mode])


def open_in_page(record: TaskRecord) -> None:
    """Show a task in its mode's page feed, with its U/V buttons."""
    session.add_to_feed(record.id)
    st.switch_page(MODE_PAGES[record.mode])


def delete(record: TaskRecord) -> None:
    """Delete a task and its files, and drop it from the feed."""
    services.studio().store.delete(record.id)
    session.drop_from_feed(record.id)


def prompt_tools(record: TaskRecord, *, where: str) -> None:
    """Copyable prompt with flags, "use these settings" and "re-run"."""
    if record.prompt:
        st.code(with_flags(record.prompt, record.params), language=None, wrap_lines=True)
    a, b = st.columns(2)
    if a.button("Use these settings", key=f"{where}:{record.id}:use", width="stretch"):
        use_settings(record)
    if b.button(
        "Re-run",
        key=f"{where}:{record.id}:rerun",
        width="stretch",
        help="Send the same request again as a new task",
    ):
        rerun(record)
        st.rerun()


def download_one(record: TaskRecord, index: int, path: Path, *, where: str) -> None:
    """A download button for one result image."""
    st.download_button(
        f"⬇ {index + 1}",
        data=path.read_bytes,
        file_name=_name(record, path),
        mime=_mime(path),
        key=f"{where}:{record.id}:dl{index}",
        width="stretch",
        help=f"Download image {index + 1}",
    )


def download_all(record: TaskRecord, files: list[Path], *, where: str) -> None:
    """One zip of all the task's images."""

    def blob() -> bytes:
        return images.zip_images([(_name(record, p), p.read_bytes()) for p in files])

    st.download_button(
        "Download all (zip)",
        data=blob,
        file_name=f"mjstudio-{record.id[:8]}.zip",
        mime="application/zip",
        key=f"{where}:{record.id}:zip",
    )


def _name(record: TaskRecord, path: Path) -> str:
    return f"mjstudio-{record.id[:8]}-{path.name}"


def _mime(path: Path) -> str:
    return {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}.get(
        path.suffix.lstrip(".").lower(), "application/octet-stream"
    )
