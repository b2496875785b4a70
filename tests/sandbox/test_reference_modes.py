"""image-to-image, upload-paint, vary and upscale through the sandbox."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.sandbox import helpers
from tests.sandbox.conftest import Parent

POLYGON = [100, 80, 420, 60, 460, 300, 140, 360]  # clockwise on screen, y down


def _grey(img: Image.Image | np.ndarray, size: tuple[int, int] = (48, 48)) -> np.ndarray:
    pic = img if isinstance(img, Image.Image) else Image.fromarray(img)
    return np.asarray(pic.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=float)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _polygon_mask(size: tuple[int, int], points: list[int]) -> np.ndarray:
    mask = Image.new("L", size, 0)
    xy = list(zip(points[0::2], points[1::2], strict=True))
    ImageDraw.Draw(mask).polygon(xy, fill=255, outline=255)
    return np.asarray(mask) > 0


def test_image_to_image_from_a_data_url(api: httpx.Client, photo: Image.Image) -> None:
    url = helpers.data_url(helpers.encode(photo))
    task = {"mode": "image-to-image", "prompt": "a teal dream", "image_urls": [url]}
    images = helpers.run_images(api, task)
    assert [img.shape for img in images] == [(1024, 1024, 3)] * 4
    square = photo.crop((80, 0, 560, 480))
    for img in images:
        assert _correlation(_grey(img), _grey(square)) > 0.8, "recognisably the reference"
    assert helpers.mean_diff(images[0], images[1]) > 1.0


@pytest.mark.parametrize("path", ["files/photo.jpg", "files/photo.webp", "go/photo.png"])
def test_image_to_image_from_an_http_url(api: httpx.Client, image_host: str, path: str) -> None:
    task = {
        "mode": "image-to-image",
        "prompt": "autumn",
        "image_urls": [f"{image_host}/{path}"],
        "aspect": "16:9",
    }
    images = helpers.run_images(api, task)
    assert [img.shape for img in images] == [(576, 1024, 3)] * 4


def test_paint_keeps_unmasked_pixels_exactly(api: httpx.Client, photo: Image.Image) -> None:
    source = np.asarray(photo)
    area = {"width": 640, "height": 480, "points": POLYGON}
    task = {
        "mode": "upload-paint",
        "prompt": "a silver moon",
        "image_urls": [helpers.data_url(helpers.encode(photo))],
        "mask": {"areas": [area]},
    }
    masked = _polygon_mask(photo.size, POLYGON)
    images = helpers.run_images(api, task)
    assert len(images) == 4
    for img in images:
        assert img.shape == source.shape
        assert np.array_equal(img[~masked], source[~masked])
        changed = np.any(img[masked] != source[masked], axis=1).mean()
        assert changed > 0.9


def test_paint_scales_areas_given_at_another_size(api: httpx.Client, photo: Image.Image) -> None:
    doubled = [2 * v for v in POLYGON]
    task = {
        "mode": "upload-paint",
        "prompt": "green moss",
        "image_urls": [helpers.data_url(helpers.encode(photo))],
        "mask": {"areas": [{"width": 1280, "height": 960, "points": doubled}]},
    }
    masked = _polygon_mask(photo.size, POLYGON)
    img = helpers.run_images(api, task)[0]
    source = np.asarray(photo)
    inner = np.asarray(Image.fromarray(masked).filter(ImageFilter.MinFilter(5))) > 0
    outer = ~(np.asarray(Image.fromarray(~masked).filter(ImageFilter.MinFilter(5))) > 0)
    assert np.array_equal(img[~outer], source[~outer])
    assert np.any(img[inner] != source[inner], axis=1).mean() > 0.9


def test_paint_with_mask_url_on_a_larger_canvas(
    api: httpx.Client, photo: Image.Image, image_host: str
) -> None:
    mask = Image.new("L", photo.size, 0)
    ImageDraw.Draw(mask).rectangle((0, 0, 319, 479), fill=255)  # left half: regenerate
    task = {
        "mode": "upload-paint",
        "prompt": "a starry night",
        "image_urls": [f"{image_host}/files/photo.png"],
        "mask": {"url": helpers.data_url(helpers.encode(mask))},
        "canvas": {"width": 800, "height": 600},
        "imgPos": {"x": 80, "y": 60, "width": 640, "height": 480},
    }
    source = np.asarray(photo)
    for img in helpers.run_images(api, task):
        assert img.shape == (600, 800, 3)
        placed = img[60:540, 80:720]
        assert np.array_equal(placed[:, 320:], source[:, 320:])
        assert np.any(placed[:, :320] != source[:, :320], axis=2).mean() > 0.9
        border = np.concatenate([img[:60].reshape(-1, 3), img[540:].reshape(-1, 3)])
        assert border.mean() > 10, "the uncovered canvas is generated, not left black"


def test_vary_strong_moves_further_than_subtle(api: httpx.Client, parent: Parent) -> None:
    base = {"mode": "vary", "taskId": parent.task_id, "imageIndex": 2}
    got = helpers.gather(
        api,
        {
            "subtle": {**base, "type": 0},
            "strong": {**base, "type": 1},
            "remix": {**base, "type": 0, "prompt": "deep purple"},
        },
    )
    source = parent.images[2]
    for images in got.values():
        assert [img.shape for img in images] == [source.shape] * 4
    subtle = [helpers.mean_diff(img, source) for img in got["subtle"]]
    strong = [helpers.mean_diff(img, source) for img in got["strong"]]
    assert 0 < max(subtle) < min(strong)
    assert min(_correlation(_grey(img), _grey(source)) for img in got["subtle"]) > 0.8
    remix = np.mean([img.reshape(-1, 3).mean(0) for img in got["remix"]], axis=0)
    plain = np.mean([img.reshape(-1, 3).mean(0) for img in got["subtle"]], axis=0)
    assert remix[2] - remix[1] > plain[2] - plain[1] + 10, "remix tints toward purple"


def test_upscale_sizes_and_types(api: httpx.Client, parent: Parent) -> None:
    base = {"mode": "upscale", "taskId": parent.task_id, "imageIndex": 1}
    got = helpers.gather(api, {f"type {t}": {**base, "type": t} for t in range(4)})
    height, width = parent.images[1].shape[:2]
    for t in range(3):
        assert [img.shape for img in got[f"type {t}"]] == [(2 * height, 2 * width, 3)]
    assert [img.shape for img in got["type 3"]] == [(4 * height, 4 * width, 3)]
    small = Image.fromarray(got["type 0"][0]).resize((width, height), Image.Resampling.BOX)
    assert helpers.mean_diff(np.asarray(small), parent.images[1]) < 4, "it is the same picture"
    assert helpers.mean_diff(got["type 1"][0], got["type 0"][0]) > 1, "creative adds detail"
