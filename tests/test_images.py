"""Image helpers against real images made with Pillow."""

from __future__ import annotations

import io
import os
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from mjstudio.images import (
    MAX_UPLOAD_BYTES,
    THUMB_MAX_BYTES,
    THUMB_SIDE,
    ImageInfo,
    ImageRejected,
    check_upload,
    data_url_bytes,
    image_size,
    resized_png,
    shown_format,
    sniff_extension,
    sniff_mime,
    split_grid,
    thumbnail,
    thumbnail_mime,
    to_data_url,
    zip_images,
)
from tests.api import servers

QUADRANT_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def solid(size=(64, 48), colour=(10, 120, 200), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def grid(width: int, height: int) -> Image.Image:
    img = Image.new("RGB", (width, height))
    mid_x, mid_y = width // 2, height // 2
    boxes = [(0, 0, mid_x, mid_y), (mid_x, 0, width, mid_y), (0, mid_y, mid_x, height)]
    boxes.append((mid_x, mid_y, width, height))
    for box, colour in zip(boxes, QUADRANT_COLOURS, strict=True):
        img.paste(colour, box)
    return img


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# --------------------------------------------------------------------------- check_upload


@pytest.mark.parametrize(
    ("fmt", "mime", "name"),
    [
        ("PNG", "image/png", "a.png"),
        ("JPEG", "image/jpeg", "b.jpg"),
        ("WEBP", "image/webp", "c.webp"),
        ("PNG", "image/png", "misnamed.gif"),  # judged by content, not by the name
    ],
)
def test_accepts_jpg_png_webp(fmt: str, mime: str, name: str) -> None:
    data = encode(solid((640, 360)), fmt)
    info = check_upload(name, data)
    assert info == ImageInfo(fmt, 640, 360, mime, len(data))
    assert info.ext in ("png", "jpg", "webp")


@pytest.mark.parametrize(
    "img",
    [
        solid(mode="RGBA", colour=(1, 2, 3, 4)),
        solid(mode="L", colour=7),
        solid(mode="P", colour=3),
        solid(mode="LA", colour=(9, 9)),
    ],
)
def test_accepts_png_modes(img: Image.Image) -> None:
    assert check_upload("x.png", encode(img, "PNG")).mime == "image/png"


def test_accepts_grey_and_cmyk_jpeg() -> None:
    assert check_upload("g.jpg", encode(solid(mode="L", colour=30), "JPEG")).format == "JPEG"
    cmyk = encode(solid(mode="CMYK", colour=(0, 50, 100, 0)), "JPEG")
    assert check_upload("c.jpg", cmyk).mime == "image/jpeg"


@pytest.mark.parametrize(("fmt", "label"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF")])
def test_rejects_other_formats_with_the_reason(fmt: str, label: str) -> None:
    data = encode(solid(), fmt)
    with pytest.raises(ImageRejected) as err:
        check_upload("pic.png", data)  # even when named .png
    assert err.value.reason == f"{label} is not accepted: use JPG, PNG or WebP"
    assert str(err.value) == f"pic.png: {label} is not accepted: use JPG, PNG or WebP"
    assert isinstance(err.value, ValueError)


def test_rejects_heic_and_svg_by_name() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
    with pytest.raises(ImageRejected, match="HEIC is not accepted: use JPG, PNG or WebP"):
        check_upload("IMG_0001.HEIC", heic)
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    with pytest.raises(ImageRejected, match="SVG is not accepted"):
        check_upload("logo.svg", svg)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is plainly text and not a picture",
        os.urandom(4096),
        encode(solid((300, 300)), "PNG")[:60],  # truncated PNG
    ],
)
def test_rejects_non_images(data: bytes) -> None:
    with pytest.raises(ImageRejected) as err:
        check_upload("x.jpg", data)
    assert err.value.reason == "not an image"


def test_rejects_truncated_jpeg_body() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "JPEG", quality=95)
    with pytest.raises(ImageRejected, match="not an image"):
        check_upload("cut.jpg", data[: len(data) // 2])


def test_rejects_an_11_mb_image() -> None:
    side = 1916  # random noise does not compress: about 11 MB of PNG
    noise = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "PNG", compress_level=1)
    assert 10_500_000 < len(data) < 12_000_000
    with pytest.raises(ImageRejected) as err:
        check_upload("big.png", data)
    assert re.fullmatch(r"1[01]\.\d MB is over the 10 MB limit", err.value.reason)


def test_size_limit_boundary() -> None:
    small = encode(solid(), "PNG")
    padded = small + b"\0" * (MAX_UPLOAD_BYTES - len(small))  # trailing bytes after IEND
    assert check_upload("edge.png", padded).size == MAX_UPLOAD_BYTES
    with pytest.raises(ImageRejected) as err:
        check_upload("edge.png", padded + b"\0")
    assert err.value.reason == "10,000,001 bytes is over the 10 MB limit"


# --------------------------------------------------------------------------- data URLs


def test_data_url_round_trip() -> None:
    data = encode(solid(), "PNG")
    url = to_data_url(data, "image/png")
    assert url.startswith("data:image/png;base64,")
    assert data_url_bytes(url) == data
    wrapped = url[:40] + "\n" + url[40:80] + " " + url[80:]
    assert data_url_bytes(wrapped) == data
    assert data_url_bytes("data:text/plain,a%20b") == b"a b"


@pytest.mark.parametrize("bad", ["https://example.com/a.png", "data:image/png;base64,@@@@", ""])
def test_data_url_bytes_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        data_url_bytes(bad)


# --------------------------------------------------------------------------- grid, thumbs


@pytest.mark.parametrize(("width", "height", "fmt"), [(200, 150, "PNG"), (201, 151, "JPEG")])
def test_split_grid_order_and_size(width: int, height: int, fmt: str) -> None:
    parts = split_grid(
        encode(grid(width, height), fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    )
    assert len(parts) == 4
    sizes = [decode(p).size for p in parts]
    assert sizes[0] == (width // 2, height // 2)
    assert sum(w for w, _ in sizes[:2]) == width and sum(h for _, h in sizes[::2]) == height
    for part, colour in zip(parts, QUADRANT_COLOURS, strict=True):
        img = decode(part)
        assert img.format == "PNG"
        centre = img.convert("RGB").getpixel((img.width // 2, img.height // 2))
        assert all(abs(a - b) <= 8 for a, b in zip(centre, colour, strict=True)), centre


def test_split_grid_keeps_alpha_and_rejects_garbage() -> None:
    rgba = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    rgba.paste((255, 0, 0, 255), (50, 0, 100, 50))
    parts = [decode(p) for p in split_grid(encode(rgba, "WEBP", lossless=True))]
    assert parts[0].getpixel((10, 10))[3] == 0 and parts[1].getpixel((10, 10)) == (255, 0, 0, 255)
    with pytest.raises(ImageRejected):
        split_grid(b"nope")


def test_thumbnail_is_a_jpeg_within_its_byte_budget_and_keeps_aspect() -> None:
    noise = np.random.default_rng(3).integers(0, 256, (1000, 2000, 3), dtype=np.uint8)
    big = encode(Image.fromarray(noise), "PNG")
    thumb = thumbnail(big)  # pure noise: the quality falls until it fits
    img = decode(thumb)
    assert img.format == "JPEG" and thumbnail_mime(thumb) == "image/jpeg"
    assert img.size == (THUMB_SIDE, THUMB_SIDE // 2) and len(thumb) <= THUMB_MAX_BYTES
    assert shown_format(thumb) == "JPEG"  # handed to Streamlit as it is
    assert decode(thumbnail(big, max_side=100)).size == (100, 50)
    assert decode(thumbnail(big, max_width=200)).size == (200, 100)
    tall = encode(solid((300, 900)), "PNG")
    assert decode(thumbnail(tall, max_width=200)).size == (171, THUMB_SIDE)
    assert decode(thumbnail(tall, max_width=100)).size == (100, 300)


def test_a_grid_of_real_looking_thumbnails_is_under_150_kb_and_sharp() -> None:
    """Four sandbox results (painterly art, like real ones) as the tracker stores them."""
    from mjstudio.sandbox.imaging import text_to_image

    total = 0
    for art in text_to_image("a red fox in the snow"):
        thumb = thumbnail(encode(art, "PNG", compress_level=1))
        total += len(thumb)
        shown = np.asarray(decode(thumb).convert("RGB"), dtype=float)
        assert shown.shape == (THUMB_SIDE, THUMB_SIDE, 3)  # a 466 px wide grid cell at 1440x900
        reference = art.convert("RGB").resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        mse = np.mean((np.asarray(reference, dtype=float) - shown) ** 2)
        assert 10 * np.log10(255**2 / mse) >= 35  # dB: no visible blocking or smearing
    assert total <= 150_000


def test_thumbnail_does_not_enlarge_and_keeps_transparency() -> None:
    thumb = thumbnail(encode(solid((50, 80), (0, 0, 0, 0), "RGBA"), "PNG"))
    img = decode(thumb)
    assert img.size == (50, 80) and img.mode == "RGBA" and img.getpixel((5, 5))[3] == 0
    assert thumbnail_mime(thumb) == "image/png" and shown_format(thumb) == "PNG"


def test_only_small_jpegs_and_pngs_are_shown_as_they_are() -> None:
    assert shown_format(encode(solid((512, 300)), "JPEG")) == "JPEG"
    assert shown_format(encode(solid((384, 384)), "WEBP")) == ""  # an older release's thumbnail
    assert thumbnail_mime(encode(solid((384, 384)), "WEBP")) == "image/webp"
    assert shown_format(encode(solid((1024, 1024)), "PNG")) == ""  # a full-size result
    assert shown_format(encode(solid((400, 300)), "JPEG"), max_width=200) == ""
    assert shown_format(b"not an image") == ""


def test_thumbnail_follows_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    photo = encode(solid((400, 200)), "JPEG", exif=exif.tobytes())
    assert decode(thumbnail(photo, max_side=100)).size == (50, 100)


def test_image_size() -> None:
    assert image_size(encode(solid((123, 45)), "WEBP")) == (123, 45)
    with pytest.raises(ImageRejected):
        image_size(b"\x89PNG but not really")


# --------------------------------------------------------------------------- zip


def test_zip_images_keeps_every_file_under_a_safe_unique_name() -> None:
    files = [(f"{i}.png", encode(solid(colour=c), "PNG")) for i, c in enumerate(QUADRANT_COLOURS)]
    files += [("0.png", b"dupe"), ("../../etc/evil.png", b"evil"), ("", b"blank")]
    with zipfile.ZipFile(io.BytesIO(zip_images(files))) as archive:
        names = archive.namelist()
        assert names == ["0.png", "1.png", "2.png", "3.png", "0-2.png", "evil.png", "image"]
        assert archive.read("0.png") == files[0][1] and archive.read("0-2.png") == b"dupe"
        assert decode(archive.read("3.png")).getpixel((0, 0)) == QUADRANT_COLOURS[3]


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("fmt", "ext", "mime"),
    [
        ("PNG", "png", "image/png"),
        ("JPEG", "jpg", "image/jpeg"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
    ],
)
def test_sniff_extension_and_mime_by_content(fmt: str, ext: str, mime: str) -> None:
    data = encode(solid(), fmt)
    assert sniff_extension(data) == ext and sniff_mime(data) == mime


def test_sniff_unknown_bytes() -> None:
    assert sniff_extension(b"<html>") == "bin"
    assert sniff_mime(b"<html>") == "application/octet-stream"


# --------------------------------------------------------------------------- pixel caps


@pytest.mark.parametrize("decoder", [split_grid, thumbnail, lambda d: resized_png(d, 8, 8)])
def test_decoding_refuses_images_over_the_pixel_cap(decoder) -> None:
    bomb = servers.bomb_png()  # 9000 x 9500 = 85.5 M pixels: over MAX_PIXELS, under Pillow's
    assert len(bomb) < 100_000 and image_size(bomb) == (9000, 9500)
    with pytest.raises(ImageRejected, match="9000x9500 pixels is too large"):
        decoder(bomb)


def test_a_header_past_pillows_own_bomb_limit_is_rejected_not_raised() -> None:
    huge = servers.bomb_png(40_000, 40_000, rows=1)  # 1.6 G pixels declared
    for call in (split_grid, thumbnail, image_size):
        with pytest.raises(ImageRejected, match="too many pixels"):
            call(huge)
    assert sniff_extension(huge) == "bin"


# --------------------------------------------------------------------------- Paint's pasted URL


@pytest.fixture
def paint_fetch(monkeypatch: pytest.MonkeyPatch):
    """Paint's `fetch(url)` with the settings read afresh (and nothing cached between tests)."""
    from components import mask_canvas, services

    def use(**env: str):
        for name in ("MJSTUDIO_ALLOW_PRIVATE_URLS", "MJSTUDIO_FETCH_TIMEOUT"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        services.settings.clear()
        mask_canvas.fetch.clear()
        return mask_canvas.fetch

    yield use
    services.settings.clear()
    mask_canvas.fetch.clear()


def test_a_pasted_url_is_fetched_through_the_fence(paint_fetch) -> None:
    png = encode(solid(), "PNG")
    routes = {"/a.png": lambda h: servers.send(h, 200, png), "/drip": servers.drip}
    with servers.serve(routes) as (url, seen):
        fetch = paint_fetch()
        for target in (f"{url}/a.png", "http://169.254.169.254/latest/", "file:///etc/passwd"):
            with pytest.raises(ImageRejected, match="could not be fetched"):
                fetch(target)
        assert seen.requests == []  # loopback is private: refused before connecting
        assert paint_fetch(MJSTUDIO_ALLOW_PRIVATE_URLS="1")(f"{url}/a.png") == png
        slow = paint_fetch(MJSTUDIO_ALLOW_PRIVATE_URLS="1", MJSTUDIO_FETCH_TIMEOUT="1")
        with pytest.raises(ImageRejected, match="timed out"):
            slow(f"{url}/drip")


def test_a_pasted_data_url_needs_no_fetch(paint_fetch) -> None:
    png = encode(solid(), "PNG")
    assert paint_fetch()(to_data_url(png, "image/png")) == png
