"""Test kit for the mask tests: objects as the canvas component writes them, and an
independent truth drawn with PIL on a supersampled grid."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from shapely import Polygon

from mjstudio.mask.raster import rasterize

SS = 4  # supersampling factor of the truth rasters
FAST = settings(max_examples=40, deadline=None)


# --- objects as the component writes them ------------------------------------------------


def pencil_path(points: list[tuple[float, float]]) -> list[list]:
    """Fabric's PencilBrush path: M, a Q per point ending at the next midpoint, then L."""
    path: list[list] = [["M", *points[0]]]
    for p, q in zip(points[:-1], points[1:], strict=True):
        path.append(["Q", p[0], p[1], (p[0] + q[0]) / 2, (p[1] + q[1]) / 2])
    path.append(["L", *points[-1]])
    return path


def fabric_path_centre(path: list[list]) -> tuple[float, float]:
    """Fabric's pathOffset, by dense sampling: it bounds a Q as the cubic (p0, q, q, p1)."""
    pts, start, cur = [], path[0][1:3], path[0][1:3]
    t = np.linspace(0, 1, 2001)[:, None]
    for cmd in path[1:]:
        if cmd[0] == "Q":
            p0, q, p1 = (np.array(v, dtype=float) for v in (cur, cmd[1:3], cmd[3:5]))
            pts.append((1 - t) ** 3 * p0 + 3 * (1 - t) * t * q + t**3 * p1)
            cur = cmd[3:5]
        else:  # L: Fabric bounds it by the subpath's start and its end
            pts.append(np.array([start, cmd[1:3]], dtype=float))
            cur = cmd[1:3]
    allp = np.vstack(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2)


def brush(points, width, *, dx=0.0, dy=0.0, angle=0.0, scale=1.0, **extra) -> dict:
    """A freedraw Path, optionally moved, rotated and scaled afterwards in edit mode."""
    path = pencil_path([(float(x), float(y)) for x, y in points])
    cx, cy = fabric_path_centre(path)
    obj = {
        "type": "Path",
        "originX": "center",
        "originY": "center",
        "left": cx + dx,
        "top": cy + dy,
        "strokeWidth": width,
        "strokeLineCap": "round",
        "strokeLineJoin": "round",
        "fill": None,
        "stroke": "rgba(255,255,255,0.6)",
        "scaleX": scale,
        "scaleY": scale,
        "angle": angle,
        "path": path,
    }
    return {**obj, **extra}


def rect_tool(x, y, w, h, sw=4.0, **extra) -> dict:
    """A Rect as the rect tool makes it: left/top at the stroke's outer corner."""
    obj = {"type": "Rect", "originX": "left", "originY": "top", "left": x - sw / 2}
    obj |= {"top": y - sw / 2, "width": w, "height": h, "strokeWidth": sw, "strokeUniform": True}
    return obj | extra


def rotate(p, deg):
    a = math.radians(deg)
    return (p[0] * math.cos(a) - p[1] * math.sin(a), p[0] * math.sin(a) + p[1] * math.cos(a))


def circle_tool(cx, cy, r, drag_angle, sw=4.0, **extra) -> dict:
    """A Circle as the circle tool makes it: left/top the drag start, angle the drag direction."""
    ox, oy = rotate((r + sw / 2, 0), drag_angle)
    obj = {"type": "Circle", "originX": "left", "originY": "center", "left": cx - ox}
    obj |= {"top": cy - oy, "radius": r, "width": 2 * r, "height": 2 * r, "strokeWidth": sw}
    return obj | {"angle": drag_angle, "startAngle": 0, "endAngle": 360} | extra


def polygon_tool(points, sw=4.0, **extra) -> dict:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    obj = {"type": "Polygon", "left": (min(xs) + max(xs)) / 2, "top": (min(ys) + max(ys)) / 2}
    obj |= {"points": [{"x": x, "y": y} for x, y in points], "strokeWidth": sw}
    obj |= {"width": max(xs) - min(xs), "height": max(ys) - min(ys)}
    return obj | extra


# --- truth: PIL on a supersampled grid ----------------------------------------------------
# PIL rounds what it draws to whole (sub)pixels, so the truth is good to about 1/ss px: thin
# strokes are checked on an 8x grid, and every shape is some pixels wide.


def pil_xy(pts, ss: int) -> list[tuple[int, int]]:
    """Canvas px -> PIL coordinates on an ss-times grid: PIL puts integers at pixel centres
    and truncates fractions, so round here."""
    return [(round(x * ss - 0.5), round(y * ss - 0.5)) for x, y in pts]


class Truth:
    """A supersampled canvas that shapes are painted on (255) or erased from (0)."""

    def __init__(self, width: int, height: int, ss: int = SS) -> None:
        self.ss = ss
        self.image = Image.new("L", (width * ss, height * ss), 0)
        self.draw = ImageDraw.Draw(self.image)

    def polygon(self, pts, value=255) -> None:
        self.draw.polygon(pil_xy(pts, self.ss), fill=value)

    def disc(self, x, y, r, value=255) -> None:
        """PIL's ellipse covers its box's end pixels too: a box of 2r - 1 spans 2r pixels."""
        cx, cy, rr = x * self.ss - 0.5, y * self.ss - 0.5, r * self.ss - 0.5
        self.draw.ellipse([round(v) for v in (cx - rr, cy - rr, cx + rr, cy + rr)], fill=value)

    def stroke(self, pts, width, value=255) -> None:
        """A round-capped, round-joined stroke: a disc stamped every quarter pixel along it."""
        for x, y in resample(pts, 0.25):
            self.disc(x, y, width / 2, value)

    def mask(self) -> np.ndarray:
        return np.asarray(self.image) > 127


def quad_samples(points, n=16):
    """The curve a PencilBrush path draws through points, sampled (independently of mask)."""
    path = pencil_path(points)
    out, cur = [tuple(path[0][1:3])], np.array(path[0][1:3], dtype=float)
    t = np.linspace(0, 1, n + 1)[1:, None]
    for cmd in path[1:]:
        if cmd[0] == "Q":
            q, end = np.array(cmd[1:3], dtype=float), np.array(cmd[3:5], dtype=float)
            out += [tuple(p) for p in (1 - t) ** 2 * cur + 2 * (1 - t) * t * q + t**2 * end]
        else:
            end = np.array(cmd[1:3], dtype=float)
            out.append(tuple(end))
        cur = end
    return out


def resample(pts, spacing):
    """Points every spacing px along a polyline (its vertices included)."""
    out = [pts[0]]
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / spacing))
        out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return out


def brush_truth(truth: Truth, obj: dict, points, value=255) -> None:
    """Draw a brush object (moved / rotated / uniformly scaled) on the truth canvas."""
    cx, cy = fabric_path_centre(obj["path"])
    s, a = obj["scaleX"], obj["angle"]
    world = []
    for x, y in quad_samples(points):
        rx, ry = rotate(((x - cx) * s, (y - cy) * s), a)
        world.append((obj["left"] + rx, obj["top"] + ry))
    truth.stroke(world, obj["strokeWidth"] * s, value)


def geometry_mask(geom, width: int, height: int, ss: int = SS) -> np.ndarray:
    """Our geometry on the same supersampled grid, sampled at pixel centres."""
    polys = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon)]
    rings = [[np.asarray(r.coords)[:-1] * ss for r in (p.exterior, *p.interiors)] for p in polys]
    return rasterize(rings, width * ss, height * ss)


def areas_mask(areas, width: int, height: int, ss: int = SS) -> np.ndarray:
    polys = [Polygon(np.reshape(a["points"], (-1, 2))) for a in areas]
    return geometry_mask(shapely.GeometryCollection(polys), width, height, ss)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def assert_valid_areas(areas, width: int, height: int) -> None:
    """What the API asks of mask.areas."""
    for area in areas:
        assert (area["width"], area["height"]) == (width, height)
        pts = area["points"]
        assert all(type(v) is int for v in pts)
        assert len(pts) % 2 == 0 and len(pts) >= 6
        xy = np.reshape(pts, (-1, 2))
        assert xy[:, 0].min() >= 0 and xy[:, 0].max() <= width
        assert xy[:, 1].min() >= 0 and xy[:, 1].max() <= height
        x, y = xy[:, 0], xy[:, 1]
        assert np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0  # clockwise with y down
        poly = Polygon(xy)
        assert poly.is_valid and poly.exterior.is_simple and not poly.interiors
        assert len({tuple(p) for p in xy}) == len(xy)


walks = st.lists(st.tuples(st.floats(-0.6, 0.6), st.floats(3.0, 12.0)), min_size=6, max_size=40)


def walk(start, heading, steps, size):
    """A hand-like stroke: small turns, mouse-event steps, kept on the canvas."""
    pts, (x, y) = [start], start
    for turn, step in steps:
        heading += turn
        x = min(max(x + step * math.cos(heading), 0), size)
        y = min(max(y + step * math.sin(heading), 0), size)
        pts.append((round(x, 2), round(y, 2)))
    return pts
