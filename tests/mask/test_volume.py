"""A designer's real volume: hundreds of brush strokes, handled together and still exact.

The exact region here is made independently of mjstudio.mask: each stroke's PencilBrush
quadratics sampled densely, buffered with 32 segments per quarter circle, unioned. How the
work is done (one union for all strokes, array calls, rectangle clipping instead of overlays)
is pinned by counting the shapely calls, the way a query's plan is checked for its index.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely import Point, box
from shapely.geometry.base import BaseGeometry

from mjstudio.mask.geometry import Fit, areas_region, build_mask, mask_areas, painted_region
from mjstudio.mask.paths import flatten
from mjstudio.mask.shapes import path_offset
from tests.mask.kit import assert_valid_areas, fabric_path_centre, pencil_path

SIZE = 1024


def mouse_points(rng: np.random.Generator, count: int) -> np.ndarray:
    """A hand-like stroke: a smooth random walk of 2-6 px steps, kept on the canvas."""
    pos, heading = rng.uniform(100, SIZE - 100, 2), rng.uniform(0, 2 * math.pi)
    turns, steps = rng.normal(0, 0.25, count - 1), rng.uniform(2, 6, count - 1)
    headings = heading + np.cumsum(turns)
    moves = steps[:, None] * np.column_stack([np.cos(headings), np.sin(headings)])
    return np.round(np.clip(pos + np.vstack([[0, 0], np.cumsum(moves, axis=0)]), 0, SIZE), 2)


def quadratics(points: np.ndarray, per_segment: int) -> tuple[np.ndarray, ...]:
    """PencilBrush's curve through mouse points: quadratics from midpoint to midpoint, each
    with a mouse point as control, sampled at per_segment steps (ends included)."""
    mids = np.vstack([points[:1], (points[:-1] + points[1:]) / 2])
    q0, ctrl, q1 = mids[:-1], points[:-1], mids[1:]
    t = np.linspace(0, 1, per_segment + 1)[:, None, None]
    curve = (1 - t) ** 2 * q0 + 2 * (1 - t) * t * ctrl + t**2 * q1
    return q0, ctrl, q1, curve.transpose(1, 0, 2).reshape(-1, 2)


def centre(points: np.ndarray) -> tuple[float, float]:
    """Fabric's pathOffset by sampling: a Q is bounded as the cubic (p0, q, q, p1), the final L
    by the subpath's start and its end."""
    q0, ctrl, q1, _ = quadratics(points, 1)
    t = np.linspace(0, 1, 257)[:, None, None]
    cubic = (1 - t) ** 3 * q0 + 3 * (1 - t) * t * ctrl + t**3 * q1
    every = np.vstack([cubic.reshape(-1, 2), points[:1], points[-1:]])
    lo, hi = every.min(axis=0), every.max(axis=0)
    return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2)


def stroke(points: np.ndarray, width: float) -> dict:
    """The freedraw Path the canvas sends for these mouse points (unmoved)."""
    left, top = centre(points)
    return {
        "type": "Path",
        "originX": "center",
        "originY": "center",
        "left": left,
        "top": top,
        "strokeWidth": width,
        "strokeLineCap": "round",
        "strokeLineJoin": "round",
        "fill": None,
        "stroke": "rgba(255,255,255,0.6)",
        "path": pencil_path([tuple(p) for p in points.tolist()]),
    }


def scene(count: int, n_points: int, seed: int = 3) -> tuple[list[dict], shapely.Geometry]:
    """count strokes as the canvas sends them, and the exact region they paint on the image."""
    rng = np.random.default_rng(seed)
    objects, exact = [], []
    for _ in range(count):
        points, width = mouse_points(rng, n_points), float(rng.integers(10, 41))
        objects.append(stroke(points, width))
        line = np.vstack([quadratics(points, 8)[3], points[-1:]])
        exact.append(shapely.LineString(line).buffer(width / 2, quad_segs=32))
    return objects, shapely.union_all(exact).intersection(box(0, 0, SIZE, SIZE))


@pytest.fixture(scope="module")
def volume() -> tuple[list[dict], shapely.Geometry]:
    return scene(200, 100)


def iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return float(a.intersection(b).area / a.union(b).area)


def test_200_strokes_of_100_points_send_the_exact_region(volume):
    objects, exact = volume
    result = build_mask(objects, Fit.stretch(SIZE, SIZE, SIZE, SIZE))
    assert_valid_areas(result.areas, SIZE, SIZE)  # clockwise, integer, inside, simple, no holes
    sent = areas_region(result.areas)
    assert iou(sent, exact) >= 0.99
    assert result.painted_fraction == pytest.approx(exact.area / SIZE**2, rel=0.005)
    on_image = painted_region(objects).intersection(box(0, 0, SIZE, SIZE))
    assert iou(on_image, exact) >= 0.995  # before the region is simplified and snapped


def test_the_areas_of_200_strokes_do_not_overlap_much(volume):
    """Pieces are cut from one region: they touch along their cuts but do not pile up."""
    objects, _ = volume
    result = build_mask(objects, Fit.stretch(SIZE, SIZE, SIZE, SIZE))
    pieces = [shapely.Polygon(np.reshape(a["points"], (-1, 2))) for a in result.areas]
    assert sum(p.area for p in pieces) <= shapely.union_all(pieces).area * 1.001


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count calls of shapely.<name> from anywhere (the modules look it up on shapely)."""
    calls = [0]
    real = getattr(shapely, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(shapely, name, counted)
    return calls


def test_strokes_are_buffered_and_unioned_in_one_call_each(monkeypatch):
    objects, _ = scene(60, 30)
    unions, buffers = count_calls(monkeypatch, "union_all"), count_calls(monkeypatch, "buffer")
    region = painted_region(objects)
    assert (unions[0], buffers[0]) == (1, 1)
    assert region.area > 0


def test_an_eraser_splits_the_work_in_two_unions(monkeypatch):
    objects, _ = scene(20, 30)
    eraser = {**objects[0], "globalCompositeOperation": "destination-out", "strokeWidth": 60}
    unions = count_calls(monkeypatch, "union_all")
    region = painted_region([*objects[:10], eraser, *objects[10:]])
    assert unions[0] <= 3  # before the eraser, after it, and the eraser's own stroke
    assert region.area > 0


def holey_region() -> shapely.Geometry:
    """A 600x600 square with 144 round holes: many cuts."""
    holes = [Point(25 + 50 * i, 25 + 50 * j).buffer(12) for i in range(12) for j in range(12)]
    return box(0, 0, 600, 600).difference(shapely.union_all(holes))


def test_holes_are_cut_by_rectangle_clipping_not_by_overlays(monkeypatch):
    """No overlay per cut and no topology-preserving pass over the region: both cost far more
    than the clipping and the Douglas-Peucker pass that do the same work here."""
    region = holey_region()
    overlays = count_calls(monkeypatch, "intersection")
    real_method = BaseGeometry.intersection

    def method(self, *args, **kwargs):
        overlays[0] += 1
        return real_method(self, *args, **kwargs)

    monkeypatch.setattr(BaseGeometry, "intersection", method)
    careful = []
    real_simplify = shapely.simplify

    def simplify(geometry, tolerance, preserve_topology=True, **kwargs):
        if preserve_topology and np.any(np.asarray(tolerance) > 0):
            careful.append(tolerance)
        return real_simplify(geometry, tolerance, preserve_topology=preserve_topology, **kwargs)

    monkeypatch.setattr(shapely, "simplify", simplify)
    areas = mask_areas(region, 600, 600)
    assert overlays[0] == 0 and careful == []
    assert_valid_areas(areas, 600, 600)
    assert iou(areas_region(areas), region) >= 0.99


def test_pieces_that_rounding_would_break_are_snap_rounded():
    """Rounding this small piece's vertices makes two of its edges cross; next to it a square."""
    crossed = shapely.Polygon(
        [(11.2, 12.6), (11.6, 14.2), (11.6, 15.2), (10.8, 10.9), (15.8, 10.4)]
    )
    assert crossed.is_valid and not shapely.transform(crossed, np.rint).is_valid
    region = shapely.union_all([crossed, box(100, 100, 140, 130)])
    areas = mask_areas(region, 200, 200, tolerance=0.0)
    assert_valid_areas(areas, 200, 200)
    moved = areas_region(areas).symmetric_difference(region).area
    assert moved <= 0.71 * region.boundary.length


def test_a_path_ending_in_a_curve_is_bounded_by_its_end():
    """Fabric's getBoundsOfCurve counts both ends of a curve, the last one too."""
    path = [["M", 0, 0], ["Q", 20, 0, 20, 20]]
    assert path_offset(path) == pytest.approx(fabric_path_centre(path), abs=0.01)
    assert path_offset(path) == pytest.approx((10, 10))


def test_many_paths_flattened_at_once_match_one_at_a_time():
    rng = np.random.default_rng(5)
    paths = [pencil_path([tuple(p) for p in mouse_points(rng, n).tolist()]) for n in (2, 5, 40)]
    paths += [[], [["Z"]], [["L", 5, 5], ["Q", 9, 0, 3, 3], ["X", 1], ["Z"], ["L", 7, 1]]]
    paths += [[["M", 1, 1], ["C", 4, 9, 9, 4, 2, 2], ["M", 3, 3], ["l", 8, 8]]]
    together = flatten(paths)
    for k, path in enumerate(paths):
        alone = flatten([path])
        (subs, closed), (want, want_closed) = together.subpaths(k), alone.subpaths(0)
        assert closed == want_closed and len(subs) == len(want)
        assert all(np.array_equal(a, b) for a, b in zip(subs, want, strict=True))
        assert np.array_equal(together.offsets[k], alone.offsets[0])
    for path in paths[:3]:
        assert path_offset(path) == pytest.approx(fabric_path_centre(path), abs=0.01)


def test_a_hole_the_simplified_shell_would_cross_still_gives_valid_areas():
    """Douglas-Peucker drops the shell's bump; the hole inside the bump then opens outwards."""
    shell = [(10, 10), (110, 7), (210, 10), (210, 110), (10, 110)]
    region = shapely.Polygon(shell, [[(60, 9), (160, 9), (110, 60)]])
    assert region.is_valid
    areas = mask_areas(region, 300, 300, tolerance=4.0)
    assert_valid_areas(areas, 300, 300)
    moved = areas_region(areas).symmetric_difference(region).area
    assert moved <= (4.0 + 0.71) * region.boundary.length
