"""Result images on the pages: the stored thumbnails, handed to Streamlit to serve as they are.

``st.image`` decodes and re-encodes what it is given (to JPEG, at quality 90) unless it gets
JPEG or PNG bytes with ``output_format`` naming their format and no wider than the width it
shows them at (streamlit/elements/lib/image_utils.py, ``_ensure_image_size_and_format``). The
thumbnail stored with every result (``mjstudio.images.thumbnail``: a JPEG at most 512 px, of at
most 36 KB) is such an image, so it goes to the browser byte for byte: a 2x2 grid is under
150 KB, and nothing is encoded on a page run. An older record's thumbnail (a WebP, or none:
then the full-size file is all there is) is turned into one once per file version and kept in
a bounded cache; a full-size file is never sent to show it (it is sent only for a download).
"""

from __future__ import annotations

import functools
import stat
from pathlib import Path
from typing import Literal

import streamlit as st
from PIL import Image

from mjstudio import images

CACHED_FILES = 512  # display copies kept in memory (each at most 36 KB, or 200 KB as given)
Width = int | Literal["stretch", "content"]


def _version(path: Path) -> tuple[str, int, int] | None:
    """(path, mtime, size) of a regular file, or None when it is missing."""
    try:
        info = path.stat()
    except (OSError, ValueError):
        return None
    return (str(path), info.st_mtime_ns, info.st_size) if stat.S_ISREG(info.st_mode) else None


@functools.lru_cache(maxsize=CACHED_FILES)
def _prepared(path: str, mtime_ns: int, size: int, max_width: int | None) -> tuple[bytes, str]:
    """(bytes, "JPEG" or "PNG") to show for one version of a file: as stored when it can be
    shown as it is, else a display copy made now (once: the result is cached)."""
    return _ready(Path(path).read_bytes(), max_width)


def _ready(data: bytes, max_width: int | None) -> tuple[bytes, str]:
    """The bytes as they are when Streamlit can serve them so, else a display copy."""
    fmt = images.shown_format(data, max_width=max_width)
    if fmt:
        return data, fmt
    made = images.thumbnail(data, max_width=max_width)
    return made, "PNG" if images.thumbnail_mime(made) == "image/png" else "JPEG"


def shown(path: Path, max_width: int | None = None) -> tuple[bytes, str] | None:
    """What a page shows for an image file (see the module doc), None if it can't be read."""
    version = _version(path)
    if version is None:
        return None
    try:
        return _prepared(*version, max_width)
    except (OSError, images.ImageRejected):
        return None


def image(path: Path, *, caption: str | None = None, width: Width = "stretch") -> bool:
    """Show an image file as its display copy; False (nothing drawn) when it can't be read."""
    found = shown(path, width if isinstance(width, int) else None)
    if found is None:
        return False
    data, fmt = found
    st.image(data, caption=caption, width=width, output_format=fmt)
    return True


@st.cache_resource(max_entries=16, show_spinner=False)
def _copy(digest: str, max_width: int | None, _data: bytes) -> tuple[bytes, str]:
    return _ready(_data, max_width)


def picked(data: bytes, digest: str, *, width: Width = "stretch") -> None:
    """Show a picked image (an upload: up to 10 MB) as a display copy made once per image."""
    try:
        shown_data, fmt = _copy(digest, width if isinstance(width, int) else None, data)
    except images.ImageRejected:
        return
    st.image(shown_data, width=width, output_format=fmt)


def placeholder(caption: str) -> None:
    """Where an image is missing from the data folder."""
    with st.container(border=True):
        st.caption(f":material/broken_image: {caption}: the file is missing")


@functools.lru_cache(maxsize=CACHED_FILES)
def _size(path: str, mtime_ns: int, size: int) -> tuple[int, int]:
    with Image.open(path) as img:  # the header only
        return img.size


def pixel_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image file, read once per file version; None if unreadable."""
    version = _version(path)
    if version is None:
        return None
    try:
        return _size(*version)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
