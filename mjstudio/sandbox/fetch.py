"""Loading reference images from http(s) or data: URLs, with the provider's checks.

http(s) URLs are fetched through the outbound fence (``mjstudio.api.fence``): a visitor's
reference URL cannot make the sandbox probe the server's network. Unless the caller passes its
own policy, the sandbox's own host is taken to be this machine's loopback (by name: 127.0.0.1,
localhost, ::1, where the studio serves uploads); private, link-local and metadata addresses are
refused, with one deadline and the byte cap for the whole fetch.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import warnings
from dataclasses import replace

from PIL import Image

from mjstudio.api import fence as outbound
from mjstudio.api.errors import FetchRefused, ResultTooLarge

log = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": "JPG", "PNG": "PNG", "WEBP": "WebP"}
MAX_PIXELS = 50_000_000
# The stand-in provider runs on this machine: its own host is the loopback, by name.
DEFAULT_FENCE = outbound.FencePolicy(own_hosts=outbound.LOOPBACK_NAMES)


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


def download(
    url: str, max_bytes: int, timeout_s: float, fence: outbound.FencePolicy | None = None
) -> bytes:
    """GET the URL through the fence: ``timeout_s`` for the whole fetch, ``max_bytes`` at most."""
    policy = replace(fence or DEFAULT_FENCE, max_bytes=max_bytes, deadline_s=timeout_s)
    try:
        got = outbound.get(url, policy)
    except ResultTooLarge:
        raise ImageFetchError(f"is larger than {_mb(max_bytes)}") from None
    except FetchRefused as exc:
        log.info("image %s not fetched: %s", describe(url), exc.message)
        reason = f" ({exc.reason})" if exc.reason else ""
        raise ImageFetchError(f"could not be fetched{reason}") from None
    if got.status_code != 200:
        raise ImageFetchError(f"answered HTTP {got.status_code}")
    return got.content


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


def load_image(
    url: str, max_bytes: int, timeout_s: float = 5.0, fence: outbound.FencePolicy | None = None
) -> Image.Image:
    """Fetch and decode one image URL; raises ImageFetchError saying why it cannot be used."""
    url = url.strip()
    if url.lower().startswith("data:"):
        return decode(read_data_url(url, max_bytes))
    return decode(download(url, max_bytes, timeout_s, fence))


def describe(url: str, limit: int = 80) -> str:
    """A short label for a URL in messages (data: URLs are not spelled out)."""
    url = url.strip()
    if url.lower().startswith("data:"):
        return "data: URL"
    return url if len(url) <= limit else url[: limit - 1] + "…"
