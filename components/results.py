"""What a task's card and its board row both show: the result files, their display copies, the
task's title, parameters, state and lineage.

A record costs a few lookups by id here, whatever the history holds: its parent (remembered for
the session) and, for a finished task, its children. Every string from a user or a provider is
passed through ``plain`` where it is mixed into Markdown.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import streamlit as st

from components import per_run, services
from components.plain import plain
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
PARENTS = "card:parents"  # parent id -> (prompt, mode, task id), remembered for the session
REMEMBERED = 256


def paths(which: list[str]) -> list[Path]:
    """Stored result paths (relative to the data folder) made absolute."""
    store = services.studio().store
    return [_abspath(store, rel) for rel in which]


@functools.lru_cache(maxsize=4096)
def _abspath(store: TaskStore, rel: str) -> Path:
    """A stored result path made absolute (and checked to stay in the data folder) once."""
    return store.abspath(rel)


def missing(files: list[Path]) -> list[int]:
    """The 1-based numbers of the result files that are not in the data folder."""
    return [i + 1 for i, path in enumerate(files) if not path.is_file()]


def shown(record: TaskRecord, files: list[Path]) -> list[Path | None]:
    """What shows each image: its thumbnail, or the file (made small once) where the thumbnail
    is missing; None where the file itself is missing."""
    thumbs = paths(record.thumbs)
    found: list[Path | None] = []
    for index, file in enumerate(files):
        thumb = thumbs[index] if index < len(thumbs) else None
        if not file.is_file():
            found.append(None)
        else:
            found.append(thumb if thumb is not None and thumb.is_file() else file)
    return found


def parent(record: TaskRecord) -> tuple[str, str, str | None] | None:
    """(prompt, mode, task id) of a task's parent; None when it has none or it was deleted."""
    if not record.parent_id:
        return None
    known = st.session_state.setdefault(PARENTS, {})
    if record.parent_id not in known:
        found = services.studio().store.get(record.parent_id)
        if found is None:
            return None
        if len(known) >= REMEMBERED:
            known.clear()
        known[record.parent_id] = (found.prompt, found.mode, found.task_id)
    return known[record.parent_id]


def title(record: TaskRecord) -> str:
    """The task's prompt, or what it was made from (a vary or upscale has no prompt)."""
    if record.prompt:
        return record.prompt
    made_from = parent(record)
    base = made_from[0] if made_from and made_from[0] else "an earlier task"
    return f"{record.mode} of “{base}”"


def flags(record: TaskRecord) -> str:
    """The task's parameters as Midjourney flags (plain text), plus the image it works on."""
    parts = [format_flags(record.params)]
    extra = record.params.get("imageIndex")
    if extra is not None:
        parts += [f"image {extra + 1}", f"type {record.params.get('type', 0)}"]
    return " · ".join(part for part in parts if part)


def when(ts: float | None) -> str:
    """A local date and time for people."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def read_children(records: list[TaskRecord]) -> None:
    """Read what was made from a page's finished tasks in one query, for their lineage."""
    known = per_run.once("children", dict)
    wanted = [r.id for r in records if r.is_done and r.id not in known]
    found: dict[str, list[TaskRecord]] = {rid: [] for rid in wanted}
    for kid in services.studio().store.children_of(wanted):
        found[kid.parent_id].append(kid)
    known.update(found)


def children(record: TaskRecord) -> list[TaskRecord]:
    """What was made from a task (oldest first): read with the page's rows, or now."""
    known = per_run.once("children", dict)
    if record.id not in known:
        known[record.id] = services.studio().store.children(record.id)
    return known[record.id]


def lineage(record: TaskRecord) -> str:
    """Where the task came from, what was made from it and its task id (escaped Markdown)."""
    return plain(lineage_text(record))


def lineage_text(record: TaskRecord) -> str:
    """Where the task came from, what was made from it and its task id (plain text)."""
    parts = []
    if record.parent_id:
        made_from = parent(record)
        index = (record.parent_index or 0) + 1
        if made_from:
            prompt, mode, task_id = made_from
            parts.append(f"from image {index} of “{prompt or mode}” ({task_id})")
        else:
            parts.append("from a deleted task")
    kids = children(record) if record.is_done else []
    if kids:
        labels = [f"{'U' if k.mode == 'upscale' else 'V'}{(k.parent_index or 0) + 1}" for k in kids]
        parts.append("made here: " + ", ".join(labels))
    if record.task_id:
        parts.append(f"task id {record.task_id}")
    return " · ".join(parts)
