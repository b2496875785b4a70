"""A page hears at once that one of its tasks is done (``Tracker.changes``): when the tracker has
stored its results, or when a provider's callback says it failed; never for a change that
leaves it running. The listeners themselves: by key, lapsing, dropped when gone or failing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mjstudio.api.contract import build_input
from mjstudio.config import Connection
from mjstudio.tasks.changes import Changes
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.tracker import Tracker
from tests.tasks.faultkit import KEY, settings_for, wait_record
from tests.tasks.loadkit import LoadConfig, load_provider

LONG = 60.0  # the tracker's own recheck: longer than any test here waits


class Heard:
    """A listener that keeps, for each call, the record as stored when it was told."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.records: list[TaskRecord] = []
        self.told = threading.Event()

    def __call__(self, record_id: str) -> bool:
        self.records.append(self.store.get(record_id))
        self.told.set()
        return True


def _studio(tmp_path, conn: Connection) -> Studio:
    studio = Studio(settings_for(tmp_path / "data"))
    studio.tracker = Tracker(studio.store, recheck_s=LONG)  # no help from a recheck
    studio.connect(conn)
    studio.tracker.start()
    return studio


def _sent(studio: Studio, conn: Connection, prompt: str) -> TaskRecord:
    record = studio.submit(conn, build_input("text-to-image", prompt=prompt))
    return wait_record(studio.store, record.id, lambda r: r.task_id is not None)


@contextmanager
def _heard_callback(tmp_path) -> Iterator[tuple[str, Studio, TaskRecord, Heard, str]]:
    """A task sent in callback mode with a page listening for it: (provider URL, studio,
    record, listener, callback signature); the tracker is stopped afterwards."""
    with load_provider(LoadConfig(delay_s=0.01)) as (url, _):
        conn = Connection(url, KEY, request_type="callback", callback_base="http://127.0.0.1:9")
        studio = _studio(tmp_path, conn)
        try:
            record = _sent(studio, conn, "call me")
            heard = Heard(studio.store)
            studio.tracker.changes.listen("page", [record.id], heard)
            sig = record.request["callback_url"].rsplit("sig=", 1)[1]
            yield url, studio, record, heard, sig
        finally:
            studio.tracker.stop()


def test_a_page_hears_of_a_callback_success_once_its_results_are_stored(tmp_path):
    with _heard_callback(tmp_path) as (url, studio, record, heard, sig):
        urls = [f"{url}/r/{record.task_id}-{n}.png" for n in range(1, 5)]
        data = {"taskId": record.task_id, "state": "success", "resultUrls": urls}
        assert studio.receive_callback(record.id, sig, data)
        assert heard.told.wait(20)
        wait_record(studio.store, record.id, lambda r: r.downloaded)
    assert len(heard.records) == 1  # not for the success stored without its images
    assert heard.records[0].downloaded and len(heard.records[0].thumbs) == 4


def test_a_failure_a_callback_brings_is_heard_before_the_callback_is_answered(tmp_path):
    with _heard_callback(tmp_path) as (_, studio, record, heard, sig):
        data = {"taskId": record.task_id, "state": "failed", "failCode": "BANNED"}
        assert studio.receive_callback(record.id, sig, data)
        assert [r.state for r in heard.records] == [RecordState.FAILED]


def test_polls_that_leave_a_task_running_tell_nobody(tmp_path):
    with load_provider(LoadConfig(delay_s=0.01, task_s=1.0)) as (url, provider):
        conn = Connection(url, KEY, poll=(0.1, 0.1))
        studio = _studio(tmp_path, conn)
        try:
            record = _sent(studio, conn, "poll me")
            heard = Heard(studio.store)
            studio.tracker.changes.listen("page", [record.id], heard)
            wait_record(studio.store, record.id, lambda r: r.downloaded)
            assert heard.told.wait(20)
        finally:
            studio.tracker.stop()
    assert provider.stats.per_task[record.task_id] >= 2  # polled while it ran, silently
    assert len(heard.records) == 1 and heard.records[0].downloaded


# --------------------------------------------------------------------------- the listeners


def test_a_listener_hears_only_its_own_records_and_a_later_listen_replaces_it():
    changes, calls = Changes(), []
    changes.listen("page", ["a", "b"], lambda rid: calls.append(("first", rid)) or True)
    assert changes.changed("c") == 0
    assert changes.changed("a") == 1
    changes.listen("page", ["c"], lambda rid: calls.append(("second", rid)) or True)
    changes.changed("a")
    changes.changed("c")
    assert calls == [("first", "a"), ("second", "c")]


@pytest.mark.parametrize("answer", [False, RuntimeError("gone")])
def test_a_listener_that_is_gone_or_fails_is_dropped_and_the_others_still_hear(answer):
    changes, calls = Changes(), []

    def gone(rid: str) -> bool:
        if isinstance(answer, Exception):
            raise answer
        return answer

    changes.listen("closed", ["a"], gone)
    changes.listen("open", ["a"], lambda rid: calls.append(rid) or True)
    assert changes.changed("a") == 2
    assert len(changes) == 1 and calls == ["a"]
    assert changes.changed("a") == 1


def test_a_listener_not_renewed_in_time_lapses_and_forget_drops_one():
    lapsed, calls = Changes(ttl_s=-1.0), []  # lapsed as soon as it is left
    lapsed.listen("page", ["a"], lambda rid: calls.append(rid) or True)
    assert lapsed.changed("a") == 0 and len(lapsed) == 0
    changes = Changes()
    changes.listen("page", ["a"], lambda rid: calls.append(rid) or True)
    changes.forget("page")
    changes.forget("never there")
    assert changes.changed("a") == 0 and calls == []
