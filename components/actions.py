"""What a designer can do with a task: generate, U/V, re-run, reuse its settings, download.

One submission makes one task, however often it is clicked. Each render of a form (and of a
task's buttons) gets a token from components/session.py; the buttons' keys carry it, so every
click on that render, a double click included, submits that token: Studio.submit stores one
task per token, and a click arriving after the token was renewed hits a button no longer drawn.
While a form's task is stored and handed to the tracker its button reads "Sending…", disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import services, session, team
from components.plain import plain
from components.sitemap import MODE_PAGES
from mjstudio import images
from mjstudio.api.contract import DEFAULT_SPEED, DEFAULT_VERSION, InvalidRequest, build_input
from mjstudio.api.prompt import with_flags
from mjstudio.tasks.record import TaskRecord

LABEL = "Generate"
SENDING = "Sending…"


def submit(
    task_input,
    *,
    submission: str,
    parent: TaskRecord | None = None,
    index: int | None = None,
) -> TaskRecord:
    """Store and send a validated input once per submission token; it joins the feed."""
    record = services.studio().submit(
        services.connection(),
        task_input,
        parent=parent,
        parent_index=index,
        submission=submission,
        owner=team.owner_key(),
    )
    session.add_to_feed(record.id)
    return record


@dataclass(frozen=True)
class Submission:
    """A form's Generate button as drawn on this run; ``clicked`` when it was submitted."""

    form: str
    token: str
    icon: str
    slot: DeltaGenerator
    clicked: bool


def generate_button(form: str, *, icon: str) -> Submission:
    """Draw the form's Generate button (inside the ``st.form`` block)."""
    token = session.nonce(form)
    slot = st.empty()
    clicked = _draw(slot, form, token, icon)
    return Submission(form=form, token=token, icon=icon, slot=slot, clicked=clicked)


def _draw(slot: DeltaGenerator, form: str, token: str, icon: str) -> bool:
    return slot.form_submit_button(LABEL, type="primary", icon=icon, key=f"{form}:go:{token}")


def send(button: Submission, task_input: Any, **kw: Any) -> TaskRecord:
    """Send the form's task once for its token; the button says it is sending meanwhile."""
    button.slot.form_submit_button(
        SENDING, disabled=True, icon=":material/hourglass_top:", key=f"{button.form}:sending"
    )
    try:
        return submit(task_input, submission=button.token, **kw)
    finally:
        session.renew_nonce(button.form)
        if (fresh := session.nonce(button.form)) != button.token:
            _draw(button.slot, button.form, fresh, button.icon)


def click_nonce(record: TaskRecord) -> str:
    """The token of a task's action buttons as drawn now (part of their keys)."""
    return session.nonce(f"task:{record.id}")


def submit_once(task_input, token: str, record: TaskRecord, **kw) -> TaskRecord:
    """Send a task made from a card's button: one task per token, new buttons afterwards."""
    sent = submit(task_input, submission=token, **kw)
    session.renew_nonce(f"task:{record.id}")
    return sent


def derive(record: TaskRecord, mode: str, index: int, kind: int, prompt: str | None = None) -> None:
    """U or V on one image of a finished task (a double click makes one task)."""
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
        st.error(f"**{plain(exc.field)}** {plain(exc.message)}")
        return
    token = f"{record.id}:{mode}:{index}:{kind}:{click_nonce(record)}"
    submit_once(task_input, token, record, parent=record, index=index)
    st.rerun()


def rerun(record: TaskRecord) -> None:
    """Send the same input again as a new task (a new charge; a double click sends one).

    On success the page runs again (the new task at the top); otherwise it says why.
    """
    try:  # the input as first sent: stored image references back to their data: URLs
        task_input = services.studio().sendable_request(record).input
    except InvalidRequest as exc:
        st.error(f"**{plain(exc.field)}** {plain(exc.message)}")
        return
    parent = services.studio().store.get(record.parent_id) if record.parent_id else None
    token = f"{record.id}:rerun:{click_nonce(record)}"
    submit_once(task_input, token, record, parent=parent, index=record.parent_index)
    st.rerun()


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
        key=f"{where}:{record.id}:rerun:{click_nonce(record)}",
        width="stretch",
        help="Send the same request again as a new task",
    ):
        rerun(record)


def download_one(
    record: TaskRecord, index: int, path: Path, *, where: str, label: str | None = None
) -> None:
    """A download button for one result image (the full-size file)."""
    st.download_button(
        label or f"⬇ {index + 1}",
        data=path.read_bytes,
        file_name=_name(record, path),
        mime=_mime(path),
        key=f"{where}:{record.id}:dl{index}",
        width="stretch",
        help=f"Download image {index + 1}",
    )


def download_all(
    record: TaskRecord, files: list[Path], *, where: str, label: str = "Download all (zip)"
) -> None:
    """One zip of all the task's images."""

    def blob() -> bytes:
        return images.zip_images([(_name(record, p), p.read_bytes()) for p in files])

    st.download_button(
        label,
        data=blob,
        file_name=f"mjstudio-{record.id[:8]}.zip",
        mime="application/zip",
        key=f"{where}:{record.id}:zip",
        help="Download the task's images as one zip",
    )


def _name(record: TaskRecord, path: Path) -> str:
    return f"mjstudio-{record.id[:8]}-{path.name}"


def _mime(path: Path) -> str:
    return {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}.get(
        path.suffix.lstrip(".").lower(), "application/octet-stream"
    )
