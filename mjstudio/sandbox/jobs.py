"""Running one sandbox task: the provider's checks, then the pictures for its mode."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

from mjstudio.api.contract import (
    ImageToImage,
    TextToImage,
    UploadPaint,
    Upscale,
    Vary,
    parse_request,
)
from mjstudio.sandbox import imaging
from mjstudio.sandbox.fetch import ImageFetchError, describe, load_image
from mjstudio.sandbox.imaging import Style
from mjstudio.sandbox.ledger import SandboxLedger, SandboxTask
from mjstudio.sandbox.options import SandboxSettings


class TaskFailure(Exception):
    """The task ends as failed with this fail code and human message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class JobContext:
    """What a job may read: the settings and the other tasks."""

    settings: SandboxSettings
    store: SandboxLedger


@lru_cache(maxsize=16)
def _blocked_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)


def check_prompt(prompt: str | None, blocked: Sequence[str]) -> None:
    """Refuse a prompt holding a blocked word (whole word, any case)."""
    pattern = _blocked_pattern(tuple(blocked))
    match = pattern.search(prompt or "") if pattern else None
    if match:
        word = match.group(1).lower()
        raise TaskFailure("CONTENT_VIOLATION", f'The prompt uses the blocked word "{word}".')


def fetch(url: str, settings: SandboxSettings, what: str) -> Image.Image:
    """Load one image URL, turning any problem into INVALID_IMAGE_URL."""
    try:
        return load_image(
            url, settings.max_image_bytes, settings.fetch_timeout_s, settings.fence_for(url)
        )
    except ImageFetchError as exc:
        message = f"{what} ({describe(url)}) {exc}."
        raise TaskFailure("INVALID_IMAGE_URL", message) from None


def fetch_all(urls: Sequence[str], settings: SandboxSettings) -> list[Image.Image]:
    """Load every reference image, in order."""
    return [fetch(u, settings, f"Reference image {k + 1}") for k, u in enumerate(urls)]


def parent_image(ctx: JobContext, parent_id: str, index: int, asked_ms: int) -> Image.Image:
    """Image ``index`` of a task that had succeeded by ``asked_ms``, or INVALID_TASK_ID."""
    parent = ctx.store.get(parent_id)

    def fail(reason: str) -> TaskFailure:
        return TaskFailure("INVALID_TASK_ID", f"Task {parent_id} {reason}.")

    if parent is None:
        raise fail("does not exist")
    complete = parent.complete_ms
    if complete is None or complete > asked_ms:
        raise fail("had not finished when this task was created")
    if parent.fail_code:
        raise fail("failed, so it has no images")
    if index >= len(parent.files):
        raise fail(f"has no image {index} (it has {len(parent.files)})")
    if asked_ms - complete > ctx.settings.result_ttl_s * 1000:
        raise fail("has expired results")
    try:
        with Image.open(ctx.store.file_path(parent, parent.files[index])) as img:
            return img.convert("RGB")
    except OSError:
        raise fail("has lost its result files") from None


def sibling_images(ctx: JobContext, parent_id: str, index: int) -> list[Image.Image]:
    """The other images of the parent's grid (those still readable), for Vary (Subtle)."""
    parent = ctx.store.get(parent_id)
    if parent is None:
        return []
    out = []
    for k, name in enumerate(parent.files):
        if k == index:
            continue
        try:
            with Image.open(ctx.store.file_path(parent, name)) as img:
                out.append(img.convert("RGB"))
        except OSError:
            continue
    return out


def paint_mask(task: UploadPaint, source: Image.Image, settings: SandboxSettings) -> Image.Image:
    """The mask of an upload-paint task in source pixels (255 = regenerate)."""
    if task.mask.areas:
        areas = [(a.width, a.height, a.points) for a in task.mask.areas]
        return imaging.mask_from_areas(areas, source.size)
    mask = fetch(task.mask.url or "", settings, "Mask image")
    return imaging.mask_from_image(mask, source.size)


def render(record: SandboxTask, ctx: JobContext) -> list[Image.Image]:
    """The task's result images; raises TaskFailure when the provider would refuse it."""
    task = parse_request(record.request).input
    settings = ctx.settings
    check_prompt(getattr(task, "prompt", None), settings.blocked_words)
    if isinstance(task, TextToImage):
        return imaging.text_to_image(task.prompt, task.aspect, _style(task))
    if isinstance(task, ImageToImage):
        refs = fetch_all(task.image_urls, settings)
        return imaging.image_to_image(task.prompt, refs, task.aspect, _style(task))
    if isinstance(task, UploadPaint):
        source = fetch_all(task.image_urls, settings)[0]
        canvas = (task.canvas.width, task.canvas.height) if task.canvas else None
        pos = task.imgPos
        img_pos = (pos.x, pos.y, pos.width, pos.height) if pos else None
        mask = paint_mask(task, source, settings)
        style = Style(version=task.version)
        return imaging.paint(task.prompt, source, mask, canvas, img_pos, style)
    parent = parent_image(ctx, task.taskId, task.imageIndex, record.created_ms)
    if isinstance(task, Vary):
        siblings = sibling_images(ctx, task.taskId, task.imageIndex) if task.type == 0 else []
        return imaging.vary(parent, task.type, task.prompt, siblings)
    assert isinstance(task, Upscale)
    return [imaging.upscale(parent, task.type)]


def _style(task: TextToImage | ImageToImage) -> Style:
    return Style(task.chaos, task.stylize, task.weird, task.version)
