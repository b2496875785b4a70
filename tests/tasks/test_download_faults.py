"""The tracker under faults: failed downloads, garbage statuses, long Retry-After, stuck tasks."""

from __future__ import annotations

import errno
import os
import time
from collections import Counter

import pytest
from PIL import Image

from mjstudio.config import Connection
from mjstudio.tasks import downloads, polling
from mjstudio.tasks.record import RecordState
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
from tests import waiting
from tests.api.servers import send, serve
from tests.faulty import faulty_server
from tests.tasks.faultkit import (
    FAST,
    KEY,
    bomb_png,
    files_under,
    png,
    queued,
    running,
    settings_for,
    succeeded,
    wait_record,
)

# ---------------------------------------------------------------------------- 9: downloads


def test_a_missing_result_is_retried_with_backoff_then_given_up_then_downloaded_again(studio):
    with faulty_server([("json", 404, b"gone")] * 3) as (url, script):
        conn = Connection(base_url=url, api_key=KEY)
        record = studio.store.add(succeeded(conn, [f"{url}/result.png"], mode="upscale"))
        studio.connect(conn)
        studio.tracker.start()
        failed = wait_record(studio.store, record.id, lambda r: r.download_gave_up)
        assert failed.download_attempts == 3  # 1, 2, 3: then it gave up
        assert "404" in failed.download_error and not failed.downloaded
        assert not failed.is_downloading and not failed.needs_work
        assert len(script.requests) == 3  # then it stops asking
        assert record.id not in {r.id for r in studio.store.due(now=time.time() + 10**6)}

        script.answers = [("json", 200, png())]
        again = studio.download_again(record.id)
        assert again.download_attempts == 0 and not again.download_gave_up
        done = wait_record(studio.store, record.id, lambda r: r.downloaded)
    assert done.download_error is None and len(done.files) == 1
    assert Image.open(studio.store.abspath(done.files[0])).size == (64, 64)


CUT = png()[: len(png()) // 2]


@pytest.mark.parametrize(
    "bad",
    [b"<!doctype html><html><body>Sign in</body></html>", CUT, bomb_png()],
    ids=["html", "truncated-png", "pixel-bomb"],
)
def test_a_result_that_is_no_image_is_recorded_and_leaves_no_file(studio, bad):
    good = [("json", 200, png(c)) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    with faulty_server((good + [("json", 200, bad)]) * 3) as (url, _):
        conn = Connection(base_url=url, api_key=KEY)
        urls = [f"{url}/{i}.png" for i in range(4)]
        record = studio.store.add(succeeded(conn, urls))
        studio.connect(conn)
        studio.tracker.start()
        failed = wait_record(studio.store, record.id, lambda r: r.download_gave_up)
    assert failed.download_attempts == 3 and not failed.files and not failed.downloaded
    assert "image" in failed.download_error or "pixels" in failed.download_error
    assert files_under(studio.store.results_dir(failed)) == []


def test_a_save_that_fails_midway_removes_what_it_wrote(tmp_path, monkeypatch):
    store = TaskStore.open(tmp_path / "data")
    record = store.add(succeeded(Connection("http://p.example", KEY), ["http://p.example/1"]))
    prepared = [("png", png(), png()) for _ in range(4)]
    real_replace, calls = os.replace, []

    def disk_fills_up(src, dst):
        calls.append(dst)
        if len(calls) == 5:  # the third image: two images and their thumbnails are in place
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(downloads.os, "replace", disk_fills_up)
    with pytest.raises(downloads.DownloadFailed) as caught:
        downloads.save_results(store, record, prepared)
    assert "No space left on device" in caught.value.reason
    assert str(tmp_path) not in caught.value.reason
    assert files_under(store.results_dir(record)) == []  # neither results nor temporary files


# ---------------------------------------------------------------------------- 11: statuses


@pytest.mark.parametrize(
    "body",
    [b"<html><body>Service temporarily unavailable</body></html>", {"code": 200, "data": "ok"}],
    ids=["html", "json-without-a-status"],
)
def test_a_status_that_is_no_status_is_a_provider_error(tmp_path, body):
    store = TaskStore.open(tmp_path / "data")
    tracker = Tracker(store)
    with faulty_server([("json", 200, body)] * 20) as (url, _):
        conn = Connection(base_url=url, api_key=KEY, poll=FAST)
        record = store.add(running(conn, "t1"))
        tracker.register(conn)
        tracker.start()
        try:
            seen = wait_record(store, record.id, lambda r: r.error is not None)
        finally:
            tracker.stop()
    assert seen.error.startswith(polling.NOT_A_STATUS)
    assert seen.state is RecordState.PROCESSING and seen.polls == 0  # not taken as "pending"
    assert seen.next_poll_at > seen.updated_at  # backs off


def test_a_long_retry_after_is_capped_and_the_real_wait_is_said(tmp_path):
    store = TaskStore.open(tmp_path / "data")
    tracker = Tracker(store)
    limited = ("json", 429, {"code": 429, "msg": "slow down"}, {"Retry-After": "3600"})
    with faulty_server([limited] * 4) as (url, _):
        conn = Connection(base_url=url, api_key=KEY, poll=FAST)
        record = store.add(running(conn, "t1"))
        tracker.register(conn)
        tracker.start()
        try:
            seen = wait_record(store, record.id, lambda r: r.error is not None)
        finally:
            tracker.stop()
    assert seen.error.startswith("Rate limited by the provider: checking again in 120 s")
    assert "3600" in seen.error
    wait = seen.next_poll_at - seen.updated_at
    assert polling.MAX_RETRY_AFTER_S - 1 <= wait <= polling.MAX_RETRY_AFTER_S + 1


def test_a_task_running_far_past_its_expected_time_is_stuck():
    now = time.time()
    conn = Connection("http://p.example", KEY)
    five_hours = running(conn, "t", expected_s=40.0, submitted_at=now - 5 * 3600)
    assert five_hours.is_stuck(now) and five_hours.is_stuck()
    assert not running(conn, "t", expected_s=40.0, submitted_at=now - 60).is_stuck(now)
    assert not running(conn, "t", expected_s=3600.0, submitted_at=now - 5 * 3600).is_stuck(now)
    old = dict(expected_s=40.0, submitted_at=now - 5 * 3600)
    assert not running(conn, "t", state=RecordState.SUCCESS, **old).is_stuck(now)
    assert not queued(conn).is_stuck(now + 10 * 3600)


def test_check_again_polls_a_parked_task_now(tmp_path):
    status = {"code": 200, "data": {"taskId": "s1", "state": "processing"}}
    with faulty_server([("json", 200, status)]) as (url, script):
        conn = Connection(base_url=url, api_key=KEY, poll=FAST)
        studio = Studio(settings_for(tmp_path / "data"))
        studio.connect(conn)
        studio.tracker.start()
        try:
            record = studio.store.add(running(conn, "s1", next_poll_at=time.time() + 3600))
            assert studio.check_again(record.id).next_poll_at <= time.time()
            polled = wait_record(studio.store, record.id, lambda r: r.polls == 1)
        finally:
            studio.tracker.stop()
    assert "taskId=s1" in script.requests[0]["path"] and polled.state is RecordState.PROCESSING
    assert studio.check_again("no-such-record") is None


def result_host():
    """A loopback result host serving a PNG under /r/; yields (url, what it was asked)."""
    blob = png()
    return serve({"/r/": lambda h: send(h, 200, blob, Content_Type="image/png")})


def test_each_result_is_downloaded_once_however_busy_the_tracker_is(studio):
    with result_host() as (url, seen):
        conn = Connection(base_url=url, api_key=KEY)
        ids = []
        for n in range(40):
            record = succeeded(conn, [f"{url}/r/{n}.png"], mode="upscale")
            record.task_id = f"done-{n}"
            ids.append(studio.store.add(record).id)
        studio.connect(conn)
        studio.tracker.start()
        waiting.wait_for(
            lambda: all(studio.store.get(i).downloaded for i in ids),
            timeout=30,
            message="not every result was downloaded",
        )
        time.sleep(0.5)  # a second download of a finished task would have started by now
    counts = Counter(seen.paths)
    assert len(counts) == 40
    assert {path: n for path, n in counts.items() if n > 1} == {}


def test_a_stale_snapshot_of_a_downloaded_task_is_not_downloaded_again(studio):
    """due() is a snapshot: a task finished by another worker meanwhile is left alone."""
    with result_host() as (url, seen):
        conn = Connection(base_url=url, api_key=KEY)
        record = studio.store.add(succeeded(conn, [f"{url}/r/0.png"], mode="upscale"))
        studio.connect(conn)
        snapshot = studio.store.get(record.id)  # as the tracker's due() saw it
        studio.tracker._advance(snapshot)  # one worker downloads it...
        studio.tracker._advance(snapshot)  # ...then the same snapshot is dispatched again
    assert studio.store.get(record.id).downloaded
    assert dict(Counter(seen.paths)) == {"/r/0.png": 1}
