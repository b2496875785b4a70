"""The pages under faults: broken downloads, missing files, stuck, queued and unknown tasks, a
task waiting for its key, a data folder that can't be used (issue 8, items 9-13 and 20)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.sitemap import PAGES
from mjstudio.tasks.downloads import MAX_ATTEMPTS
from mjstudio.tasks.polling import WAITING_FOR_KEY
from mjstudio.tasks.record import RecordState
from mjstudio.tasks.store import StoreUnavailable, TaskStore
from tests.pages import probes
from tests.pages.conftest import LATER, SCRIPT, add_task, shown_text, with_files
from tests.pages.conftest import button as _button

pytestmark = pytest.mark.usefixtures("framed")  # every page inside the frame, as served


def _progress(at) -> list[str]:
    """The texts of the progress bars on the page."""
    return [bar.proto.text for bar in at.get("progress")]


# --------------------------------------------------------------------------- 9, 12: downloads


def test_a_failing_download_says_why_and_which_attempt(app, store, workspace):
    add_task(
        store,
        workspace,
        state=RecordState.SUCCESS,
        task_id="t-404",
        result_urls=["http://127.0.0.1:9/grid.png"],
        download_error="HTTP 404: the result is gone",
        download_attempts=2,
    )
    at = app()
    assert any("HTTP 404: the result is gone" in shown_text(w.value) for w in at.warning)
    assert any(f"Retrying (attempt 3 of {MAX_ATTEMPTS})" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "Download again"]


def test_a_download_that_gave_up_offers_download_again(app, store, workspace):
    record = add_task(
        store,
        workspace,
        state=RecordState.SUCCESS,
        task_id="t-gone",
        result_urls=["http://127.0.0.1:9/grid.png"],
        download_error="HTTP 500: server error",
        download_attempts=MAX_ATTEMPTS,
        download_gave_up=True,
    )
    at = app()
    assert any("HTTP 500: server error" in shown_text(w.value) for w in at.warning)
    _button(at, "Download again").click().run()
    assert not at.exception
    again = store.get(record.id)
    assert not again.download_gave_up and again.download_attempts < MAX_ATTEMPTS


@pytest.mark.parametrize("present", [0, 2])
def test_missing_result_files_show_placeholders_and_delete_still_works(
    app, store, workspace, present
):
    record = add_task(
        store,
        workspace,
        state=RecordState.SUCCESS,
        task_id="t-files",
        result_urls=["http://127.0.0.1:9/grid.png"],
    )
    with_files(store, record, present)
    at = app()  # the feed's board row
    assert not at.exception
    row = probes.block(at, f"card-text-to-image-{record.id}")
    assert "missing from the data folder" in probes.row_data(row)["warning"]
    assert _missing(row) == 4 - present
    assert "Download again" in probes.row_labels(row)
    at = app(SCRIPT["history"])
    assert not at.exception
    row = probes.block(at, f"card-history-{record.id}")
    assert _missing(row) == 4 - present
    at = probes.click_row(at, row, "delete")
    assert not at.exception
    assert store.get(record.id) is None


def _missing(row) -> int:
    """How many of a board row's images it shows as missing (no thumbnail URL)."""
    return sum(image["src"] is None for image in probes.row_data(row)["images"])


def test_download_again_for_missing_files_asks_the_studio(app, store, workspace):
    record = add_task(
        store,
        workspace,
        state=RecordState.SUCCESS,
        task_id="t-lost",
        result_urls=["http://127.0.0.1:9/grid.png"],
    )
    with_files(store, record, 0)
    at = app()
    at = probes.click_row(at, probes.block(at, f"card-text-to-image-{record.id}"), "download-again")
    assert not at.exception
    assert store.get(record.id).downloaded is False


# --------------------------------------------------------------------------- 10, 11, 20: states


def test_a_queued_task_is_waiting_to_send(app, store, workspace):
    add_task(store, workspace, state=RecordState.QUEUED)
    at = app()
    assert _progress(at) == ["Waiting to send"]


def test_an_unknown_task_explains_and_takes_a_task_id(app, store, workspace):
    record = add_task(
        store,
        workspace,
        state=RecordState.UNKNOWN,
        error="The studio stopped while sending this task; it was not sent again.",
    )
    at = app()
    assert any("may or may not have reached the provider" in w.value for w in at.warning)
    assert any("not sent again" in shown_text(c.value) for c in at.caption)
    at.text_input(key=f"text-to-image:{record.id}:attach-id").set_value("  t-from-dashboard ")
    _button(at, "Attach task id").click().run()
    assert not at.exception
    attached = store.get(record.id)
    assert attached.task_id == "t-from-dashboard"
    assert attached.state is not RecordState.UNKNOWN


def test_a_bad_task_id_to_attach_gets_a_message(app, store, workspace):
    add_task(store, workspace, state=RecordState.SUCCESS, task_id="t-taken")
    record = add_task(store, workspace, state=RecordState.UNKNOWN)
    at = app()
    at.text_input(key=f"text-to-image:{record.id}:attach-id").set_value("t-taken")
    _button(at, "Attach task id").click().run()
    assert not at.exception
    assert any("already has that task id" in shown_text(e.value) for e in at.error)
    assert store.get(record.id).state is RecordState.UNKNOWN


def test_a_stuck_task_warns_and_offers_check_again(app, store, workspace):
    five_hours_ago = time.time() - 5 * 3600
    record = add_task(
        store,
        workspace,
        state=RecordState.PROCESSING,
        task_id="t-stuck",
        submitted_at=five_hours_ago,
        created_at=five_hours_ago,
    )
    at = app()
    warning = next(w.value for w in at.warning if "Still processing" in w.value)
    assert "after 5 h 0 min (expected about 40 s)" in warning
    assert _progress(at) == []  # not "18000 s of about 40 s"
    _button(at, "Check again").click().run()
    assert not at.exception
    assert store.get(record.id).next_poll_at < time.time() + LATER / 2


def test_the_trackers_error_while_polling_is_shown(app, store, workspace):
    rate_limited = "rate limited by the provider: checking again in 120 s"
    add_task(store, workspace, state=RecordState.PENDING, task_id="t-rl", error=rate_limited)
    add_task(
        store, workspace, state=RecordState.PROCESSING, task_id="t-html", error="not a task status"
    )
    at = app()
    captions = [shown_text(c.value) for c in at.caption]
    assert rate_limited in captions and "not a task status" in captions


def test_a_task_waiting_for_its_key_links_to_settings(app, store, workspace):
    add_task(store, workspace, state=RecordState.PENDING, task_id="t-parked", error=WAITING_FOR_KEY)
    at = app()
    assert any(shown_text(w.value) == WAITING_FOR_KEY for w in at.warning)
    links = [link.proto.page for link in at.get("page_link")]
    assert any(page.endswith("settings") for page in links), links


# --------------------------------------------------------------------------- 13: the data folder


def _unavailable(*args, **kwargs):
    raise StoreUnavailable("The data folder is full: free some space.")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.title)
def test_a_data_folder_that_cant_be_used_shows_one_banner(app, store, monkeypatch, page):
    app()  # the studio starts with its folder fine
    reads = ("list", "get", "get_many", "count", "count_active", "running", "latest_update")
    reads += ("children", "children_of")
    for name in (*reads, "active", "add", "update", "find_submission"):
        monkeypatch.setattr(TaskStore, name, _unavailable)
    at = app(page.script)
    assert not at.exception
    banners = [e.value for e in at.error if "can't use its data folder" in e.value]
    assert len(banners) == 1, [e.value for e in at.error]
    assert "The data folder is full" in shown_text(banners[0])
    assert str(Path(store.path).parent) not in str(at.main)
    assert [t.value for t in at.title][:1] == [page.title]


def test_generate_with_a_full_data_folder_shows_the_banner(app, store, monkeypatch):
    at = app()
    monkeypatch.setattr(TaskStore, "add", _unavailable)
    monkeypatch.setattr(TaskStore, "add_once", _unavailable)
    at.text_area(key="text-to-image:prompt").set_value("a red fox")
    _button(at, "Generate").click().run()
    assert not at.exception
    assert any("can't use its data folder" in e.value for e in at.error)
    assert _button(at, "Generate")  # the form can be sent again


def test_a_damaged_database_set_aside_is_said_once(app, monkeypatch):
    aside = Path("tasks.db.damaged-20260101")
    monkeypatch.setattr(TaskStore, "recovered_from", property(lambda self: aside))
    at = app()
    assert any(aside.name in shown_text(w.value) for w in at.warning)
    at.run()
    assert not any(aside.name in shown_text(w.value) for w in at.warning)


def _feed_fragment_alone() -> None:
    """What a fragment rerun of the feed runs: the fragment's body, without the frame."""
    import streamlit as st

    from components import feed, session

    session.init()
    feed._live("text-to-image", {"a-task-id": st.container()})


def test_the_feed_fragment_survives_the_folder_going_away(data_dir, monkeypatch):
    monkeypatch.setattr(TaskStore, "get", _unavailable)
    monkeypatch.setattr(TaskStore, "get_many", _unavailable)
    at = AppTest.from_function(_feed_fragment_alone, default_timeout=30)
    at.run()
    assert not at.exception
    assert any("can't use its data folder" in e.value for e in at.error)
