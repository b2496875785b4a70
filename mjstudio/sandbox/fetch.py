"""Loading reference images from http(s) or data: URLs, with the provider's checks."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import warnings

import httpx
from PIL import Image

log = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": "JPG", "PNG": "PNG", "WEBP": "WebP"}
MAX_PIXELS = 50_000_000


class ImageFetchError(Exception):
    """An image URL cannot be used; the message says why ("could not be fetched")."""


def _mb(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def read_data_url(url: str, max_bytes: int) -> bytes:
    """The bytes of a ``data:...;base64,`` URL."""
    head, _, payload = url.partition(",")
    if ";base64" not in head.lower():
        raise ImageFetchError("is not base64-encoded")
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise ImageFetchError(f"is larger than {_mb(max_bytes)}")
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageFetchError("holds invalid base64") from None
    if len(data) > max_bytes:
        raise ImageFetchError(f"is larger than {_mb(max_bytes)}")
    return data


def download(url: str, max_bytes: int, timeout_s: float) -> bytes:
    """GET the URL (following redirects), stopping once it passes ``max_bytes``."""
    try:
        with (
            httpx.Client(timeout=timeout_s, follow_redirects=True) as client,
            client.stream("GET", url) as resp,
        ):
            return _read_capped(resp, max_bytes)
    except httpx.HTTPError as exc:
        log.info("image %s not fetched: %r", describe(url), exc)
        raise ImageFetchError("could not be fetched") from None


def _read_capped(resp: httpx.Response, max_bytes: int) -> bytes:
    if resp.status_code != 200:
        raise ImageFetchError(f"answered HTTP {resp.status_code}")
    too_big = ImageFetchError(f"is larger than {_mb(max_bytes)}")
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    chunks, total = [], 0
    for chunk in resp.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def decode(data: bytes) -> Image.Image:
    """Decode JPG, PNG or WebP bytes into a loaded image; anything else is refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or ""
            if fmt in ALLOWED_FORMATS and img.width * img.height <= MAX_PIXELS:
                img.load()
    except Exception:
        raise ImageFetchError("is not a readable image") from None
    if fmt not in ALLOWED_FORMATS:
        raise ImageFetchError(f"is a {fmt} image, not JPG, PNG or WebP")
    if img.width * img.height > MAX_PIXELS:
        raise ImageFetchError(f"has too many pixels ({img.width}x{img.height})")
    return img


def load_image(url: str, max_bytes: int, timeout_s: float = 5.0) -> Image.Image:
    """Fetch and decode one image URL; raises ImageFetchError saying why it cannot be used."""
    url = url.strip()
    if url.lower().startswith("data:"):
        return decode(read_data_url(url, max_bytes))
    return decode(download(url, max_bytes, timeout_s))


def describe(url: str, limit: int = 80) -> str:
    """A short label for a URL in messages (data: URLs are not spelled out)."""
    url = url.strip()
    if url.lower().startswith("data:"):
        return "data: URL"
    return url if len(url) <= limit else url[: limit - 1] + "…"
