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
import io
import stat
from pathlib import Path
from typing import Literal

import streamlit as st
from PIL import Image

from mjstudio import images

CACHED_FILES = 512  # display copies kept in memory (each at most 36 KB, or 200 KB as given)
LARGE_SIDE = 1024  # the viewer's copy of one image: sharp at its shown size on a 2x screen
LARGE_FILES = 16  # viewer copies kept in memory (a few hundred KB each)
LARGE_QUALITY = 88
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


@functools.lru_cache(maxsize=LARGE_FILES)
def _large(path: str, mtime_ns: int, size: int) -> tuple[bytes, str, tuple[int, int]]:
    """(bytes, format, the file's pixel size) of the viewer's copy of one version of a file:
    the file itself when it is a JPEG or PNG of at most LARGE_SIDE, else a JPEG made once."""
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        full = img.size
        if max(full) <= LARGE_SIDE and img.format in images.SHOWN_FORMATS:
            return data, str(img.format), full
        img.thumbnail((LARGE_SIDE, LARGE_SIDE), Image.Resampling.LANCZOS)
        alpha = "A" in img.getbands() or "transparency" in img.info
        out = io.BytesIO()
        if alpha:
            img.convert("RGBA").save(out, "PNG", optimize=True)
        else:
            img.convert("RGB").save(out, "JPEG", quality=LARGE_QUALITY, optimize=True)
    return out.getvalue(), "PNG" if alpha else "JPEG", full


def large(
    path: Path, *, box: tuple[int, int], caption: str | None = None
) -> tuple[int, int] | None:
    """Show one result large, fitted into ``box`` (CSS px); returns the file's pixel size, or
    None (nothing drawn) when it can't be read. The copy is made once per file version."""
    version = _version(path)
    if version is None:
        return None
    try:
        data, fmt, full = _large(*version)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    scale = min(box[0] / full[0], box[1] / full[1])
    with st.container(width=max(1, round(full[0] * scale))):
        st.image(data, caption=caption, width="stretch", output_format=fmt)
    return full
