"""The studio service and its tracker against real providers: store first, then send, poll,
download; restarts resume; unknown outcomes are never resent; callbacks are verified."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from PIL import Image

from mjstudio.api.contract import build_input
from mjstudio.config import Connection, Settings
from mjstudio.sandbox import SandboxSettings
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from tests import waiting
from tests.faulty import faulty_server
from tests.sandbox.server import running_sandbox

KEY = "tracker-test-key"
FAST = (0.1, 0.1)  # poll every 0.1 s


def settings_for(folder):
    """Settings for a data folder, none of them from this machine's environment."""
    return Settings.load(environ={}, data_dir=folder)


@pytest.fixture
def sandbox(tmp_path):
    settings = SandboxSettings(api_key=KEY, latency_s=0.4, data_dir=tmp_path / "provider")
    with running_sandbox(settings) as url:
        yield url


@pytest.fixture
def studio(tmp_path, monkeypatch):
    made = Studio.shared(settings_for(tmp_path / "data"))
    yield made
    Studio.forget(tmp_path / "data")


def wait_for(store: TaskStore, record_id: str, pred, timeout: float = 20.0):
    def matching():
        record = store.get(record_id)
        return record if pred(record) else None

    return waiting.wait_for(
        matching, timeout=timeout, message=lambda: f"record {store.get(record_id)}"
    )


def finished(record) -> bool:
    return record.is_final and (record.downloaded or record.state != "success")


def test_a_task_is_stored_before_sending_and_downloaded_after(studio, sandbox):
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    record = studio.submit(conn, build_input("text-to-image", prompt="a red fox"))
    assert studio.store.get(record.id) is not None  # stored before any answer
    done = wait_for(studio.store, record.id, finished)
    assert done.state == "success" and done.task_id and done.polls >= 1
    assert len(done.files) == 4 and len(done.thumbs) == 4
    for rel in done.files:
        assert Image.open(studio.store.abspath(rel)).size == (1024, 1024)
    assert done.request["input"]["prompt"] == "a red fox"


def test_children_link_to_their_parent(studio, sandbox):
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    parent = studio.submit(conn, build_input("text-to-image", prompt="a tree"))
    parent = wait_for(studio.store, parent.id, finished)
    up = build_input("upscale", taskId=parent.task_id, imageIndex=1, type=2)
    child = studio.submit(conn, up, parent=parent, parent_index=1)
    child = wait_for(studio.store, child.id, finished)
    assert [c.id for c in studio.store.children(parent.id)] == [child.id]
    big = Image.open(studio.store.abspath(child.files[0]))
    small = Image.open(studio.store.abspath(parent.files[1]))
    assert big.size == (small.width * 2, small.height * 2)


def test_a_rejected_create_is_recorded_with_what_to_do(studio, sandbox):
    conn = Connection(base_url=sandbox, api_key="wrong-key")
    record = studio.submit(conn, build_input("text-to-image", prompt="x"))
    done = wait_for(studio.store, record.id, lambda r: r.is_final)
    assert done.state == "rejected" and "API key" in done.error
    assert "wrong-key" not in json.dumps(done.__dict__)


def test_a_create_timeout_is_unknown_and_sent_once(studio, tmp_path):
    with faulty_server([("sleep", 40)]) as (url, script):
        conn = Connection(base_url=url, api_key=KEY, timeout_s=0.5)  # a slow provider
        record = studio.submit(conn, build_input("text-to-image", prompt="x"))
        done = wait_for(studio.store, record.id, lambda r: r.state == "unknown")
        time.sleep(1.0)
    assert len(script.requests) == 1
    assert "may or may not exist" in done.error


def test_one_grid_image_is_split_into_four(studio):
    grid = Image.new("RGB", (200, 100))
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]):
        grid.paste(colour, ((i % 2) * 100, (i // 2) * 50, (i % 2) * 100 + 100, (i // 2) * 50 + 50))
    blob = io.BytesIO()
    grid.save(blob, "PNG")
    with faulty_server([]) as (url, script):
        data = {"taskId": "g1", "state": "SUCCESS", "resultJson": {"resultUrls": [f"{url}/grid"]}}
        script.answers = [
            ("json", 200, {"code": 200, "data": {"taskId": "g1"}}),
            ("json", 200, {"code": 200, "data": data}),
            ("json", 200, blob.getvalue()),
        ]
        conn = Connection(base_url=url, api_key=KEY, poll=FAST)
        record = studio.submit(conn, build_input("text-to-image", prompt="grid"))
        done = wait_for(studio.store, record.id, finished)
    colours = [
        Image.open(studio.store.abspath(f)).convert("RGB").getpixel((5, 5)) for f in done.files
    ]
    assert colours == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def test_a_restart_settles_unsent_tasks_and_resumes_running_ones(tmp_path, sandbox, monkeypatch):
    data = tmp_path / "restart"
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    first = Studio(settings_for(data))
    first.tracker.register(conn)
    running = first.submit(conn, build_input("text-to-image", prompt="keep me"))
    wait_for(first.store, running.id, lambda r: r.task_id is not None)
    first.tracker.stop()  # the process dies while the task runs...
    stuck = first.store.add(TaskRecord.new(conn.workspace, {}, mode="text-to-image"))
    second = Studio(settings_for(data))  # ...and comes back: nothing is sent again
    second.tracker.register(conn)
    second.tracker.start()
    try:
        done = wait_for(second.store, running.id, finished)
        assert done.state == "success" and done.downloaded
        assert second.store.get(stuck.id).state == "unknown"
    finally:
        second.tracker.stop()
    provider_tasks = list((tmp_path / "provider" / "tasks").glob("*.json"))
    assert len(provider_tasks) == 1


def test_callbacks_are_verified_then_applied(studio, sandbox):
    conn = Connection(
        base_url=sandbox, api_key=KEY, request_type="callback", callback_base="http://127.0.0.1:9"
    )
    record = studio.submit(conn, build_input("text-to-image", prompt="cb"))
    record = wait_for(studio.store, record.id, lambda r: r.task_id is not None)
    url = record.request["callback_url"]
    sig = url.rsplit("sig=", 1)[1]
    assert not studio.receive_callback(record.id, "forged", {"taskId": record.task_id})
    time.sleep(0.6)  # the sandbox has finished; its callback could not reach port 9
    status = {"taskId": record.task_id, "state": "failed", "failCode": "X", "failMsg": "m"}
    assert studio.receive_callback(record.id, sig, status)
    assert studio.store.get(record.id).state == "failed"


def test_workspaces_follow_url_and_key(tmp_path):
    a = Connection(base_url="http://p.example", api_key="key-a")
    b = Connection(base_url="http://p.example", api_key="key-b")
    c = Connection(base_url="http://q.example", api_key="key-a")
    assert len({a.workspace, b.workspace, c.workspace}) == 3
    assert (
        "key-a" not in a.workspace
        and a.workspace == Connection("http://p.example", "key-a").workspace
    )


def test_the_key_never_reaches_the_data_folder(studio, sandbox):
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    record = studio.submit(conn, build_input("text-to-image", prompt="secret-free"))
    wait_for(studio.store, record.id, finished)
    for path in Path(studio.data_dir).rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
