"""Favourites and batches in the store: stars, filters, a batch in cell order, batch summaries,
deleting a batch with its starred tasks protected, the indexes the new queries use, and the new
fields through an export and import."""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path

import pytest

from mjstudio.tasks.archive import export_history, import_history
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import DB_NAME, BatchSummary, TaskStore
from tests.tasks.test_store_plans import _TABLE_SCAN, PlannedStore

WS, OTHER = "ws-stars", "ws-other"


def make(
    prompt: str = "a fox", ws: str = WS, created_at: float = 1000.0, **kw: object
) -> TaskRecord:
    request = {"input": {"mode": "text-to-image", "prompt": prompt}}
    return TaskRecord.new(ws, request, created_at=created_at, **kw)


def cell(row: int, col: int, copy: int = 0) -> dict:
    return {"row": row, "col": col, "row_label": f"r{row}", "col_label": f"c{col}", "copy": copy}


def with_files(store: TaskStore, record: TaskRecord) -> TaskRecord:
    """The record with one result image and thumbnail on disk."""
    folder = store.results_dir(record)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "1.png").write_bytes(b"png")
    (folder / "1.thumb.webp").write_bytes(b"webp")
    record.files = [store.relpath(folder / "1.png")]
    record.thumbs = [store.relpath(folder / "1.thumb.webp")]
    record.state, record.downloaded = RecordState.SUCCESS, True
    return record


# ---------------------------------------------------------------------------- stars


def test_a_task_is_starred_and_unstarred(store: TaskStore) -> None:
    record = store.add(make(updated_at=1.0))
    starred = store.set_favourite(record.id, True)
    assert starred.favourite and starred.is_starred and store.get(record.id).favourite
    assert starred.updated_at > 1.0  # a live view redraws it
    assert [r.id for r in store.changed_since([record.id], 1.0)] == [record.id]
    assert not store.set_favourite(record.id, False).favourite
    with pytest.raises(KeyError):
        store.set_favourite("no-such-id")


def test_images_are_starred_one_by_one(store: TaskStore) -> None:
    record = store.add(make())
    assert store.set_image_favourite(record.id, 2).favourite_images == [2]
    assert store.set_image_favourite(record.id, 0).favourite_images == [0, 2]
    assert store.set_image_favourite(record.id, 2).favourite_images == [0, 2]  # once only
    again = store.set_image_favourite(record.id, 2, False)
    assert again.favourite_images == [0] and again.is_starred and not again.favourite
    assert store.get(record.id).favourite_images == [0]
    assert store.set_image_favourite(record.id, 0, False).favourite_images == []
    assert not store.get(record.id).is_starred
    for bad in (-1, 4):
        with pytest.raises(ValueError, match="0 to 3"):
            store.set_image_favourite(record.id, bad)
    with pytest.raises(KeyError):
        store.set_image_favourite("no-such-id", 1)


def test_stars_from_many_threads_are_all_kept(store: TaskStore) -> None:
    """Each star is read and written under the write lock: none is lost to another thread."""
    record = store.add(make())
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def star(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                store.set_image_favourite(record.id, index % 4)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=star, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert store.get(record.id).favourite_images == [0, 1, 2, 3]


def test_list_and_count_filter_by_favourites(store: TaskStore) -> None:
    plain = store.add(make("a plain fox", created_at=1.0))
    task = store.add(make("a starred fox", created_at=2.0))
    image = store.add(make("an owl with a starred image", created_at=3.0))
    both = store.add(make("a starred owl", created_at=4.0))
    elsewhere = store.add(make("a starred fox", ws=OTHER, created_at=5.0))
    for record in (task, both, elsewhere):
        store.set_favourite(record.id)
    for record in (image, both):
        store.set_image_favourite(record.id, 1)
    assert [r.id for r in store.list(WS, favourites=True)] == [both.id, image.id, task.id]
    assert store.count(WS, favourites=True) == 3 and store.count(WS) == 4
    assert [r.id for r in store.list(WS, favourites=True, query="owl")] == [both.id, image.id]
    assert store.count(WS, favourites=True, query="fox") == 1
    assert [r.id for r in store.list(WS, favourites=True, limit=1, offset=1)] == [image.id]
    store.set_favourite(task.id, False)
    assert plain.id not in {r.id for r in store.list(WS, favourites=True)}
    assert store.count(WS, favourites=True) == 2


# ---------------------------------------------------------------------------- batches


def _batch(store: TaskStore, batch_id: str, shape: tuple[int, int], start: float) -> list:
    """A rows x cols batch, stored in reverse cell order (the store must sort it)."""
    places = [(r, c) for r in range(shape[0]) for c in range(shape[1])][::-1]
    records = [
        make(f"{batch_id} {r} {c}", created_at=start + n, batch_id=batch_id, cell=cell(r, c))
        for n, (r, c) in enumerate(places)
    ]
    for record in records:
        record.batch_label = f"label of {batch_id}"
        store.add(record)
    return records


def test_a_batch_comes_back_in_cell_order(store: TaskStore) -> None:
    _batch(store, "b1", (2, 3), 100.0)
    store.add(make("not in a batch", created_at=50.0))
    store.add(make("same id, other workspace", ws=OTHER, batch_id="b1", cell=cell(0, 0)))
    found = store.batch(WS, "b1")
    assert [(r.cell["row"], r.cell["col"]) for r in found] == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)
    ]  # fmt: skip
    assert {r.batch_label for r in found} == {"label of b1"}
    assert [r.prompt for r in store.list(WS, batch="b1", limit=2)] == ["b1 0 0", "b1 0 1"]
    assert store.count(WS, batch="b1") == 6 and store.count(OTHER, batch="b1") == 1
    assert store.batch(WS, "none") == []


def test_copies_of_a_cell_and_records_without_one_keep_their_order(store: TaskStore) -> None:
    first = store.add(make("copy 2", batch_id="b", cell=cell(0, 0, copy=1), created_at=1.0))
    second = store.add(make("copy 1", batch_id="b", cell=cell(0, 0, copy=0), created_at=2.0))
    stray = store.add(make("no cell", batch_id="b", created_at=0.5))
    assert [r.id for r in store.batch(WS, "b")] == [second.id, first.id, stray.id]


def test_batches_are_summed_up_latest_first(store: TaskStore) -> None:
    older = _batch(store, "older", (1, 2), 10.0)
    newer = _batch(store, "newer", (2, 2), 20.0)
    store.update(newer[0].id, state=RecordState.SUCCESS)
    store.update(newer[1].id, state=RecordState.FAILED)
    store.update(newer[2].id, state=RecordState.REJECTED)
    store.set_image_favourite(newer[0].id, 3)
    store.set_favourite(newer[0].id)
    store.set_favourite(older[0].id)
    store.add(make("no batch", created_at=99.0))
    store.add(make("elsewhere", ws=OTHER, batch_id="x", created_at=99.0))
    summaries = store.batches(WS)
    assert summaries == [
        BatchSummary("newer", "label of newer", 4, 20.0, 23.0, 1, 2, 1),
        BatchSummary("older", "label of older", 2, 10.0, 11.0, 0, 0, 1),
    ]
    assert summaries[0].unfinished == 1
    assert [s.batch_id for s in store.batches(WS, limit=1)] == ["newer"]
    assert store.batches("empty") == []


def test_deleting_a_batch_keeps_its_favourites_unless_confirmed(store: TaskStore) -> None:
    records = [with_files(store, r) for r in _batch(store, "b", (2, 2), 0.0)]
    for record in records:
        store.update(record.id, files=record.files, thumbs=record.thumbs, downloaded=True)
    other = _batch(store, "other", (1, 1), 50.0)
    store.set_favourite(records[0].id)
    store.set_image_favourite(records[1].id, 0)
    assert store.delete_batch(WS, "b") == (2, 2)
    kept = {r.id for r in store.batch(WS, "b")}
    assert kept == {records[0].id, records[1].id}
    for record in records:
        present = store.abspath(record.files[0]).exists()
        assert present == (record.id in kept), record.prompt
        assert store.results_dir(record).exists() == (record.id in kept)
    assert store.delete_batch(WS, "b") == (0, 2)  # asked again: still protected
    assert store.delete_batch(OTHER, "b") == (0, 0)  # another workspace: nothing of it
    assert store.delete_batch(WS, "b", include_favourites=True) == (2, 0)
    assert store.batch(WS, "b") == [] and not store.abspath(records[0].files[0]).exists()
    assert [r.id for r in store.batch(WS, "other")] == [other[0].id]


# ---------------------------------------------------------------------------- indexes


def test_the_new_queries_use_their_indexes(tmp_path: Path) -> None:
    store = PlannedStore(tmp_path / DB_NAME)
    records = [make(f"a fox {n}", created_at=float(n)) for n in range(300)]
    for n, record in enumerate(records[:100]):
        record.batch_id, record.cell = f"b{n // 10}", cell(n % 10, 0)
    records[5].favourite, records[7].favourite_images = True, [1]
    store.add_many(records)
    calls = {
        "list favourites": (lambda: store.list(WS, favourites=True), "tasks_starred"),
        "count favourites": (lambda: store.count(WS, favourites=True), "tasks_starred"),
        "list batch": (lambda: store.list(WS, batch="b3"), "tasks_batch"),
        "count batch": (lambda: store.count(WS, batch="b3"), "tasks_batch"),
        "batch": (lambda: store.batch(WS, "b3"), "tasks_batch"),
        "batches": (lambda: store.batches(WS), "tasks_batch"),
        "delete_batch": (lambda: store.delete_batch(WS, "b9"), "tasks_batch"),
    }
    for name, (call, index) in calls.items():
        lines = store.plan(call)
        scans = [line for line in lines if _TABLE_SCAN.fullmatch(line) and "INDEX" not in line]
        assert not scans, f"{name} scans the table: {lines}"
        assert any(index in line for line in lines), f"{name} does not use {index}: {lines}"
    assert len(store.list(WS, favourites=True)) == 2 and store.count(WS, batch="b3") == 10


# ---------------------------------------------------------------------------- export and import


def test_batches_and_stars_survive_an_export_and_import(store: TaskStore, tmp_path: Path) -> None:
    records = _batch(store, "b", (1, 2), 0.0)
    for record in records:  # finished: the import leaves them as they are
        store.update(record.id, state=RecordState.SUCCESS, task_id="t", download_gave_up=True)
    store.set_favourite(records[0].id)
    store.set_image_favourite(records[1].id, 3)
    store.set_image_favourite(records[1].id, 1)
    export_history(store, tmp_path / "history.zip")
    target = TaskStore.open(tmp_path / "target")
    report = import_history(target, tmp_path / "history.zip")
    assert report.added == 2
    for record in store.batch(WS, "b"):
        assert asdict(target.get(record.id)) == asdict(record)
    assert target.get(records[1].id).favourite_images == [1, 3]
    assert target.get(records[0].id).cell == cell(0, 1)  # stored in reverse cell order
    assert target.count(WS, favourites=True) == 2
    assert [s.count for s in target.batches(WS)] == [2]
