"""Image helpers: upload checks, data URLs, grid splitting, thumbnails, zips."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote_to_bytes

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10_000_000  # "10 MB": the decimal reading, the stricter of the two
MAX_PIXELS = 80_000_000  # refuse decompression bombs before decoding
ACCEPTED = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
ACCEPTED_TEXT = "use JPG, PNG or WebP"
_DATA_URL_RE = re.compile(r"^data:([^,]*?),(.*)$", re.DOTALL)
_PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}


class ImageRejected(ValueError):
    """An upload that cannot be used as a reference image; the message says why."""

    def __init__(self, reason: str, name: str = "") -> None:
        super().__init__(f"{name}: {reason}" if name else reason)
        self.reason = reason
        self.name = name


@dataclass(frozen=True)
class ImageInfo:
    """What an accepted upload is."""

    format: str
    width: int
    height: int
    mime: str
    size: int = 0

    @property
    def ext(self) -> str:
        """The file extension for this format (jpg, png, webp)."""
        return EXTENSIONS[self.mime]


def _mb(size: int) -> str:
    text = f"{size / 1_000_000:.1f}"
    return f"{size:,} bytes" if float(text) * 1_000_000 <= MAX_UPLOAD_BYTES else f"{text} MB"


def _sniff_unreadable(data: bytes) -> str | None:
    """Name formats Pillow cannot open but phones and browsers produce."""
    head = data[:64].lstrip()
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
        if brand in (b"avif", b"avis"):
            return "AVIF"
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:2048]):
        return "SVG"
    return None


def check_upload(name: str, data: bytes) -> ImageInfo:
    """Accept a JPG, PNG or WebP of at most 10 MB (judged by decoding); else ImageRejected."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(f"{_mb(len(data))} is over the 10 MB limit", name)
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = str(img.format), img.size
            if fmt not in ACCEPTED:
                raise ImageRejected(f"{fmt} is not accepted: {ACCEPTED_TEXT}", name)
            if width * height > MAX_PIXELS:
                raise ImageRejected(f"{width}x{height} pixels is too large to use", name)
            img.load()
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected("has too many pixels to use", name) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        other = _sniff_unreadable(data)
        reason = f"{other} is not accepted: {ACCEPTED_TEXT}" if other else "not an image"
        raise ImageRejected(reason, name) from None
    return ImageInfo(fmt if fmt != "MPO" else "JPEG", width, height, ACCEPTED[fmt], len(data))


def to_data_url(data: bytes, mime: str) -> str:
    """A ``data:<mime>;base64,...`` URL of the bytes."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def data_url_bytes(url: str) -> bytes:
    """The bytes of a ``data:`` URL (base64 or percent-encoded); ValueError if it is not one."""
    match = _DATA_URL_RE.match(url.strip())
    if not match:
        raise ValueError("not a data: URL")
    meta, payload = match.groups()
    if meta.lower().endswith(";base64"):
        compact = "".join(payload.split())
        try:
            return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except ValueError as exc:
            raise ValueError("the data: URL has invalid base64") from exc
    return unquote_to_bytes(payload)


_TOO_MANY_PIXELS = "has too many pixels to use"


def _pixel_guard(img: Image.Image) -> None:
    """Refuse an image whose header declares more than MAX_PIXELS, before it is decoded."""
    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise ImageRejected(f"{width}x{height} pixels is too large to use")


def _header(data: bytes) -> Image.Image:
    """The image opened lazily (only its header read), refused over the pixel cap."""
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ImageRejected(_TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected("not an image") from exc
    _pixel_guard(img)
    return img


def _open(data: bytes) -> Image.Image:
    img = _header(data)
    try:
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected("not an image") from exc
    return ImageOps.exif_transpose(img) or img


def _png(img: Image.Image) -> bytes:
    if img.mode not in _PNG_MODES:
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def split_grid(data: bytes) -> list[bytes]:
    """Split one 2x2 grid into PNG quadrants: top-left, top-right, bottom-left, bottom-right."""
    img = _open(data)
    width, height = img.size
    if width < 2 or height < 2:
        raise ImageRejected(f"{width}x{height} is too small to be a 2x2 grid")
    mid_x, mid_y = width // 2, height // 2
    boxes = [
        (0, 0, mid_x, mid_y),
        (mid_x, 0, width, mid_y),
        (0, mid_y, mid_x, height),
        (mid_x, mid_y, width, height),
    ]
    return [_png(img.crop(box)) for box in boxes]


THUMB_SIDE = 512  # a grid image is 466 CSS px wide on a 1440x900 screen (wide layout)
THUMB_MAX_BYTES = 36_000  # four of them, one 2x2 grid, stay under 150 KB
THUMB_REDUCING_GAP = 1.0  # halve by pixel block averages first: 1 ms, not 15 (1024 px), same look
_THUMB_QUALITIES = (82, 76, 70, 62, 54, 46, 38)
SHOWN_FORMATS = ("JPEG", "PNG")  # what Streamlit's st.image serves as it is, not re-encoded
_SHOWN_MAX_BYTES = 200_000  # a JPEG/PNG display copy larger than this is made again


def thumbnail(data: bytes, max_side: int = THUMB_SIDE, *, max_width: int | None = None) -> bytes:
    """A display copy at most ``max_side`` px on its long side (and ``max_width`` wide).

    An opaque image becomes a JPEG of at most THUMB_MAX_BYTES (the quality falls until it
    fits), one with transparency a PNG: the two formats a page hands to Streamlit as they are.
    """
    img = _open(data)
    if max_width is not None and img.width > max_width:
        max_side = min(max_side, max(1, max_width * max(img.size) // img.width))
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=THUMB_REDUCING_GAP)
    if "A" in img.getbands() or "transparency" in img.info:
        return _png(img.convert("RGBA"))
    img = img.convert("RGB")
    for quality in _THUMB_QUALITIES:
        if found := _encoded(img, "JPEG", THUMB_MAX_BYTES, quality=quality, optimize=True):
            return found
    return _encoded(img, "JPEG", MAX_UPLOAD_BYTES, quality=_THUMB_QUALITIES[-1]) or b""


def thumbnail_mime(data: bytes) -> str:
    """The MIME type of a thumbnail's bytes (older releases made WebP ones)."""
    kinds = {b"\x89PNG": "image/png", b"RIFF": "image/webp"}
    return kinds.get(data[:4], "image/jpeg")


def shown_format(data: bytes, max_side: int = THUMB_SIDE, max_width: int | None = None) -> str:
    """'JPEG' or 'PNG' when the bytes can be shown as they are (a small JPEG or PNG within
    ``max_side`` and ``max_width``), else '' (an original, or an older WebP thumbnail)."""
    fmt, (width, height) = _header_of(data) if len(data) <= _SHOWN_MAX_BYTES else ("", (0, 0))
    fits = max(width, height) <= max_side and (max_width is None or width <= max_width)
    return fmt if fmt in SHOWN_FORMATS and fits else ""


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) read from the header; ImageRejected if the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Image.DecompressionBombError:
        raise ImageRejected(_TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected("not an image") from exc


def _header_of(data: bytes) -> tuple[str, tuple[int, int]]:
    """(format, size) read from the header; ("", (0, 0)) when the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return str(img.format), img.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return "", (0, 0)


def _format_of(data: bytes) -> str | None:
    return _header_of(data)[0] or None


def sniff_extension(data: bytes) -> str:
    """A file extension for image bytes from their content (jpg, png, webp, gif ...; else bin)."""
    fmt = _format_of(data)
    if fmt is None:
        return "bin"
    return {"JPEG": "jpg", "MPO": "jpg", "TIFF": "tif"}.get(fmt, fmt.lower())


def sniff_mime(data: bytes) -> str:
    """The MIME type of image bytes from their content (application/octet-stream if unknown)."""
    mime = Image.MIME.get(_format_of(data) or "")
    return "image/jpeg" if mime == "image/mpo" else mime or "application/octet-stream"


def _unique_name(name: str, taken: set[str]) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name.strip() or "image"
    stem, dot, ext = base.rpartition(".")
    stem, ext = (stem, f".{ext}") if dot and stem else (base, "")
    candidate, n = base, 2
    while candidate.lower() in taken:
        candidate, n = f"{stem}-{n}{ext}", n + 1
    taken.add(candidate.lower())
    return candidate


def zip_images(files: list[tuple[str, bytes]]) -> bytes:
    """A ZIP of (name, bytes) pairs; names are flattened and made unique."""
    out, taken = io.BytesIO(), set[str]()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files:
            archive.writestr(_unique_name(name, taken), data)
    return out.getvalue()


def resized_png(data: bytes, width: int, height: int) -> bytes:
    """The image resized to exactly width x height, as PNG."""
    with _open(data) as img:
        return _png(
            img.convert("RGBA" if "A" in img.getbands() else "RGB").resize(
                (width, height), Image.Resampling.LANCZOS
            )
        )


# --------------------------------------------------------------------------- Paint's intake

_ORIENTATION = 0x0112  # the EXIF orientation tag: 1 upright, 2-8 mirrored and/or turned
_JPEG_QUALITIES = (92, 85, 75, 62, 50, 40)
_WEBP_QUALITIES = (90, 75, 60, 45)


class _TooLarge(Exception):
    """An encoder's output passed its byte cap."""


class _CappedBuffer(io.BytesIO):
    """An output buffer that stops the encoder as soon as it passes ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
        if self.tell() + memoryview(b).nbytes > self.limit:
            raise _TooLarge
        return super().write(b)


def _encoded(img: Image.Image, fmt: str, limit: int, **options: object) -> bytes | None:
    """The image encoded as ``fmt``, or None as soon as it grows past ``limit`` bytes."""
    out = _CappedBuffer(limit)
    try:
        img.save(out, fmt, **options)
    except _TooLarge:
        return None
    return out.getvalue()


def encode_to_fit(image: Image.Image | bytes, max_bytes: int) -> tuple[bytes, str]:
    """(bytes, MIME) of at most ``max_bytes``: PNG if it fits, else JPEG (WebP when the image
    has transparency) at falling quality; bytes already that small and accepted stay as they
    are. ImageRejected when even the lowest quality is too large."""
    if isinstance(image, bytes | bytearray):
        data, mime = image if isinstance(image, bytes) else bytes(image), sniff_mime(image)
        if len(data) <= max_bytes and mime in EXTENSIONS:
            return data, mime
        image = _open(data)
    alpha = "A" in image.getbands() or "transparency" in image.info
    mode = "RGBA" if alpha else "RGB"
    img = image if image.mode == mode else image.convert(mode)
    icc = image.info.get("icc_profile")
    found = _encoded(img, "PNG", max_bytes, icc_profile=icc)
    if found is not None:
        return found, "image/png"
    fmt, qualities = ("WEBP", _WEBP_QUALITIES) if alpha else ("JPEG", _JPEG_QUALITIES)
    for quality in qualities:
        found = _encoded(img, fmt, max_bytes, quality=quality, icc_profile=icc)
        if found is not None:
            return found, Image.MIME[fmt]
    raise ImageRejected(f"can't be made {_mb(max_bytes)} or smaller")


def _orientation(data: bytes) -> int:
    """The EXIF orientation of image bytes (1 when there is none or they can't be read)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format == "PNG" and b"eXIf" not in data:  # PNG's getexif() decodes it all
                return 1
            return int(img.getexif().get(_ORIENTATION) or 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, TypeError):
        return 1
    except Image.DecompressionBombError:  # not an OSError: check_upload says why
        return 1


def upright(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """The image turned as its EXIF orientation says, re-encoded once in its own format where
    it fits in ``max_bytes`` (else as :func:`encode_to_fit` does); the same bytes when there
    is nothing to turn. The EXIF block is not carried over. ImageRejected if undecodable."""
    if _orientation(data) not in range(2, 9):
        return data
    fmt = {"MPO": "JPEG"}.get(_format_of(data) or "", _format_of(data))
    with _open(data) as img:  # decoded (pixel cap first) and turned
        if fmt in ("JPEG", "WEBP"):
            options = {"quality": 95, "icc_profile": img.info.get("icc_profile")}
            found = _encoded(img, fmt, max_bytes, **options)
            if found is not None:
                return found
        return encode_to_fit(img, max_bytes)[0]


def _open_at_least(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The image decoded no larger than needed for ``size`` (a JPEG at 1/2, 1/4 or 1/8 scale
    when that still covers it); the pixel cap is checked before anything is decoded."""
    img = _header(data)
    if img.getexif().get(_ORIENTATION) in (5, 6, 7, 8):  # turned a quarter: sides swap
        size = (size[1], size[0])
    try:
        img.draft(None, size)
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected("not an image") from exc
    return ImageOps.exif_transpose(img, in_place=True) or img


def display_copy(data: bytes, max_side: int, max_bytes: int = 2_000_000) -> bytes:
    """A copy for showing, at most ``max_side`` px on its long side (the same bytes when the
    image is that small already); a large image is never decoded at full size when it is a
    JPEG, and never copied or converted at full size."""
    width, height = image_size(data)
    if max(width, height) <= max_side and sniff_mime(data) in EXTENSIONS:
        return data
    scale = max_side / max(width, height)
    img = _open_at_least(data, (round(width * scale), round(height * scale)))
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=1.0)
    return encode_to_fit(img, max_bytes)[0]


def resized_to_fit(
    data: bytes, width: int, height: int, max_bytes: int = MAX_UPLOAD_BYTES
) -> tuple[bytes, str]:
    """The image resized to exactly width x height, as (bytes, MIME) of at most ``max_bytes``
    (see :func:`encode_to_fit`); a JPEG is decoded at a reduced scale when that still covers it."""
    img = _open_at_least(data, (width, height))
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    resized = img.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    img.close()
    return encode_to_fit(resized, max_bytes)
