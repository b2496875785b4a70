"""A task card's state line: sending, progress, stuck, unknown, download problems, failures.

Every string from a provider or a user (errors, fail messages, task ids) goes through
``plain`` or ``st.text``: it is shown as text, never as Markdown.
"""

from __future__ import annotations

import time

import streamlit as st

from components import services
from components.plain import plain
from mjstudio.api.contract import explain_fail_code
from mjstudio.tasks.downloads import MAX_ATTEMPTS
from mjstudio.tasks.polling import WAITING_FOR_KEY
from mjstudio.tasks.record import RecordState, TaskRecord

SETTINGS_PAGE = "pages/settings.py"
PROGRESS_LABELS = {
    RecordState.QUEUED: "Waiting to send",
    RecordState.CREATING: "Sending",
    RecordState.PENDING: "Queued at the provider",
}
UNKNOWN_HELP = (
    "The create call may or may not have reached the provider; it was not sent again, so it "
    "is never paid for twice. If the provider lists this task (its dashboard or history), "
    "attach its task id here to follow it and download its results."
)


def render(record: TaskRecord, *, where: str) -> None:
    """What a task that shows no images yet is doing, with what the designer can do about it."""
    if record.is_succeeded:
        _download_problem(record, where=where)
    elif record.state is RecordState.UNKNOWN:
        _unknown(record, where=where)
    elif record.is_active:
        _progress(record, where=where)
    else:
        _failure(record)


def duration(seconds: float) -> str:
    """A duration for people: ``40 s``, ``12 min 5 s``, ``5 h 0 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _progress(record: TaskRecord, *, where: str) -> None:
    if record.state.is_unsent:
        st.progress(0.0, text=PROGRESS_LABELS[record.state])
    elif record.is_stuck():
        _stuck(record, where=where)
    else:
        elapsed = max(0.0, time.time() - (record.submitted_at or record.created_at))
        expected = record.expected_s or 40.0
        label = PROGRESS_LABELS.get(record.state, "Processing")
        text = f"{label} · {elapsed:.0f} s of about {expected:.0f} s"
        if elapsed > expected:
            text = f"{label} · {elapsed:.0f} s, longer than the usual {expected:.0f} s"
        st.progress(min(0.97, elapsed / expected), text=text)
    _polling_error(record)


def _stuck(record: TaskRecord, *, where: str) -> None:
    elapsed = time.time() - (record.submitted_at or record.created_at)
    expected = record.expected_s or 40.0
    st.warning(
        f"Still processing after {duration(elapsed)} (expected about {duration(expected)}). "
        "The provider may have lost it; the studio keeps checking now and then.",
        icon=":material/hourglass_disabled:",
    )
    if st.button("Check again", key=f"{where}:{record.id}:check", icon=":material/refresh:"):
        services.studio().check_again(record.id)
        st.rerun()


def _polling_error(record: TaskRecord) -> None:
    """The tracker's last word on a running task: a wait, a provider error, a missing key."""
    if record.error == WAITING_FOR_KEY:
        st.warning(plain(record.error), icon=":material/key:")
        st.page_link(SETTINGS_PAGE, label="Enter the key on Settings", icon=":material/settings:")
    elif record.error:
        st.caption(plain(record.error))


def _unknown(record: TaskRecord, *, where: str) -> None:
    st.warning(UNKNOWN_HELP, icon=":material/help:")
    if record.error:
        st.caption(plain(record.error))
    with st.form(f"attach-{where}-{record.id}", border=False):
        task_id = st.text_input(
            "Provider task id", key=f"{where}:{record.id}:attach-id", placeholder="taskId"
        )
        attach = st.form_submit_button("Attach task id", icon=":material/link:")
    if attach and task_id.strip():
        try:
            services.studio().attach_task_id(record.id, task_id.strip())
        except ValueError as exc:
            st.error(plain(exc), icon=":material/error:")
            return
        st.rerun()


def _download_problem(record: TaskRecord, *, where: str) -> None:
    """A succeeded task whose images are not on disk: downloading, retrying or given up."""
    if record.download_error:
        st.warning(
            "The results could not be downloaded: " + plain(record.download_error),
            icon=":material/cloud_off:",
        )
    if record.is_downloading:
        attempts = record.download_attempts
        st.caption(
            f"Retrying (attempt {attempts + 1} of {MAX_ATTEMPTS})…"
            if attempts
            else "Downloading the results to the data folder…"
        )
        return
    if record.download_gave_up:
        st.caption(f"Gave up after {record.download_attempts} attempts.")
    download_again(record, where=where)


def download_again(record: TaskRecord, *, where: str) -> None:
    """The "Download again" button: fetch the task's results from the provider once more."""
    if st.button(
        "Download again",
        key=f"{where}:{record.id}:download-again",
        icon=":material/download:",
        help="Fetch this task's images from the provider again (no new charge)",
    ):
        fetch_again(record)


def fetch_again(record: TaskRecord) -> None:
    """Fetch the task's results from the provider once more (no new charge), then run again."""
    services.studio().download_again(record.id)
    st.rerun()


def _failure(record: TaskRecord) -> None:
    if record.state is RecordState.FAILED:
        code = record.fail_code or "Failed"
        st.error(
            f"**{plain(code)}** — {plain(explain_fail_code(record.fail_code))}"
            f"\n\nProvider's message: {plain(record.fail_msg or '(none)')}",
            icon=":material/error:",
        )
    else:
        st.error(plain(record.error or "The provider refused this task."), icon=":material/block:")
