"""A task's result images are fetched side by side, and each is checked and reduced to its
thumbnail as soon as it has arrived, while the others are still on their way."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from mjstudio import images
from mjstudio.tasks import downloads
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore

WAIT_S = 20.0  # only a broken pipeline waits this long


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 600), colour).save(out, "PNG")
    return out.getvalue()


class Provider:
    """Serves a task's four result files; the last one only once ``release`` is set."""

    def __init__(self, urls: list[str]) -> None:
        self.blobs = {url: _png((40 * n, 90, 200)) for n, url in enumerate(urls)}
        self.last = urls[-1]
        self.release = threading.Event()
        self.together = threading.Barrier(len(urls), timeout=WAIT_S)

    def download(self, url: str) -> bytes:
        self.together.wait()  # every fetch is under way at once, or this breaks
        if url == self.last and not self.release.wait(WAIT_S):
            raise AssertionError("the last image was waited for before the others were reduced")
        return self.blobs[url]


@pytest.fixture
def record(tmp_path) -> tuple[TaskStore, TaskRecord]:
    store = TaskStore.open(tmp_path / "data")
    urls = [f"https://cdn.example/r/{n}.png" for n in range(4)]
    made = TaskRecord.new(
        "ws", {}, mode="text-to-image", task_id="t1", state=RecordState.SUCCESS, result_urls=urls
    )
    return store, store.add(made)


def test_images_arrived_are_reduced_while_the_last_is_still_on_its_way(record, monkeypatch):
    store, task = record
    provider, reduced, real = Provider(task.result_urls), [], images.thumbnail

    def thumbnail(data: bytes, *args, **kwargs) -> bytes:
        made = real(data, *args, **kwargs)
        reduced.append(data)
        if len(reduced) == len(task.result_urls) - 1:  # every one but the last
            provider.release.set()
        return made

    monkeypatch.setattr(downloads.images, "thumbnail", thumbnail)
    files, thumbs = downloads.download_results(provider, store, task)
    assert len(files) == len(thumbs) == 4
    assert reduced[-1] == provider.blobs[provider.last]  # reduced last: it arrived last
    for url, rel in zip(task.result_urls, files, strict=True):  # saved in the task's order
        assert store.abspath(rel).read_bytes() == provider.blobs[url]
