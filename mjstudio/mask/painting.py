"""What was painted: the union of the canvas objects, erasers subtracted in drawing order.

Freedraw strokes, the bulk of any drawing, are handled together: every stroke's path is
flattened in one pass (paths.py), moved to canvas px with its own matrix, and all centre lines
are simplified and buffered by array calls, then everything painted between two erasers is
unioned in one `shapely.union_all`. Other objects (shapes, lines, filled or skewed paths) go
through `object_shape` one by one; the result is the same region either way.

A tolerance says how far (canvas px) a stroke's outline may move before the union: its centre
line is simplified by that much (Douglas-Peucker, and by at most WIDTH_SHARE of its width, so
that a thin stroke keeps its shape), and its round caps and joins get as few chords as keep
within half of it from the arc (see quad_segs). build_mask passes a fraction of an image
pixel: the API takes whole pixels, so finer detail is lost anyway, and the union's cost grows
with the vertices it is given. Without one, strokes are drawn as object_shape draws them: the
centre line moved by CENTRELINE_SHARE of the width, QUAD_SEGS chords per quarter circle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import shapely
from shapely import Polygon
from shapely.geometry.base import BaseGeometry

from mjstudio.mask.paths import flatten
from mjstudio.mask.shapes import (
    CENTRELINE_SHARE,
    QUAD_SEGS,
    has_fill,
    is_eraser,
    object_matrix,
    object_shape,
    stroke_style,
    world_width,
)

WIDTH_SHARE = 0.05  # a tolerance moves a centre line by at most this share of its width
_EMPTY = Polygon()


def _stroke_of(obj: Mapping[str, Any]) -> tuple[tuple, float] | None:
    """(matrix, width in canvas px) of a plain freedraw stroke that can be batched, else None."""
    if str(obj.get("type", "")).lower() != "path" or obj.get("visible") is False:
        return None
    if has_fill(obj):
        return None
    m = object_matrix(obj)
    width = world_width(obj, m)
    return None if width is None else (m, width)


def _world_points(objs: list[Mapping[str, Any]], mats: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every stroke's flattened points in canvas px, their subpath, and each subpath's stroke."""
    flat = flatten([obj.get("path") or [] for obj in objs])
    owner = flat.subpath_path[flat.point_subpath]
    x, y = (flat.points - flat.offsets[owner]).T
    a, b, c, d, e, f = mats[owner].T
    world = np.column_stack([a * x + c * y + e, b * x + d * y + f])
    return world, flat.point_subpath, flat.subpath_path


def _buffers(
    objs: list[Mapping[str, Any]], strokes: list[tuple[tuple, float]], tolerance: float | None
) -> list:
    """The strokes' painted areas: centre lines (dots for clicks) buffered, by array calls."""
    mats = np.array([m for m, _ in strokes], dtype=float).reshape(-1, 6)
    world, sub, owner = _world_points(objs, mats)
    if len(sub) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, sub[1:] != sub[:-1]])
    spread = np.maximum.reduceat(world, starts) - np.minimum.reduceat(world, starts)
    moving = (np.diff(np.r_[starts, len(sub)]) > 1) & (spread > 0).any(axis=1)
    keep = moving[sub]
    radius = np.array([w for _, w in strokes]) / 2
    lines = shapely.linestrings(world[keep], indices=(np.cumsum(moving) - 1)[sub[keep]])
    width = 2 * radius[owner[moving]]
    moved = (
        CENTRELINE_SHARE * width
        if tolerance is None
        else np.minimum(tolerance, WIDTH_SHARE * width)
    )
    lines = shapely.simplify(lines, moved, preserve_topology=False)
    geoms = np.concatenate([lines, shapely.points(world[starts[~moving]])])
    stroke = np.r_[owner[moving], owner[~moving]]
    is_dot = np.r_[np.zeros(len(lines), bool), np.ones(len(geoms) - len(lines), bool)]
    styles = [stroke_style(o) for o in objs]
    return _buffer_by_style(geoms, radius[stroke], stroke, is_dot, styles, tolerance)


def quad_segs(radius: float, tolerance: float | None) -> int:
    """Chords per quarter circle for round caps and joins of this radius: QUAD_SEGS, or with a
    tolerance as few as keep every chord within half of it from the arc (the sagitta of a
    step of angle a is radius * (1 - cos(a / 2))), at least 2. Half: chords lie inside the
    arc, and a one-sided error costs area where the centre line's, to either side, does not."""
    if tolerance is None or tolerance <= 0 or radius <= 0:
        return QUAD_SEGS
    step = 2 * math.acos(max(1 - tolerance / 2 / radius, -1.0))
    return min(QUAD_SEGS, max(2, math.ceil(math.pi / 2 / step)))


def _buffer_by_style(
    geoms: np.ndarray,
    radius: np.ndarray,
    stroke: np.ndarray,
    is_dot: np.ndarray,
    styles: list,
    tolerance: float | None,
) -> list:
    """Buffer each geometry with its stroke's style: one array call per distinct style, with
    the chords its widest stroke needs."""
    keys = [tuple(sorted(s.items())) for s in styles]
    out = []
    for key in set(keys):
        style = dict(key)
        mine = np.array([k == key for k in keys])[stroke] & (radius > 0)
        if style["cap_style"] == "flat":
            mine &= ~is_dot  # a click with a butt cap paints nothing
        if mine.any():
            segs = quad_segs(float(radius[mine].max()), tolerance)
            out += list(shapely.buffer(geoms[mine], radius[mine], quad_segs=segs, **style))
    return out


def _union(
    region: BaseGeometry, objs: list[Mapping[str, Any]], tolerance: float | None
) -> BaseGeometry:
    """region together with what objs paint, in one union."""
    strokes = [_stroke_of(obj) for obj in objs]
    batched = [o for o, s in zip(objs, strokes, strict=True) if s is not None]
    others = [object_shape(o) for o, s in zip(objs, strokes, strict=True) if s is None]
    found = [s for s in strokes if s is not None]
    return shapely.union_all([region, *others, *_buffers(batched, found, tolerance)])


def painted_region(
    objects: Iterable[Mapping[str, Any]], tolerance: float | None = None
) -> BaseGeometry:
    """The union of what was painted, erasers subtracted in drawing order, in canvas px; a
    brush stroke's outline moved by at most tolerance (canvas px, see the module docstring)."""
    region: BaseGeometry = _EMPTY
    batch: list[Mapping[str, Any]] = []
    for obj in objects:
        if not is_eraser(obj):
            batch.append(obj)
            continue
        shape = object_shape(obj)
        if not shape.is_empty:
            region = _union(region, batch, tolerance).difference(shape)
            batch = []
    if batch:
        region = _union(region, batch, tolerance)
    return region  # overlay results (union_all, difference) are valid
