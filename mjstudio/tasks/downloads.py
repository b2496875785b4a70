"""A succeeded task's results: download, check they are images, save atomically, retry policy.

A download either saves every image of a task or leaves nothing behind: each image is checked
(decodes, is an image, not too many pixels) before anything is written, each file is written to
a temporary name in its folder and renamed into place, and what an attempt wrote is removed when
it fails. A failure is a plain reason; the tracker retries with a growing delay up to a limit.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from mjstudio import images
from mjstudio.api.client import MJClient
from mjstudio.api.errors import MJError
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.store import TaskStore

log = logging.getLogger("mjstudio.tasks.downloads")

BACKOFF_S = 10.0  # first retry after 10 s, then 30 s, 90 s, 270 s ...
BACKOFF_FACTOR = 3.0
MAX_ATTEMPTS = 5  # then the tracker gives up and the designer may ask to download again
PART_SUFFIX = ".part"
_IMAGE_ERRORS = (images.ImageRejected, Image.DecompressionBombError, OSError, ValueError)
IMAGE_WORKERS = 4  # the images of one task (a grid: four) are fetched and checked side by side
_IMAGE_POOL: ThreadPoolExecutor | None = None
_IMAGE_POOL_LOCK = threading.Lock()


class DownloadFailed(Exception):
    """A download attempt failed; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed download is tried again."""

    backoff_s: float = BACKOFF_S
    factor: float = BACKOFF_FACTOR
    max_attempts: int = MAX_ATTEMPTS

    @classmethod
    def default(cls) -> RetryPolicy:
        """The module's settings, read now (tests patch them)."""
        return cls(BACKOFF_S, BACKOFF_FACTOR, MAX_ATTEMPTS)

    def delay(self, attempts: int) -> float:
        """Seconds before the next try, after ``attempts`` failed ones (1, 2 ...)."""
        return self.backoff_s * self.factor ** max(0, attempts - 1)

    def after_failure(self, record: TaskRecord, reason: str, now: float) -> dict[str, Any]:
        """The record's changes after a failed attempt: retry later, or give up at the limit."""
        attempts = record.download_attempts + 1
        changes: dict[str, Any] = {"download_error": reason, "download_attempts": attempts}
        if attempts >= self.max_attempts:
            changes.update(download_gave_up=True, next_poll_at=None)
        else:
            changes["next_poll_at"] = now + self.delay(attempts)
        return changes


def still_due(store: TaskStore, snapshot: TaskRecord) -> TaskRecord | None:
    """The record as stored now, if it still needs this pass.

    ``due()`` is a snapshot: a worker may have finished the task (downloaded it, say) after
    it was taken, and acting on the old copy would download or poll it a second time.
    """
    record = store.get(snapshot.id)
    if record is None or not record.needs_work or not record.task_id:
        return None
    if (record.next_poll_at or 0) > time.time():
        return None
    return record


def attempt(
    client: MJClient,
    store: TaskStore,
    record: TaskRecord,
    retry: RetryPolicy,
    stopping: threading.Event,
) -> dict[str, Any]:
    """One try at a success's results: the record's changes (none when stopping meanwhile)."""
    try:
        files, thumbs = download_results(client, store, record)
    except DownloadFailed as exc:
        reason = exc.reason
    except Exception as exc:  # noqa: BLE001 - whatever it is, it must not retry for ever
        if stopping.is_set():
            return {}
        log.exception("downloading %s failed unexpectedly", record.id)
        reason = f"Unexpected error while downloading ({type(exc).__name__})."
    else:
        return {"files": files, "thumbs": thumbs, "downloaded": True, "download_error": None}
    return retry.after_failure(record, reason, time.time())


def download_results(
    client: MJClient, store: TaskStore, record: TaskRecord
) -> tuple[list[str], list[str]]:
    """Download, check and save a record's results: (files, thumbs); DownloadFailed otherwise.

    The images of a task are fetched side by side, each checked and reduced as soon as it has
    arrived (while the others are still on their way).
    """
    urls = record.result_urls
    if not urls:
        raise DownloadFailed("The provider reported success but sent no result URLs.")
    if len(urls) == 1 and record.mode != "upscale":  # one 2x2 grid: its four quarters
        grid = _fetched(client, urls[0])
        _check_pixels(grid)
        prepared = list(_images().map(_prepared, _decoded(images.split_grid, grid)))
    else:
        prepared = list(_images().map(lambda url: _prepared(_fetched(client, url)), urls))
    return save_results(store, record, prepared)


def _fetched(client: MJClient, url: str) -> bytes:
    """One result file's bytes; DownloadFailed saying why not."""
    try:
        return client.download(url)
    except MJError as exc:
        raise DownloadFailed(f"{exc.title}: {exc.message}") from None


def _images() -> ThreadPoolExecutor:
    """The threads that fetch and check the images of a task (Pillow works outside the GIL)."""
    global _IMAGE_POOL
    with _IMAGE_POOL_LOCK:
        if _IMAGE_POOL is None:
            _IMAGE_POOL = ThreadPoolExecutor(IMAGE_WORKERS, thread_name_prefix="mj-image")
        return _IMAGE_POOL


def _check_pixels(blob: bytes) -> None:
    width, height = _decoded(images.image_size, blob)
    if width * height > images.MAX_PIXELS:
        raise DownloadFailed(f"The result has too many pixels ({width}x{height}) to be used.")


def _decoded(decode: Any, blob: bytes) -> Any:
    """Run a Pillow-based helper on downloaded bytes; a bad image becomes DownloadFailed."""
    try:
        return decode(blob)
    except Image.DecompressionBombError:
        raise DownloadFailed("The result has too many pixels to be used.") from None
    except _IMAGE_ERRORS:
        raise DownloadFailed(
            "The downloaded result is not a readable image (an error page, or a cut-off file)."
        ) from None


def _prepared(blob: bytes) -> tuple[str, bytes, bytes]:
    """(extension, image, thumbnail) for one checked result image."""
    _check_pixels(blob)
    thumb = _decoded(images.thumbnail, blob)  # decodes the whole image: proves it is one
    return images.sniff_extension(blob), blob, thumb


def save_results(
    store: TaskStore, record: TaskRecord, prepared: list[tuple[str, bytes, bytes]]
) -> tuple[list[str], list[str]]:
    """Write checked images and thumbnails atomically; on failure remove what was written."""
    folder = store.results_dir(record)
    files: list[Path] = []
    thumbs: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_parts(folder)
        for index, (ext, blob, thumb) in enumerate(prepared, start=1):
            write_atomic(folder / f"{index}.{ext}", blob)
            files.append(folder / f"{index}.{ext}")
            shown = folder / f"{index}.thumb.{images.sniff_extension(thumb)}"  # jpg, or png
            write_atomic(shown, thumb)
            thumbs.append(shown)
    except OSError as exc:
        for path in [*files, *thumbs]:
            with suppress(OSError):
                path.unlink()
        why = exc.strerror or type(exc).__name__  # never the path: it names the server's folders
        raise DownloadFailed(f"The images could not be saved: {why}.") from None
    return [store.relpath(p) for p in files], [store.relpath(p) for p in thumbs]


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file under a temporary name in its folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_parts(folder: Path) -> None:
    """Temporary files an attempt cut short (a killed process) left in a results folder."""
    for part in folder.glob(f".*{PART_SUFFIX}"):
        with suppress(OSError):
            part.unlink()
