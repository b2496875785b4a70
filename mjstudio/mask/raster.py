"""Polygons -> a black-and-white mask image, sampling each pixel at its centre."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image


def rasterize(
    polygons: Sequence[np.ndarray | Sequence[np.ndarray]], width: int, height: int
) -> np.ndarray:
    """A (height, width) bool array: True where a pixel's centre lies inside any polygon.

    A polygon is an (n, 2) array of its ring's vertices (x right, y down), or a list of rings
    (exterior, then holes). Polygons simply union. Scanline fill, even-odd within a polygon.
    """
    rings, owner = _rings(polygons)
    if not rings:
        return np.zeros((height, width), dtype=bool)
    starts = np.vstack(rings)
    ends = np.vstack([np.roll(r, -1, axis=0) for r in rings])
    ids = np.concatenate([np.full(len(r), i) for i, r in zip(owner, rings, strict=True)])
    lo, hi = np.minimum(starts[:, 1], ends[:, 1]), np.maximum(starts[:, 1], ends[:, 1])
    first = np.clip(np.ceil(lo - 0.5), 0, height).astype(np.int64)  # rows with centre in [lo, hi)
    stop = np.clip(np.ceil(hi - 0.5), 0, height).astype(np.int64)
    count = np.maximum(stop - first, 0)
    total = int(count.sum())
    if total == 0:
        return np.zeros((height, width), dtype=bool)
    edge = np.repeat(np.arange(len(count)), count)
    rows = first[edge] + np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    (x0, y0), (x1, y1) = starts[edge].T, ends[edge].T
    xs = x0 + (rows + 0.5 - y0) * (x1 - x0) / (y1 - y0)
    order = np.lexsort((xs, rows, ids[edge]))
    rows, xs = rows[order], xs[order]
    row, xa, xb = rows[0::2], xs[0::2], xs[1::2]
    c0 = np.clip(np.ceil(xa - 0.5), 0, width).astype(np.int64)
    c1 = np.clip(np.ceil(xb - 0.5), 0, width).astype(np.int64)
    size = height * (width + 1)
    diff = np.bincount(row * (width + 1) + c0, minlength=size)
    diff -= np.bincount(row * (width + 1) + c1, minlength=size)
    return np.cumsum(diff.reshape(height, width + 1)[:, :width], axis=1) > 0


def _rings(
    polygons: Sequence[np.ndarray | Sequence[np.ndarray]],
) -> tuple[list[np.ndarray], list[int]]:
    """Every ring of at least 3 points, with the index of the polygon it belongs to."""
    rings, owner = [], []
    for i, poly in enumerate(polygons):
        group = [poly] if isinstance(poly, np.ndarray) and poly.ndim == 2 else list(poly)
        for ring in group:
            ring = np.asarray(ring, dtype=float)
            if len(ring) >= 3:
                rings.append(ring)
                owner.append(i)
    return rings, owner


def png_bytes(mask: np.ndarray) -> bytes:
    """A bool array as a 1-bit black-and-white PNG (True = white)."""
    buf = io.BytesIO()
    Image.fromarray(mask).convert("1").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def data_url(png: bytes) -> str:
    """PNG bytes as a base64 `data:` URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
