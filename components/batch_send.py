"""Sending a batch (a prompt matrix or a sweep): counted first, confirmed past a limit, sent once.

Every task of a batch is stored, then sent, through ``Studio.submit`` with its own submission
token (``BatchPlan.submissions``) and its batch fields, and joins the session's feed. The
batch's id is made from the form's token, not drawn anew, so a plan rebuilt on a second click
of the same render (a double click, a resent form) makes the same submissions: Studio.submit
stores one task per submission, and nothing is sent twice. A send the data folder stopped
half-way is finished by the next click on the same render, without repeating a task.

Before sending, the designer sees how many tasks a prompt makes (counted without expanding
it) and, past the ``batch_confirm`` setting (default 12), confirms once more. Errors in a
prompt are shown as plain text, with a caret under the place they name.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from typing import Any

import streamlit as st

from components import problems, services, session, team
from components.plain import plain
from mjstudio.api.contract import InvalidRequest
from mjstudio.api.matrix import MAX_PROMPTS, PermutationError, count_prompts, has_permutations
from mjstudio.tasks.batches import PLACEHOLDER, BatchPlan, make_axis, plan_matrix, plan_sweep
from mjstudio.tasks.record import TaskRecord

_BATCH_IDS = uuid.UUID("5b0c4d3e-6a1f-4c55-9a63-1f0e2b7d8c90")  # namespace of token-made ids


def batch_id_for(token: str) -> str:
    """The batch id a form's token makes (the same for every click of one render)."""
    return uuid.uuid5(_BATCH_IDS, token).hex


def send_batch(plan: BatchPlan, token: str) -> list[TaskRecord]:
    """Store and send every task of a plan once for this token; each joins the feed.

    Returns the stored records in board order (a repeat of the token returns the first ones
    and sends nothing). StoreUnavailable when the data folder refuses a task: those stored
    before it stay, and sending the same token again stores and sends only the rest.
    """
    plan = replace(plan, batch_id=batch_id_for(token))
    studio, conn = services.studio(), services.connection()
    sent: list[TaskRecord] = []
    for task, submission in zip(plan.tasks, plan.submissions(token), strict=True):
        record = studio.submit(
            conn,
            task.input,
            submission=submission,
            batch=plan.record_fields(task),
            owner=team.owner_key(),
        )
        session.add_to_feed(record.id)
        sent.append(record)
    return sent


def matrix_for_prompt(text: str, mode: str, fields: dict[str, Any]) -> BatchPlan | None:
    """None for a plain prompt; else the permutation prompt planned as a batch.

    ``fields``: the form's parameters (a prompt's inline flags win over them). Raises a
    ValueError for the designer (PermutationError, TooManyPrompts, BatchError,
    InvalidRequest): show it with :func:`show_error`.
    """
    if not has_permutations(text or ""):
        return None
    return plan_matrix(text, mode=mode, base=dict(fields), limit=MAX_PROMPTS)


def is_matrix(text: str) -> bool:
    """True when a prompt is a permutation prompt (``{}`` alone is a sweep's placeholder)."""
    return has_permutations((text or "").replace(PLACEHOLDER, ""))


def plan_board(
    text: str,
    mode: str,
    fields: dict[str, Any],
    rows: tuple[str, str],
    cols: tuple[str, str] | None = None,
) -> BatchPlan | None:
    """The Sweeps page's batch, errors shown (None then): a matrix for a permutation prompt,
    else a sweep of ``rows`` (and ``cols``): each a (parameter, values as typed) pair."""
    uses_fragments = "prompt" in (rows[0], cols[0] if cols else "")
    if not (text or "").strip() and not uses_fragments:
        st.caption("Type a prompt to see the tasks it makes.")
        return None
    try:
        if is_matrix(text):
            return plan_matrix(text, mode=mode, base=dict(fields))
        across = make_axis(*cols) if cols else None
        return plan_sweep(text, make_axis(*rows), across, mode=mode, base=dict(fields))
    except ValueError as exc:
        show_error(exc, text)
        return None


# ---------------------------------------------------------------------- what the designer sees


def show_error(exc: ValueError, text: str | None = None) -> None:
    """A planning error as plain text; a caret under the place in the prompt it names."""
    if isinstance(exc, InvalidRequest):
        message = f"{exc.field}: {exc.message}"
    else:
        message = getattr(exc, "message", None) or str(exc)
    st.error(plain(message), icon=":material/error:")
    position = getattr(exc, "position", None)
    if text and position is not None and 0 <= position <= len(text):
        start = text.rfind("\n", 0, position) + 1
        end = text.find("\n", position)
        line = text[start : end if end >= 0 else len(text)]
        st.code(f"{line}\n{' ' * (position - start)}^", language=None)


def _count(text_or_plan: str | BatchPlan) -> int | None:
    """How many tasks: a plan's, or a prompt's counted without expanding (None: an error shown)."""
    if isinstance(text_or_plan, BatchPlan):
        return text_or_plan.count
    try:
        return count_prompts(text_or_plan)
    except PermutationError as exc:
        show_error(exc, text_or_plan)
        return None


def _digest(text_or_plan: str | BatchPlan, count: int) -> str:
    """What a confirmation is for: the batch's title and size (a new batch asks again)."""
    title = text_or_plan.label if isinstance(text_or_plan, BatchPlan) else text_or_plan
    return hashlib.sha256(f"{count}|{title}".encode()).hexdigest()[:16]


def confirm_count(text_or_plan: str | BatchPlan, limit: int | None = None, *, key: str) -> bool:
    """Say how many tasks this makes; past ``limit`` (the setting) ask to confirm. True: send.

    ``key``: the form's scope and token (a confirmation holds for one render and one batch).
    """
    limit = services.settings().batch_confirm if limit is None else limit
    count = _count(text_or_plan)
    if count is None:
        return False
    if count > MAX_PROMPTS:
        st.error(
            f"This makes {count:,} tasks; at most {MAX_PROMPTS} can be sent at once.",
            icon=":material/error:",
        )
        return False
    if count <= limit:
        st.caption(f"This makes {count} task{'s' if count != 1 else ''}.")
        return True
    st.warning(
        f"This makes {count} tasks, more than the {limit} sent without asking "
        "(setting MJSTUDIO_BATCH_CONFIRM).",
        icon=":material/warning:",
    )
    return st.checkbox(
        f"Yes, send all {count} tasks",
        key=f"batch:confirm:{key}:{_digest(text_or_plan, count)}",
    )


# ---------------------------------------------------------------------- a form's Generate


def send_matrix_from_form(button: Any, mode: str, text: str, fields: dict[str, Any]) -> bool:
    """On a form's click: send a permutation prompt as one batch; False for a plain prompt.

    ``button``: the form's ``actions.Submission``. Past the limit a "Send all N tasks" button
    appears under the form instead; it sends the batch planned now, for this render's token.
    True whenever the prompt was a matrix (sent, waiting for that click, or refused with a
    message): the form must not send it as one task then.
    """
    try:
        plan = matrix_for_prompt(text, mode, fields)
    except ValueError as exc:
        show_error(exc, text)
        return True
    if plan is None:
        return False
    limit = services.settings().batch_confirm
    if plan.count > limit:
        st.warning(
            f"This prompt makes {plan.count} tasks, more than the {limit} sent without asking.",
            icon=":material/warning:",
        )
        st.button(
            f"Send all {plan.count} tasks",
            key=f"batch:confirm:{button.form}:{button.token}",
            type="primary",
            on_click=_confirmed,
            args=(plan, button.token, button.form),
        )
        return True
    _send_and_renew(plan, button.token, button.form)
    st.rerun()  # the form is drawn again with its next token; the feed shows the batch
    return True


def _confirmed(plan: BatchPlan, token: str, form: str) -> None:
    """The "Send all N tasks" click (a callback): a folder that fails shows the banner."""
    with problems.store_guard():
        _send_and_renew(plan, token, form)


def _send_and_renew(plan: BatchPlan, token: str, form: str) -> None:
    """Send a batch for a form's token, then give the form a new token."""
    send_batch(plan, token)
    session.renew_nonce(form)
