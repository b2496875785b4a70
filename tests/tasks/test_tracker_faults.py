"""The tracker under faults: restarts between storing and sending, several servers on the same
folder, a missing key."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mjstudio.api.client import MJClient
from mjstudio.api.contract import build_input, build_request
from mjstudio.config import Connection
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import WAITING_FOR_KEY, Tracker
from tests import waiting
from tests.faulty import faulty_server
from tests.tasks.faultkit import (
    FAST,
    KEY,
    REPO,
    finished,
    provider_creates,
    queued,
    running,
    settings_for,
    wait_record,
)

# ---------------------------------------------------------------------------- 10: queued vs sending


def test_a_queued_task_is_sent_once_after_a_restart(tmp_path, sandbox):
    data = tmp_path / "data"
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    record = TaskStore.open(data).add(queued(conn))  # stored, then the process died
    studio = Studio(settings_for(data))
    studio.connect(conn)
    studio.tracker.start()
    try:
        done = wait_record(studio.store, record.id, finished)
    finally:
        studio.tracker.stop()
    assert done.state is RecordState.SUCCESS and done.downloaded and done.task_id
    assert provider_creates(tmp_path) == 1


def test_a_task_being_sent_at_a_restart_is_unknown_and_never_sent(tmp_path, sandbox):
    data = tmp_path / "data"
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    record = TaskStore.open(data).add(queued(conn, state=RecordState.CREATING))
    studio = Studio(settings_for(data))
    studio.connect(conn)
    studio.tracker.start()
    try:
        settled = wait_record(studio.store, record.id, lambda r: r.state is RecordState.UNKNOWN)
        time.sleep(1.0)  # a few ticks of the tracker: nothing is sent
    finally:
        studio.tracker.stop()
    assert "not sent again" in settled.error
    assert provider_creates(tmp_path) == 0


def test_a_queued_task_waits_for_its_key_and_says_so(tmp_path, sandbox):
    data = tmp_path / "data"
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    record = TaskStore.open(data).add(queued(conn))
    studio = Studio(settings_for(data))
    studio.tracker.start()  # the key was typed on the Settings page: not known after a restart
    try:
        waiting_ = wait_record(studio.store, record.id, lambda r: r.error == WAITING_FOR_KEY)
        assert waiting_.state is RecordState.QUEUED and provider_creates(tmp_path) == 0
        studio.connect(conn)  # the designer enters the key again
        done = wait_record(studio.store, record.id, finished)
    finally:
        studio.tracker.stop()
    assert done.state is RecordState.SUCCESS and done.error is None
    assert provider_creates(tmp_path) == 1


def test_creates_do_not_wait_behind_hung_polls(tmp_path):
    store = TaskStore.open(tmp_path / "data")
    tracker = Tracker(store, workers=1)
    answers = [("sleep", 6), ("json", 200, {"code": 200, "data": {"taskId": "b1"}})]
    with faulty_server(answers) as (url, script):
        conn = Connection(base_url=url, api_key=KEY, poll=FAST)
        store.add(running(conn, "a1"))
        tracker.register(conn)
        tracker.start()
        try:
            waiting.wait_for(lambda: len(script.requests) == 1, timeout=5)  # the poll hangs
            record = store.add(queued(conn))
            tracker.send(record, build_request("text-to-image", prompt="queued fox"), conn)
            sent = wait_record(store, record.id, lambda r: r.task_id is not None, timeout=4)
        finally:
            tracker.stop()
    assert sent.task_id == "b1" and sent.state is RecordState.PENDING
    assert script.requests[1]["method"] == "POST"


def test_an_unknown_task_is_recovered_by_attaching_its_task_id(tmp_path, sandbox):
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    request = build_request("text-to-image", prompt="found again")
    with MJClient(KEY, sandbox) as client:
        task_id = client.create(request)  # the create that "timed out"
    studio = Studio(settings_for(tmp_path / "data"))
    lost = studio.store.add(
        TaskRecord.new(conn.workspace, request.to_api(), state=RecordState.UNKNOWN, error="?")
    )
    other = studio.store.add(queued(conn))
    studio.connect(conn)
    studio.tracker.start()
    try:
        with pytest.raises(ValueError, match="unknown"):
            studio.attach_task_id(other.id, task_id)
        with pytest.raises(ValueError, match="task id"):
            studio.attach_task_id(lost.id, "   ")
        attached = studio.attach_task_id(lost.id, f"  {task_id} ")
        assert attached.state is RecordState.PENDING and attached.task_id == task_id
        done = wait_record(studio.store, lost.id, finished)
    finally:
        studio.tracker.stop()
    assert done.state is RecordState.SUCCESS and len(done.files) == 4 and done.error is None
    assert provider_creates(tmp_path) == 2  # the one made by hand, and the queued one: no more


# ---------------------------------------------------------------------------- 14: two servers


SECOND_SERVER = """
import sys
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
tracker = Tracker(TaskStore.open(sys.argv[1]))
tracker.start()
print(tracker.running)
tracker.stop()
"""


def start_in_other_process(data: Path) -> str:
    """Start (and stop) a tracker on the folder in another process: 'True' if it ran."""
    done = subprocess.run(
        [sys.executable, "-c", SECOND_SERVER, str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_two_trackers_on_one_folder_send_each_task_once(tmp_path, sandbox):
    data = tmp_path / "data"
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    first, second = Studio(settings_for(data)), Studio(settings_for(data))
    for studio in (first, second):
        studio.connect(conn)
        studio.tracker.start()
    try:
        assert first.tracker.running and second.tracker.running  # both track
        sending = first.store.add(queued(conn))  # handed to no lane: stays queued...
        assert first.store.claim_create(sending.id, first.tracker.server)  # ...first sends it
        assert start_in_other_process(data) == "True"  # a third starts: it leaves it alone
        assert first.store.get(sending.id).state is RecordState.CREATING
        record = first.store.add(queued(conn))
        request = build_request("text-to-image", prompt="one create")
        for studio in (first, second, first, second):  # handed to both lanes, twice
            studio.tracker.send(record, request, conn)
        done = wait_record(first.store, record.id, finished)
    finally:
        first.tracker.stop()
        second.tracker.stop()
    assert done.state is RecordState.SUCCESS and done.downloaded
    assert provider_creates(tmp_path) == 1  # one create, whoever got it


def test_a_create_left_by_a_dead_server_is_unknown_once_its_lease_ran_out(tmp_path, sandbox):
    data = tmp_path / "data"
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    store = TaskStore.open(data)
    alive = store.add(queued(conn))
    store.claim_create(alive.id, "elsewhere/1/live", lease_s=600)  # another machine, sending
    gone = store.add(queued(conn))
    store.claim_create(gone.id, "elsewhere/2/gone", lease_s=-1)  # its lease ran out
    studio = Studio(settings_for(data))
    studio.connect(conn)
    studio.tracker.start()
    try:
        settled = wait_record(studio.store, gone.id, lambda r: r.state is RecordState.UNKNOWN)
    finally:
        studio.tracker.stop()
    assert "not sent again" in settled.error
    assert studio.store.get(alive.id).state is RecordState.CREATING  # its server may still send
    assert provider_creates(tmp_path) == 0


# ---------------------------------------------------------------------------- 20: missing key


def test_a_running_task_without_its_key_says_so_and_resumes(tmp_path, sandbox):
    data = tmp_path / "data"
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    first = Studio(settings_for(data))
    first.connect(conn)
    first.tracker.start()
    record = first.submit(conn, build_input("text-to-image", prompt="keyed on Settings"))
    wait_record(first.store, record.id, lambda r: r.task_id is not None)
    first.tracker.stop()
    second = Studio(settings_for(data))  # after a restart the key from Settings is gone
    second.tracker.start()
    try:
        wait_record(second.store, record.id, lambda r: r.error == WAITING_FOR_KEY)
        second.connect(conn)
        assert second.store.get(record.id).error is None  # cleared as soon as the key is back
        done = wait_record(second.store, record.id, finished)
    finally:
        second.tracker.stop()
    assert done.state is RecordState.SUCCESS and done.downloaded and done.error is None
