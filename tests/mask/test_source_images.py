"""The image helpers Paint's intake uses (mjstudio.images): the EXIF orientation applied once,
encoding under a byte cap, a reduced display copy and an exact resize that fits (issue 8)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mjstudio.images import (
    MAX_UPLOAD_BYTES,
    ImageRejected,
    display_copy,
    encode_to_fit,
    image_size,
    resized_png,
    resized_to_fit,
    sniff_mime,
    upright,
)
from tests.api import servers


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def solid(size=(64, 48), colour=(10, 120, 200)) -> Image.Image:
    return Image.new("RGB", size, colour)


def halves(width: int, height: int) -> Image.Image:
    """Red on the left half, green on the right."""
    img = Image.new("RGB", (width, height), (230, 20, 20))
    img.paste((20, 230, 20), (width // 2, 0, width, height))
    return img


def sideways(orientation: int = 6, size=(300, 200), fmt: str = "JPEG") -> bytes:
    """An image stored sideways, a red block at its stored top-left, EXIF saying how to turn it."""
    img = Image.new("RGB", size, (30, 30, 200))
    img.paste((230, 20, 20), (0, 0, 60, 40))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(img, fmt, exif=exif.tobytes())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_upright_applies_the_exif_orientation_once(fmt: str) -> None:
    data = sideways(6, fmt=fmt)
    assert image_size(data) == (300, 200)
    turned = upright(data)
    img = decode(turned)
    assert img.size == (200, 300) and img.format == fmt
    assert img.getexif().get(0x0112) in (None, 1)
    assert img.convert("RGB").getpixel((185, 15))[0] > 180  # the block, now top-right
    assert upright(turned) is turned  # nothing left to turn: the same bytes


@pytest.mark.parametrize("orientation", [None, 1])
def test_upright_keeps_an_unturned_image_as_it_is(orientation) -> None:
    data = encode(solid((300, 200)), "PNG") if orientation is None else sideways(orientation)
    assert upright(data) is data


def test_upright_reads_no_pixels_of_an_unturned_png() -> None:
    bomb = servers.bomb_png()  # 9000 x 9500, no EXIF: decoding it would be refused
    assert upright(bomb) is bomb


def test_encode_to_fit_puts_a_noisy_4000px_image_under_10_mb() -> None:
    noise = np.random.default_rng(17).integers(0, 256, (4000, 4000, 3), dtype=np.uint8)
    data, mime = encode_to_fit(Image.fromarray(noise), MAX_UPLOAD_BYTES)
    assert len(data) <= MAX_UPLOAD_BYTES and mime == "image/jpeg"
    assert image_size(data) == (4000, 4000) and sniff_mime(data) == mime


def test_encode_to_fit_prefers_png_and_keeps_transparency() -> None:
    smooth = solid((800, 600))
    data, mime = encode_to_fit(smooth, MAX_UPLOAD_BYTES)
    assert mime == "image/png" and decode(data).convert("RGB").getpixel((5, 5)) == (10, 120, 200)
    noise = np.random.default_rng(3).integers(0, 256, (600, 600, 4), dtype=np.uint8)
    data, mime = encode_to_fit(Image.fromarray(noise, "RGBA"), 600_000)
    assert mime == "image/webp" and len(data) <= 600_000 and decode(data).mode == "RGBA"


def test_encode_to_fit_keeps_small_bytes_and_says_when_nothing_fits() -> None:
    png = encode(solid(), "PNG")
    assert encode_to_fit(png, MAX_UPLOAD_BYTES) == (png, "image/png")
    with pytest.raises(ImageRejected, match="can't be made 100 bytes or smaller"):
        encode_to_fit(Image.fromarray(np.full((400, 400, 3), 99, np.uint8)), 100)


def test_display_copy_is_small_and_decodes_a_large_jpeg_reduced() -> None:
    big = encode(halves(6000, 4000), "JPEG", quality=90)
    small = display_copy(big, 1520)
    assert image_size(small) == (1520, 1013) and len(small) < 2_000_000
    assert decode(small).convert("RGB").getpixel((1400, 100))[1] > 200  # right half: green
    little = encode(solid((800, 600)), "PNG")
    assert display_copy(little, 1520) is little


def test_resized_to_fit_is_exact_and_under_the_cap() -> None:
    noise = np.random.default_rng(5).integers(0, 256, (2000, 3000, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "PNG")
    assert len(resized_png(data, 3000, 2000)) > 10_000_000  # the old way: too large to send
    sent, mime = resized_to_fit(data, 3000, 2000, MAX_UPLOAD_BYTES)
    assert len(sent) <= MAX_UPLOAD_BYTES and image_size(sent) == (3000, 2000)
    assert resized_to_fit(encode(solid((300, 200)), "PNG"), 750, 500)[1] == "image/png"
