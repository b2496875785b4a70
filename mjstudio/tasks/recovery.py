"""What the designer can do for a task the tracker cannot move on by itself.

Download the results again (the retries gave up, or a file went missing), check a stuck task's
status now, and attach the provider's task id to a task whose create outcome is unknown. Each is
a change in the store that makes the task due now; the tracker that follows the data folder
(maybe in another process) picks it up.
"""

from __future__ import annotations

import time

from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore

MAX_TASK_ID_LENGTH = 200


def download_again(store: TaskStore, record_id: str) -> TaskRecord | None:
    """Make a succeeded task's results due for download now, with a fresh count of attempts.

    Returns the record (unchanged when it has nothing to download), None when there is none.
    """
    record = store.get(record_id)
    if record is None or not record.is_succeeded or not record.result_urls:
        return record
    return store.update(
        record_id,
        downloaded=False,
        download_gave_up=False,
        download_attempts=0,
        download_error=None,
        next_poll_at=time.time(),
    )


def check_again(store: TaskStore, record_id: str) -> TaskRecord | None:
    """Make a sent, still running task due for a status check now (a stuck one, say).

    Returns the record (unchanged when it is not running), None when there is none.
    """
    record = store.get(record_id)
    if record is None or record.task_id is None or record.is_final:
        return record
    return store.update(record_id, next_poll_at=time.time())


def attach_task_id(store: TaskStore, record_id: str, task_id: str) -> TaskRecord:
    """Give an 'unknown' task the provider's task id: it becomes pending and is checked now.

    ValueError, with a sentence for the designer, when the record is not unknown, the id is
    blank or too long, or another task of the workspace already has that id.
    """
    task_id = (task_id or "").strip()
    record = store.get(record_id)
    if record is None:
        raise ValueError("This task is no longer in the history.")
    if record.state is not RecordState.UNKNOWN:
        raise ValueError("Only a task whose outcome is unknown can be given a task id.")
    if not task_id or len(task_id) > MAX_TASK_ID_LENGTH or not task_id.isprintable():
        raise ValueError("Paste the task id the provider shows for this task.")
    other = store.find_task(record.workspace, task_id)
    if other is not None and other.id != record_id:
        raise ValueError("Another task in this history already has that task id.")
    now = time.time()
    return store.update(
        record_id,
        task_id=task_id,
        state=RecordState.PENDING,
        error=None,
        submitted_at=record.submitted_at or record.created_at,
        next_poll_at=now,
    )
