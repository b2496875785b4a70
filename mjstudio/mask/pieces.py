"""A region -> hole-free polygons with integer vertices, clockwise on screen (`mask.areas`).

A polygon with holes cannot be sent as one simple polygon, so it is cut in two along an
integer line through one of its holes, nearest the middle across its longer side, and the
halves are cut again until no piece has a hole (holes under a pixel are filled). Pieces are
snapped to the integer grid once they have no hole; a snapped piece that closed a gap under a
pixel into a hole goes round again. Each round handles all its polygons together: the cut
lines from one call over all rings, the cuts by rectangle clipping (linear in the vertices),
the checks and the snapping by array calls.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import Polygon
from shapely.geometry.base import BaseGeometry

_MAX_ROUNDS = 200  # rounds before any hole still left is filled (a safeguard, never reached)


def snap(geoms: np.ndarray) -> np.ndarray:
    """Valid polygons with integer vertices, collinear points dropped: vertices rounded (each
    moves at most 0.71 px); where that leaves a polygon invalid (rounding crossed its edges, or
    a clip had left its ring touching itself), GEOS snap-rounding of the repaired polygon.
    (Validity is checked before collinear points go: Douglas-Peucker would "repair" a crossed
    ring by cutting it at the crossing, which is no grid point.)"""
    rounded = shapely.transform(geoms, np.rint)
    broken = ~shapely.is_valid(rounded)
    repaired = geoms[broken]
    bad = ~shapely.is_valid(repaired)  # most pieces were valid before rounding
    repaired[bad] = shapely.make_valid(repaired[bad], method="structure", keep_collapsed=False)
    with np.errstate(all="ignore"):  # GEOS trips float flags on subnormal coordinates
        # First to floating precision: a clip of a piece snapped before keeps that piece's
        # grid, and GEOS leaves a geometry already "on" the grid as it is.
        fixed = shapely.set_precision(shapely.set_precision(repaired, 0.0), 1.0)
    lean = shapely.simplify(rounded[~broken], 0.0, preserve_topology=False)
    fixed = shapely.simplify(fixed, 0.0, preserve_topology=True)
    return _polygons(np.concatenate([lean, fixed]))


def _polygons(geoms: np.ndarray) -> np.ndarray:
    """The polygons with an area among the geometries' parts."""
    parts = shapely.get_parts(geoms)
    return parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)]


def _ring_bounds(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every ring's lower and upper corner, the polygon it belongs to, and whether it is a hole."""
    rings, owner = shapely.get_rings(polys, return_index=True)
    bounds = shapely.bounds(rings)
    hole = np.r_[False, owner[1:] == owner[:-1]]  # a polygon's shell comes first
    return bounds[:, :2], bounds[:, 2:], owner, hole


def cut_lines(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(axis, c) per polygon: an integer line through one of its holes, nearest the middle of
    its bounds, across its longer side if it can; axis -1 where no hole is a pixel wide."""
    lo, hi, owner, hole = _ring_bounds(polys)
    mid = (lo[~hole] + hi[~hole]) / 2  # per polygon: the shell's bounds
    size = hi[~hole] - lo[~hole]
    first_axis = np.where(size[:, 0] >= size[:, 1], 0, 1)
    hlo, hhi, who = lo[hole], hi[hole], owner[hole]
    c = np.minimum(np.maximum(np.round(mid[who]), np.floor(hlo) + 1), np.ceil(hhi) - 1)
    inside = (hlo < c) & (c < hhi)
    rows = np.flatnonzero(inside.ravel())  # candidates: (hole, axis) pairs
    h, axis = rows // 2, rows % 2
    tier = axis != first_axis[who[h]]
    order = np.lexsort((h, np.abs(c[h, axis] - mid[who[h], axis]), tier, who[h]))
    best = order[np.r_[True, who[h][order][1:] != who[h][order][:-1]]] if len(order) else order
    out_axis, out_c = np.full(len(polys), -1), np.zeros(len(polys))
    out_axis[who[h[best]]], out_c[who[h[best]]] = axis[best], c[h[best], axis[best]]
    return out_axis, out_c


def _cut(polys: np.ndarray) -> np.ndarray:
    """Every polygon cut in two along its cut line, or filled when its holes are sub-pixel.
    The rectangles reach past the polygon on the other sides: a rectangle edge lying along
    a polygon edge can make clip_by_rect draw a spike."""
    if not len(polys):
        return polys
    axes, lines = cut_lines(polys)
    out = list(shapely.polygons(shapely.get_exterior_ring(polys[axes < 0])))
    cut = axes >= 0
    reach = (shapely.bounds(polys[cut]) + (-1, -1, 1, 1)).tolist()
    for poly, axis, c, (x0, y0, x1, y1) in zip(
        polys[cut], axes[cut].tolist(), lines[cut].tolist(), reach, strict=True
    ):
        halves = (
            ((x0, y0, c, y1), (c, y0, x1, y1)) if axis == 0 else ((x0, y0, x1, c), (x0, c, x1, y1))
        )
        out += [shapely.clip_by_rect(poly, *rect) for rect in halves]
    return _polygons(np.array(out, dtype=object))


def simple_pieces(geom: BaseGeometry) -> list[Polygon]:
    """Hole-free integer polygons whose union is geom (holes under a pixel are filled)."""
    todo, done = _polygons(np.array([geom])), []
    for _ in range(_MAX_ROUNDS):
        if not len(todo):
            return done
        holed = shapely.get_num_interior_rings(todo) > 0
        snapped = snap(todo[~holed])
        closed = shapely.get_num_interior_rings(snapped) > 0  # a gap under a pixel closed
        done += list(snapped[~closed])
        todo = np.concatenate([_cut(todo[holed]), snapped[closed]])
    filled = snap(np.array([Polygon(p.exterior) for p in todo], dtype=object))
    return done + [Polygon(p.exterior) for p in filled]


def clockwise_points(polys: list[Polygon]) -> list[list[int]]:
    """Each polygon's exterior as a flat [x1, y1, ...] int list, clockwise on screen (positive
    shoelace sum with y down), starting at its top-left vertex (smallest y, then x)."""
    if not polys:
        return []
    xy, ring = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
    last = np.r_[ring[1:] != ring[:-1], True]  # each ring's closing point
    xy, ring = np.rint(xy[~last]).astype(np.int64), ring[~last]
    start = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    size = np.diff(np.r_[start, len(ring)])
    x, y = xy[:, 0], xy[:, 1]
    pos = np.arange(len(ring)) - start[ring]
    after = start[ring] + (pos + 1) % size[ring]
    shoelace = np.add.reduceat(x * y[after] - x[after] * y, start)
    flip = (shoelace < 0)[ring]  # reversed rings read their points backwards
    pos = np.where(flip, size[ring] - 1 - pos, pos)
    order = np.lexsort((x, y, ring))
    first = np.empty(len(start), dtype=np.int64)
    first[ring[order[start]]] = pos[order[start]]  # the top-left vertex's place in each ring
    new = (pos - first[ring]) % size[ring]
    out = np.empty_like(xy)
    out[start[ring] + new] = xy
    flat = out.ravel().tolist()
    return [flat[2 * a : 2 * (a + n)] for a, n in zip(start, size, strict=True)]
