"""The drawable-canvas component's Fabric.js objects as shapely geometry, in canvas CSS pixels.

What streamlit-drawable-canvas 0.13 (Fabric.js 7.4) sends, read from its Python side and its
frontend bundle:
- `json_data` is Fabric's canvas `toObject()`: `{"version", "objects": [...], "background"}`.
  Each object has `type` (capitalised), `originX`/`originY` (Fabric 7's default is "center"),
  `left`/`top` (the origin point), `width`/`height` (untransformed, stroke excluded),
  `strokeWidth`, `strokeUniform`, `strokeLineCap`/`strokeLineJoin`, `scaleX`/`scaleY`,
  `angle` (degrees, clockwise on screen), `flipX`/`flipY`, `skewX`/`skewY`, `fill`, `stroke`,
  `globalCompositeOperation`. Numbers are rounded to 4 decimals. Objects inside a selection
  are written with the selection's transform applied, so there are no groups.
- Placement: the centre is `(left, top)` moved by the origin fraction (left/top -0.5,
  center 0, right/bottom +0.5) of the transformed size `(width + strokeWidth) * scale`
  (`width * scale + strokeWidth` when `strokeUniform`), that offset rotated by `angle`. Then
  world = translate(centre) . rotate(angle) . scale(+-scaleX, +-scaleY) . skewX . skewY . local.
- freedraw -> "Path" (PencilBrush): origin center, fill null, round cap and join, `path` is
  `[["M",x,y], ["Q",cx,cy,x,y], ..., ["L",x,y]]` in absolute coordinates (loading turns any
  other command into M/L/C/Q/Z). local = point - pathOffset; pathOffset is not serialised: it
  is the centre of Fabric's path bounds, which bound a Q segment as the cubic (p0, c, c, p1).
  A click gives `M p L p`, a dot of the brush's width.
- rect -> "Rect": origin left/top at the stroke's outer corner, `strokeUniform` true,
  width/height at least 2 * strokeWidth; local corners are +-width/2, +-height/2.
- circle -> "Circle": origin left/center at the drag start, `radius` half the drag,
  `angle` the drag direction, `startAngle`/`endAngle` 0/360. point mode -> a small Circle.
- line -> "Line": origin center; x1, y1, x2, y2 are written relative to the centre
  (calcLinePoints), not in canvas coordinates; cap "butt".
- polygon -> "Polygon": `points` `[{x, y}, ...]` absolute, origin center, local = point - the
  points' bbox centre. Editing a rect's corners turns it into a Polygon.
- There is no eraser: 0.13's modes are freedraw, line, rect, circle, point, polygon, text and
  labeled_rect ("transform" is gone; editing is a toolbar toggle) and nothing sets
  `globalCompositeOperation`. The property does round-trip through `initial_drawing`, so an
  object with "destination-out" erases here, and so does one stroked in ERASER_COLOR (the
  colour the Paint page gives its eraser brush: translucent white).
- Text and images carry no region and are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import shapely
from shapely import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry


class MaskError(ValueError):
    """A mask (or its placement) that cannot be sent; the message is meant for the user."""


ERASER_COLOR = "rgba(254,254,254,0.65)"  # white chalk: reads as "taken away"
_ORIGIN = {"left": -0.5, "top": -0.5, "center": 0.0, "right": 0.5, "bottom": 0.5}
_CAPS = {"round": "round", "square": "square", "butt": "flat"}
_JOINS = {"round": "round", "bevel": "bevel", "miter": "mitre", "miter-clip": "mitre"}
_SEGMENT_PX = 3.0  # curves and arcs are flattened into chords about this long
_CENTRELINE_TOLERANCE = 0.05  # px a stroke's centre line may move before it is buffered
_EMPTY = Polygon()

Matrix = tuple[float, float, float, float, float, float]  # Fabric's [a, b, c, d, e, f]


def _num(obj: Mapping[str, Any], key: str, default: float) -> float:
    value = obj.get(key)
    return default if value is None else float(value)


def _origin(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value) - 0.5
    return _ORIGIN.get(str(value), 0.0)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + c * b2,
        b * a2 + d * b2,
        a * c2 + c * d2,
        b * c2 + d * d2,
        a * e2 + c * f2 + e,
        b * e2 + d * f2 + f,
    )


def _linear(obj: Mapping[str, Any]) -> Matrix:
    """Fabric's calcDimensionsMatrix: flip and scale, then skewX and skewY."""
    sx = _num(obj, "scaleX", 1.0) * (-1 if obj.get("flipX") else 1)
    sy = _num(obj, "scaleY", 1.0) * (-1 if obj.get("flipY") else 1)
    m: Matrix = (sx, 0.0, 0.0, sy, 0.0, 0.0)
    skew_x, skew_y = _num(obj, "skewX", 0.0), _num(obj, "skewY", 0.0)
    if skew_x:
        m = _multiply(m, (1.0, 0.0, math.tan(math.radians(skew_x)), 1.0, 0.0, 0.0))
    if skew_y:
        m = _multiply(m, (1.0, math.tan(math.radians(skew_y)), 0.0, 1.0, 0.0, 0.0))
    return m


def _transformed_size(obj: Mapping[str, Any]) -> tuple[float, float]:
    """Fabric's _getTransformedDimensions: the object's size on screen, stroke included."""
    sw = _num(obj, "strokeWidth", 1.0)
    uniform = bool(obj.get("strokeUniform"))
    radius = 2 * _num(obj, "radius", 0.0)
    w = _num(obj, "width", radius) + (0.0 if uniform else sw)
    h = _num(obj, "height", radius) + (0.0 if uniform else sw)
    a, b, c, d, _, _ = _linear(obj)
    corners = [(a * x + c * y, b * x + d * y) for x in (-w / 2, w / 2) for y in (-h / 2, h / 2)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    extra = sw if uniform else 0.0
    return max(xs) - min(xs) + extra, max(ys) - min(ys) + extra


def object_matrix(obj: Mapping[str, Any]) -> Matrix:
    """The object's own transform (Fabric's calcOwnMatrix): local coordinates -> canvas px."""
    angle = math.radians(_num(obj, "angle", 0.0))
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = _transformed_size(obj)
    ox, oy = -_origin(obj.get("originX", "center")), -_origin(obj.get("originY", "center"))
    left, top = _num(obj, "left", 0.0), _num(obj, "top", 0.0)
    cx = left + cos * ox * dx - sin * oy * dy
    cy = top + sin * ox * dx + cos * oy * dy
    return _multiply((cos, sin, -sin, cos, cx, cy), _linear(obj))


def _apply(geom: BaseGeometry, m: Matrix) -> BaseGeometry:
    a, b, c, d, e, f = m
    return shapely.affinity.affine_transform(geom, (a, c, b, d, e, f))


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, t: np.ndarray):
    """Points of cubic Beziers (rows of control points) at parameters t, vectorised."""
    u, t = 1.0 - t[..., None], t[..., None]
    return u**3 * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t**3 * p3


def _curve_bounds(curves: np.ndarray) -> np.ndarray:
    """Extreme points of cubics (rows x0 y0 x1 y1 x2 y2 x3 y3), as getBoundsOfCurve finds."""
    p0, p1, p2, p3 = (curves[:, None, i : i + 2] for i in (0, 2, 4, 6))
    ts = [np.zeros(len(curves)), np.ones(len(curves))]
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in (0, 1):
            a0, a1, a2, a3 = (curves[:, i + k] for i in (0, 2, 4, 6))
            b = 6 * a0 - 12 * a1 + 6 * a2
            a = -3 * a0 + 9 * a1 - 9 * a2 + 3 * a3
            c = 3 * a1 - 3 * a0
            root = np.sqrt(b * b - 4 * c * a)
            flat = np.abs(a) < 1e-12
            ts += [
                np.where(flat, -c / b, (-b + root) / (2 * a)),
                np.where(flat, 0, (-b - root) / (2 * a)),
            ]
    t = np.column_stack(ts)
    t = np.where((t > 0) & (t < 1), t, 0.0)
    return _bezier(p0, p1, p2, p3, t).reshape(-1, 2)


def _path_rows(path: Iterable[Any]) -> tuple[list[tuple], list[tuple], list[tuple], list[bool]]:
    """Fabric path commands as drawn cubics, bounds cubics, bounds points, closed flags."""
    draw: list[tuple] = []  # subpath, p0, c1, c2, p3 (all as floats), is_curve
    curves: list[tuple] = []
    points: list[tuple] = []
    closed: list[bool] = []
    x = y = sx = sy = 0.0
    for cmd in path:
        op, a = str(cmd[0]).upper(), [float(v) for v in cmd[1:]]
        if op == "M" or not closed:
            closed.append(False)
            if op == "M":
                x, y = sx, sy = a[0], a[1]
            draw.append((len(closed) - 1, x, y, x, y, x, y, x, y, 0))
            if op == "M":
                continue
        sub, x0, y0 = len(closed) - 1, x, y
        if op in ("L", "Z"):
            x, y = (a[0], a[1]) if op == "L" else (sx, sy)
            closed[-1] = closed[-1] or op == "Z"
            draw.append((sub, x0, y0, x0, y0, x, y, x, y, 0))
            if op == "L":
                points += [(sx, sy), (x, y)]  # sic: Fabric bounds an L by the M and its end
        elif op == "Q":
            qx, qy, x, y = a[:4]
            k = 2 / 3  # a quadratic drawn as a cubic; Fabric's bounds use (p0, q, q, p1)
            draw.append((sub, x0, y0, x0 + k * (qx - x0), y0 + k * (qy - y0),
                         x + k * (qx - x), y + k * (qy - y), x, y, 1))  # fmt: skip
            curves.append((x0, y0, qx, qy, qx, qy, x, y))
        elif op == "C":
            x, y = a[4], a[5]
            draw.append((sub, x0, y0, *a[:6], 1))
            curves.append((x0, y0, *a[:6]))
    return draw, curves, points, closed


def _flatten_path(path: Iterable[Any]) -> tuple[list[np.ndarray], list[bool], np.ndarray]:
    """Subpaths of a Fabric path as point arrays, whether each is closed, and pathOffset."""
    draw, curves, points, closed = _path_rows(path)
    if not draw:
        return [], [], np.zeros(2)
    d = np.array(draw, dtype=float)
    p0, c1, c2, p3 = d[:, 1:3], d[:, 3:5], d[:, 5:7], d[:, 7:9]
    length = sum(np.hypot(*(q - p).T) for p, q in ((p0, c1), (c1, c2), (c2, p3)))
    n = np.where(d[:, 9] > 0, np.clip(np.ceil(length / _SEGMENT_PX), 1, 64), 1).astype(np.int64)
    seg = np.repeat(np.arange(len(d)), n)
    t = (np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n) + 1) / n[seg]
    pts = _bezier(p0[seg], c1[seg], c2[seg], p3[seg], t)
    subpaths = np.split(pts, np.flatnonzero(np.diff(d[seg, 0])) + 1)
    bounds = [np.array(points).reshape(-1, 2)]
    if curves:
        bounds.append(_curve_bounds(np.array(curves, dtype=float)))
    every = np.vstack(bounds)
    if len(every) == 0:
        every = p3
    return subpaths, closed, (every.min(axis=0) + every.max(axis=0)) / 2


def path_offset(path: Iterable[Any]) -> tuple[float, float]:
    """Fabric's pathOffset of a Path's commands: where an unmoved path's left/top (centre) is."""
    _, _, offset = _flatten_path(path)
    return float(offset[0]), float(offset[1])


def _has_fill(obj: Mapping[str, Any]) -> bool:
    fill = obj.get("fill")
    if not isinstance(fill, str):
        return fill is not None
    text = fill.replace(" ", "").lower()
    return text not in ("", "none", "transparent") and not text.endswith(",0)")


def _stroke(lines: list[np.ndarray], obj: Mapping[str, Any], m: Matrix) -> BaseGeometry:
    """Lines (local coordinates) drawn with the object's stroke, in canvas px."""
    sw = _num(obj, "strokeWidth", 1.0)
    if sw <= 0 or not lines:
        return _EMPTY
    style = {
        "cap_style": _CAPS.get(str(obj.get("strokeLineCap")), "flat"),
        "join_style": _JOINS.get(str(obj.get("strokeLineJoin")), "mitre"),
        "mitre_limit": _num(obj, "strokeMiterLimit", 4.0),
    }
    a, b, c, d, e, f = m
    det = a * d - b * c
    similar = math.isclose(a, d) and math.isclose(b, -c) and det > 0
    if obj.get("strokeUniform") or similar:  # transform, then buffer in canvas px
        width = sw if obj.get("strokeUniform") else sw * math.sqrt(det)
        world = [p @ np.array([[a, b], [c, d]]) + (e, f) for p in lines]
        return _buffer(world, width / 2, style)
    return _apply(_buffer(lines, sw / 2, style), m)


def _buffer(lines: list[np.ndarray], radius: float, style: dict[str, Any]) -> BaseGeometry:
    """Lines buffered by radius; a line of no length is a dot (round cap) or a square."""
    geoms = []
    for p in lines:
        if len(p) > 1 and np.ptp(p, axis=0).any():
            geoms.append(LineString(p).simplify(_CENTRELINE_TOLERANCE))
        elif style["cap_style"] != "flat":
            geoms.append(Point(p[0]))
    return shapely.union_all(shapely.buffer(geoms, radius, quad_segs=16, **style))


def _area(ring: np.ndarray) -> BaseGeometry:
    if len(ring) < 3:
        return _EMPTY
    return shapely.make_valid(Polygon(ring), method="structure", keep_collapsed=False)


def _ellipse(rx: float, ry: float, start: float = 0.0, end: float = 360.0) -> np.ndarray:
    sweep = min(abs(end - start), 360.0)
    n = max(64, min(720, math.ceil(2 * math.pi * max(rx, ry) / _SEGMENT_PX)))
    t = np.radians(start + sweep * np.arange(n) / n if sweep >= 360 else np.linspace(start, end, n))
    return np.column_stack([rx * np.cos(t), ry * np.sin(t)])


def _local_area(obj: Mapping[str, Any], kind: str) -> np.ndarray | None:
    w, h = _num(obj, "width", 0.0), _num(obj, "height", 0.0)
    if kind in ("rect", "labeledrect"):
        return np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    if kind == "triangle":
        return np.array([(-w / 2, h / 2), (0.0, -h / 2), (w / 2, h / 2)])
    if kind == "circle":
        r = _num(obj, "radius", w / 2)
        return _ellipse(r, r, _num(obj, "startAngle", 0.0), _num(obj, "endAngle", 360.0))
    if kind == "ellipse":
        return _ellipse(_num(obj, "rx", w / 2), _num(obj, "ry", h / 2))
    return None


def object_shape(obj: Mapping[str, Any]) -> BaseGeometry:
    """The area one object covers on the canvas, in canvas px (empty if it covers none)."""
    kind = str(obj.get("type", "")).lower()
    if obj.get("visible") is False:
        return _EMPTY
    m = object_matrix(obj)
    area = _local_area(obj, kind)
    if area is not None:  # filled shapes mask their fill area, not their outline
        return _apply(_area(area), m)
    if kind == "line":
        x1, y1 = _num(obj, "x1", 0.0), _num(obj, "y1", 0.0)
        x2, y2 = _num(obj, "x2", 0.0), _num(obj, "y2", 0.0)
        return _stroke([np.array([(x1, y1), (x2, y2)])], obj, m)
    if kind in ("polygon", "polyline"):
        pts = np.array([(float(p["x"]), float(p["y"])) for p in obj.get("points") or []])
        if len(pts) == 0:
            return _EMPTY
        pts = pts - (pts.min(axis=0) + pts.max(axis=0)) / 2
        if kind == "polygon":
            return _apply(_area(pts), m)
        return _stroke([pts], obj, m)
    if kind == "path":
        subpaths, closed, offset = _flatten_path(obj.get("path") or [])
        local = [p - offset for p in subpaths]
        shape = _stroke(local, obj, m)
        if _has_fill(obj):
            fills = [_area(p) for p, c in zip(local, closed, strict=True) if c or len(p) > 2]
            shape = shape.union(_apply(shapely.union_all(fills), m))
        return shape
    return _EMPTY


def is_eraser(obj: Mapping[str, Any]) -> bool:
    """Whether an object erases: composite "destination-out", or stroked in ERASER_COLOR."""
    if obj.get("globalCompositeOperation") == "destination-out":
        return True
    stroke = obj.get("stroke")
    return isinstance(stroke, str) and stroke.replace(" ", "").lower() == ERASER_COLOR


def painted_region(objects: Iterable[Mapping[str, Any]]) -> BaseGeometry:
    """The union of what was painted, erasers subtracted in drawing order, in canvas px."""
    region: BaseGeometry = _EMPTY
    batch: list[BaseGeometry] = []
    for obj in objects:
        shape = object_shape(obj)
        if shape.is_empty:
            continue
        if is_eraser(obj):
            region = shapely.union_all([region, *batch]).difference(shape)
            batch = []
        else:
            batch.append(shape)
    if batch:
        region = shapely.union_all([region, *batch])
    return shapely.make_valid(region) if not region.is_valid else region


def canvas_box(width: float, height: float) -> Polygon:
    """The canvas (or image) rectangle [0, width] x [0, height]."""
    return box(0.0, 0.0, width, height)
