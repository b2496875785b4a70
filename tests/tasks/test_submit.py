"""Submitting a task: one form submission makes one task, and no image bytes go into the store."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from mjstudio.api.contract import InvalidRequest, TaskRequest, build_input
from mjstudio.config import DAY_S, Connection, Settings
from mjstudio.images import to_data_url
from mjstudio.sandbox import SandboxSettings
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import DB_NAME
from tests import waiting
from tests.sandbox.server import running_sandbox

KEY = "submit-test-key"
FAST = (0.1, 0.1)
CLICKS = 10


def settings_for(folder: Path) -> Settings:
    return Settings.load(environ={}, data_dir=folder)


@pytest.fixture
def sandbox(tmp_path: Path):
    settings = SandboxSettings(api_key=KEY, latency_s=0.2, data_dir=tmp_path / "provider")
    with running_sandbox(settings) as url:
        yield url


@pytest.fixture
def studio(tmp_path: Path):
    made = Studio.shared(settings_for(tmp_path / "data"))
    yield made
    Studio.forget(tmp_path / "data")


@pytest.fixture
def offline(tmp_path: Path, monkeypatch):
    """A studio whose tracker sends nothing: it records what it was handed instead."""
    made = Studio(settings_for(tmp_path / "data"))
    made.sent = []
    monkeypatch.setattr(made.tracker, "send", lambda *args: made.sent.append(args))
    yield made
    made.tracker.stop()


def provider_requests(tmp_path: Path) -> list[dict]:
    """The create bodies the sandbox received, one per task it made."""
    tasks = (tmp_path / "provider" / "tasks").glob("*.json")
    return [json.loads(path.read_text("utf-8"))["request"] for path in tasks]


def finished(studio: Studio, record_id: str) -> TaskRecord:
    def done() -> TaskRecord | None:
        record = studio.store.get(record_id)
        ok = record.is_final and (record.downloaded or record.state != RecordState.SUCCESS)
        return record if ok else None

    return waiting.wait_for(done, timeout=30, message=lambda: str(studio.store.get(record_id)))


def png(size: tuple[int, int] = (64, 48), noise: bool = False) -> bytes:
    if noise:  # incompressible: the PNG is about as large as its pixels
        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def row_sizes(data: Path, record_id: str) -> int:
    with sqlite3.connect(data / DB_NAME) as conn:
        row = conn.execute("SELECT length(request) FROM tasks WHERE id = ?", (record_id,))
        return int(row.fetchone()[0])


# --------------------------------------------------------------------------- one submission


def test_one_submission_makes_one_task_however_often_it_comes(studio, sandbox, tmp_path) -> None:
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    form = build_input("text-to-image", prompt="a double-clicked fox")
    start = threading.Barrier(CLICKS)
    records: list[TaskRecord] = []
    errors: list[BaseException] = []

    def click() -> None:
        try:
            start.wait(timeout=10)
            records.append(studio.submit(conn, form, submission="form-render-1"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(CLICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(records) == CLICKS
    assert len({r.id for r in records}) == 1
    done = finished(studio, records[0].id)
    assert done.state == RecordState.SUCCESS and done.submission == "form-render-1"
    assert studio.store.count(conn.workspace) == 1
    assert studio.submit(conn, form, submission="form-render-1").id == done.id  # a late click
    time.sleep(0.3)  # a second create would have reached the sandbox by now
    assert len(provider_requests(tmp_path)) == 1


def test_different_submissions_make_different_tasks(studio, sandbox, tmp_path) -> None:
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    form = build_input("text-to-image", prompt="the same form, rendered twice")
    first = studio.submit(conn, form, submission="render-1")
    second = studio.submit(conn, form, submission="render-2")
    assert first.id != second.id
    for record in (first, second):
        assert finished(studio, record.id).state == RecordState.SUCCESS
    assert studio.store.count(conn.workspace) == 2
    assert len(provider_requests(tmp_path)) == 2


def test_a_task_is_stored_queued_and_handed_over_once(offline) -> None:
    conn = Connection(base_url="http://127.0.0.1:9", api_key=KEY)
    form = build_input("text-to-image", prompt="queued")
    record = offline.submit(conn, form, submission="s-1")
    assert offline.store.get(record.id).state is RecordState.QUEUED
    assert offline.submit(conn, form, submission="s-1").id == record.id
    assert [args[0].id for args in offline.sent] == [record.id]  # sent once
    plain = [offline.submit(conn, form).id for _ in range(2)]  # no submission: each is a task
    assert len(set(plain)) == 2 and len(offline.sent) == 3


# --------------------------------------------------------------------------- no bytes in the store


def test_a_large_data_url_is_kept_as_an_upload_and_still_sent(studio, sandbox, tmp_path) -> None:
    image = png((900, 850), noise=True)
    data_url = to_data_url(image, "image/png")
    assert len(data_url) > 3_000_000
    conn = Connection(base_url=sandbox, api_key=KEY, poll=FAST)
    form = build_input("image-to-image", prompt="from my photo", image_urls=[data_url])
    record = studio.submit(conn, form)
    assert row_sizes(tmp_path / "data", record.id) < 4_000  # a few KB, not 3 MB
    stored = studio.store.get(record.id).request["input"]["image_urls"][0]
    assert stored.startswith("upload:") and studio.uploads.get(stored[7:]) == (image, "image/png")
    done = finished(studio, record.id)
    assert done.state == RecordState.SUCCESS and done.downloaded
    [sent] = provider_requests(tmp_path)
    assert sent["input"]["image_urls"] == [data_url]  # the provider got the image itself
    history = sum(p.stat().st_size for p in (tmp_path / "data").glob(f"{DB_NAME}*"))
    assert history < 1_000_000


def test_a_stored_request_is_made_sendable_again(offline, tmp_path) -> None:
    source, mask = to_data_url(png(), "image/png"), to_data_url(png((32, 32)), "image/png")
    conn = Connection(base_url="http://127.0.0.1:9", api_key=KEY)
    forms = [
        build_input(
            "image-to-image",
            prompt="two references",
            image_urls=[source, "https://example.com/ref.jpg", source],
        ),
        build_input("upload-paint", prompt="paint", image_urls=[source], mask={"url": mask}),
    ]
    for form in forms:
        record = offline.submit(conn, form)
        sent: TaskRequest = offline.sent[-1][1]
        stored = offline.store.get(record.id)
        assert "base64" not in json.dumps(stored.request)
        assert offline.sendable_request(stored).to_api() == sent.to_api()
        restarted = Studio(settings_for(tmp_path / "data"))  # after a restart, too
        try:
            assert restarted.sendable_request(stored).to_api() == sent.to_api()
        finally:
            restarted.tracker.stop()
    for name in os.listdir(offline.uploads.root):
        offline.uploads.remove(name)
    with pytest.raises(InvalidRequest, match="no longer stored"):
        offline.sendable_request(offline.store.get(record.id))


def test_uploads_a_stored_task_refers_to_are_kept_by_pruning(offline) -> None:
    conn = Connection(base_url="http://127.0.0.1:9", api_key=KEY)
    form = build_input(
        "image-to-image", prompt="keep", image_urls=[to_data_url(png(), "image/png")]
    )
    record = offline.submit(conn, form)
    [path] = offline.uploads.root.iterdir()
    old = time.time() - 30 * DAY_S
    os.utime(path, (old, old))
    assert offline.prune_uploads() == 0 and path.exists()
    offline.store.delete(record.id)
    assert offline.prune_uploads() == 1 and not path.exists()


def test_a_data_url_of_a_type_we_do_not_keep_is_refused_before_storing(offline) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    conn = Connection(base_url="http://127.0.0.1:9", api_key=KEY)
    form = build_input(
        "image-to-image", prompt="gif", image_urls=[to_data_url(gif.getvalue(), "image/gif")]
    )
    with pytest.raises(InvalidRequest, match="JPG, PNG or WebP"):
        offline.submit(conn, form)
    assert offline.store.count(conn.workspace) == 0 and offline.sent == []
    assert not offline.uploads.root.exists() or not list(offline.uploads.root.iterdir())
