"""A text-to-image grid made without waste: each picture rendered once at its size, the work
shared by the four done once, the PNGs written with fast settings and side by side.

How the work is done is pinned by counting it (what a query plan's index is to a store test);
what the pictures look like is pinned by test_text_to_image.py and test_vary_fidelity.py.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from mjstudio.sandbox import art, imaging, provider
from mjstudio.sandbox.provider import to_png
from tests.sandbox import helpers
from tests.sandbox.server import running_sandbox


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, body) of every chunk, checking the signature and each CRC."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(png):
        (size,) = struct.unpack(">I", png[at : at + 4])
        tag, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + size]
        (crc,) = struct.unpack(">I", png[at + 8 + size : at + 12 + size])
        assert crc == zlib.crc32(tag + body)
        out.append((tag, body))
        at += 12 + size
    return out


def picture(mode: str, size: tuple[int, int] = (61, 37)) -> Image.Image:
    rng = np.random.default_rng(4)
    shape = (size[1], size[0], len(mode)) if len(mode) > 1 else (size[1], size[0])
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_result_pngs_are_sub_filtered_rows_in_one_fast_zlib_stream(mode: str) -> None:
    img = picture(mode)
    png = to_png(img)
    found = chunks(png)
    assert [tag for tag, _ in found] == [b"IHDR", b"IDAT", b"IEND"]
    stream = found[1][1]
    assert stream[1] >> 6 == 0  # zlib's header: compressed with the fastest setting
    rows = np.frombuffer(zlib.decompress(stream), np.uint8).reshape(img.height, -1)
    assert (rows[:, 0] == 1).all()  # every row Sub-filtered
    back = Image.open(io.BytesIO(png))
    assert back.format == "PNG" and back.mode == mode
    assert np.array_equal(np.asarray(back), np.asarray(img))


def test_other_modes_are_written_by_pillow() -> None:
    img = picture("L").convert("P")
    back = Image.open(io.BytesIO(to_png(img)))
    assert back.mode == "P" and np.array_equal(np.asarray(back), np.asarray(img))


def test_a_grid_makes_its_grain_once_for_the_four_pictures() -> None:
    imaging._grain_texture.cache_clear()
    first = imaging.text_to_image("a quiet harbour")
    again = imaging.text_to_image("a quiet harbour")
    info = imaging._grain_texture.cache_info()
    assert (info.misses, info.hits) == (1, 7)
    pairs = zip(first, again, strict=True)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in pairs)


def test_the_tone_field_is_worked_out_on_a_coarse_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[tuple[int, int]] = []
    real = art.smooth_noise

    def smooth_noise(size: tuple[int, int], grid: np.ndarray) -> np.ndarray:
        sizes.append(size)
        return real(size, grid)

    monkeypatch.setattr(art, "smooth_noise", smooth_noise)
    img = art.render_art(art.look_for("a red fox"), (1024, 576), 0)
    assert img.size == (1024, 576)
    assert sizes and all(w <= 256 and h <= 144 for w, h in sizes)


def test_default_stylize_finishes_without_a_full_gaussian_blur(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blurs: list[float] = []
    real = ImageFilter.GaussianBlur.filter

    def counted(self: ImageFilter.GaussianBlur, image: object) -> object:
        blurs.append(self.radius)
        return real(self, image)

    monkeypatch.setattr(ImageFilter.GaussianBlur, "filter", counted)
    imaging.text_to_image("a red fox")
    assert blurs == []
    imaging.text_to_image("a red fox", style=imaging.Style(stylize=1000))
    assert len(blurs) == 4  # a real blur where it shows


def test_subtle_variations_measure_the_siblings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pictures = imaging.text_to_image("golden hills", "16:9")
    calls = []
    real = imaging._distance

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(imaging, "_distance", distance)
    subtle = imaging.vary(pictures[0], 0, siblings=pictures[1:])
    assert len(subtle) == 4 and len(calls) == 3


def test_a_grid_is_encoded_side_by_side(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    threads: list[str] = []
    real = provider.to_png

    def encode(img: Image.Image) -> bytes:
        threads.append(threading.current_thread().name)
        return real(img)

    monkeypatch.setattr(provider, "to_png", encode)
    with running_sandbox(helpers.settings(latency_s=0.0, data_dir=tmp_path)) as url:
        with helpers.api_client(url) as api:
            task_id = helpers.create(api, {"mode": "text-to-image", "prompt": "a red fox"})
            urls = helpers.result_urls(helpers.wait_final(api, task_id))
            assert all(helpers.download(u).size == (1024, 1024) for u in urls)
    assert len(threads) == 4
    assert all(name.startswith("mjsandbox-png") for name in threads)
