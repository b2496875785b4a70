"""Pages cost what they show (issue 9): thumbnails sent as stored, only running cards refresh,
no query that scans the history."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from mjstudio import images
from mjstudio.sandbox.imaging import text_to_image
from mjstudio.tasks.downloads import save_results
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore
from tests.pages import probes
from tests.pages.conftest import SCRIPT, add_task, shown_text, with_files

pytestmark = pytest.mark.usefixtures("framed")  # every page inside the frame, as served

SCAN_STEPS = 20_000  # SQLite VM steps: a page of rows takes < 5,000; a 10,000-task scan > 30,000


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def finished(store: TaskStore, workspace: str, arts: list[Image.Image], **fields) -> TaskRecord:
    """A success whose results were stored as the tracker stores them (files + thumbnails)."""
    record = add_task(store, workspace, state=RecordState.SUCCESS, task_id="t-done", **fields)
    prepared = [("png", blob, images.thumbnail(blob)) for blob in map(_png, arts)]
    files, thumbs = save_results(store, record, prepared)
    return store.update(record.id, files=files, thumbs=thumbs, downloaded=True)


def _sent(at, media: probes.Media, record: TaskRecord) -> list[tuple[bytes, str]]:
    card = probes.block(at, f"card-text-to-image-{record.id}")
    return [media.content(url) for url in probes.image_urls(card)]


# --------------------------------------------------------------------------- images


def test_a_finished_grid_sends_its_stored_thumbnails_and_encodes_nothing(app, store, workspace):
    record = finished(store, workspace, text_to_image("a red fox in the snow"))
    with probes.media() as media, probes.encodes() as encoded:
        at = app()
        at.run()
    sent = _sent(at, media, record)
    assert [data for data, _ in sent] == [store.abspath(t).read_bytes() for t in record.thumbs]
    assert {mime for _, mime in sent} == {"image/jpeg"}
    assert sum(len(data) for data, _ in sent) <= 150_000  # the full-size files: ~1,000 KB
    assert encoded == []  # nothing decoded and re-encoded on a page run


def test_older_and_missing_thumbnails_are_made_small_once(app, store, workspace):
    big = Image.radial_gradient("L").resize((1024, 1024)).convert("RGB")
    record = finished(store, workspace, [big] * 4)
    for rel in record.thumbs[:2]:  # an older release's WebP thumbnails, 384 px
        big.resize((384, 384)).save(store.abspath(rel), "WEBP")
    for rel in record.thumbs[2:]:  # lost: only the full-size files are left
        store.abspath(rel).unlink()
    with probes.media() as media:
        at = app()
        sent = _sent(at, media, record)
        with probes.encodes() as encoded:
            at.run()
    sizes = [Image.open(io.BytesIO(data)).size for data, _ in sent]
    assert sizes == [(384, 384)] * 2 + [(images.THUMB_SIDE, images.THUMB_SIDE)] * 2
    # the WebP thumbnails go out as they are (browsers show WebP); the lost ones are made
    assert [mime for _, mime in sent] == ["image/webp"] * 2 + ["image/jpeg"] * 2
    assert all(len(data) <= images.THUMB_MAX_BYTES for data, _ in sent)
    assert encoded == []  # made once, then kept


def test_an_upscale_shows_its_thumbnail_never_the_file(app, store, workspace):
    big = text_to_image("a lighthouse")[0].resize((2048, 2048))
    record = finished(store, workspace, [big], mode="upscale")
    with probes.media() as media:
        at = app()
    card = probes.block(at, f"card-text-to-image-{record.id}")
    sent = probes.row_data(card)
    assert sent["upscaled"] == "Upscaled · 2048×2048"
    assert [(i["n"], i["derive"]) for i in sent["images"]] == [(1, False)]  # no U/V on it
    data, _ = media.content(sent["images"][0]["src"])
    assert data == store.abspath(record.thumbs[0]).read_bytes()
    assert Image.open(io.BytesIO(data)).size == (images.THUMB_SIDE, images.THUMB_SIDE)
    assert sent["download"]["label"] == "⬇ 1"  # the file itself
    data, _ = probes.served(sent["download"]["href"])
    assert data == store.abspath(record.files[0]).read_bytes()


# --------------------------------------------------------------------------- live refresh


def _running(store: TaskStore, workspace: str) -> TaskRecord:
    now = time.time()
    return add_task(
        store,
        workspace,
        "a fox on its way",
        state=RecordState.PROCESSING,
        task_id="t-running",
        submitted_at=now,
        created_at=now - 600,  # older than the finished ones: the feed holds it as running
    )


def test_only_running_cards_refresh_and_a_finished_task_leaves_the_timer(app, store, workspace):
    running = _running(store, workspace)
    done = [with_files(store, add_task(store, workspace, f"fox {n}"), 4) for n in range(4)]
    for record in done:
        store.update(record.id, state=RecordState.SUCCESS, task_id=f"t-{record.id}")
    with probes.fragments() as seen:
        at = app()
        assert [round(interval, 3) for _, interval in seen.timers] == [0.3]  # one, for the set
        assert {rid for rid, frag in seen.cards if frag} == {running.id}
        assert {rid for rid, frag in seen.cards if not frag} == {r.id for r in done}
        fragment = seen.timers[0][0]
        seen.cards.clear()
        probes.tick(at, fragment)
        assert [rid for rid, _ in seen.cards] == [running.id]  # the finished cards stay as drawn
        assert not at.get("image")
        with_files(store, store.update(running.id, state=RecordState.SUCCESS), 4)
        seen.cards.clear()
        seen.timers.clear()
        probes.tick(at, fragment)  # notices the change and asks for one full run
    assert seen.timers == []  # nothing runs: no timer at all
    assert (running.id, None) in seen.cards  # drawn once, as a finished card
    assert len(probes.image_urls(probes.block(at, f"card-text-to-image-{running.id}"))) == 4


def test_a_refresh_reads_the_running_records_only_when_they_changed(
    app, store, workspace, monkeypatch
):
    running = _running(store, workspace)
    with probes.fragments() as seen:
        at = app()
    fragment = seen.timers[0][0]
    read, get_many = [], TaskStore.get_many
    monkeypatch.setattr(
        TaskStore, "get_many", lambda self, ids: read.extend(ids) or get_many(self, ids)
    )
    probes.tick(at, fragment)
    assert read == []  # one indexed max(updated_at) said nothing changed
    assert [p.proto.text for p in at.get("progress")][0].startswith("Processing")
    store.update(running.id, error="rate limited by the provider: checking again in 60 s")
    probes.tick(at, fragment)
    assert read == [running.id]
    assert "rate limited by the provider" in " ".join(shown_text(c.value) for c in at.caption)


def test_no_timer_when_nothing_runs(app, store, workspace):
    record = with_files(store, add_task(store, workspace, state=RecordState.SUCCESS), 4)
    with probes.fragments() as seen:
        app()
    assert seen.timers == [] and seen.cards == [(record.id, None)]


# --------------------------------------------------------------------------- no scans


def test_pages_with_a_long_history_issue_no_query_that_scans(app, store, workspace):
    stock = with_files(store, add_task(store, workspace, state=RecordState.SUCCESS), 4)
    probes.fill_fast(store, workspace, 10_000, list(zip(stock.files, stock.thumbs, strict=True)))
    with probes.page_statements() as issued:
        at = app()  # a new session: the feed is seeded
        at.run()
        app(SCRIPT["history"]).run()
        at = app(SCRIPT["vary"])  # the parent picker
        at = app(SCRIPT["image_to_image"])
        at.segmented_control(key="i2i-1:source").set_value("Earlier result").run()
    assert not at.exception
    selects = {sql for sql in issued if sql.lstrip().upper().startswith("SELECT")}
    assert len(selects) >= 5, issued
    costs = sorted((probes.steps(store.path, sql), sql) for sql in selects)
    assert costs[-1][0] < SCAN_STEPS, costs[-3:]


def test_history_counts_up_to_a_cap(app, store, workspace):
    stock = with_files(store, add_task(store, workspace, state=RecordState.SUCCESS), 4)
    probes.fill_fast(store, workspace, 1_000, list(zip(stock.files, stock.thumbs, strict=True)))
    at = app(SCRIPT["history"])
    captions = [c.value for c in at.caption]
    assert any(c.startswith("More than 1,000 tasks · page 1 of the newest 100") for c in captions)
    at.text_input(key="history:q").set_value("fox number 999").run()
    assert any(c.value.startswith("1 task(s) · page 1 of 1") for c in at.caption)


def test_an_earlier_result_is_read_once_not_on_every_run(app, store, workspace, monkeypatch):
    with_files(store, add_task(store, workspace, state=RecordState.SUCCESS, task_id="t-pick"), 4)
    at = app(SCRIPT["image_to_image"])
    at.segmented_control(key="i2i-1:source").set_value("Earlier result").run()
    assert not at.exception and not at.error
    read, original = [], Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    at.run()
    assert not at.exception and read == []  # neither the result file nor its thumbnail
