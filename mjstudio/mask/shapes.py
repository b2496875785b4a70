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

from mjstudio.mask.paths import SEGMENT_PX, flatten


class MaskError(ValueError):
    """A mask (or its placement) that cannot be sent; the message is meant for the user."""


ERASER_COLOR = "rgba(254,254,254,0.65)"  # white chalk: reads as "taken away"
_ORIGIN = {"left": -0.5, "top": -0.5, "center": 0.0, "right": 0.5, "bottom": 0.5}
_CAPS = {"round": "round", "square": "square", "butt": "flat"}
_JOINS = {"round": "round", "bevel": "bevel", "miter": "mitre", "miter-clip": "mitre"}
_SEGMENT_PX = SEGMENT_PX  # curves and arcs are flattened into chords about this long
# A stroke's centre line may move by this share of its width before it is buffered (Douglas-
# Peucker): about 0.2% of a lone stroke's IoU, fewer vertices for the union to node.
CENTRELINE_SHARE = 0.005
QUAD_SEGS = 8  # per quarter circle of a round cap or join: chords within 0.5% of the radius
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


def _flatten_path(path: Iterable[Any]) -> tuple[list[np.ndarray], list[bool], np.ndarray]:
    """Subpaths of a Fabric path as point arrays, whether each is closed, and pathOffset."""
    flat = flatten([list(path)])
    subpaths, closed = flat.subpaths(0)
    return subpaths, closed, flat.offsets[0]


def path_offset(path: Iterable[Any]) -> tuple[float, float]:
    """Fabric's pathOffset of a Path's commands: where an unmoved path's left/top (centre) is."""
    _, _, offset = _flatten_path(path)
    return float(offset[0]), float(offset[1])


def has_fill(obj: Mapping[str, Any]) -> bool:
    """Whether the object has a visible fill (a Path with one masks its closed areas too)."""
    fill = obj.get("fill")
    if not isinstance(fill, str):
        return fill is not None
    text = fill.replace(" ", "").lower()
    return text not in ("", "none", "transparent") and not text.endswith(",0)")


def stroke_style(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object's cap, join and mitre limit as shapely buffer keywords."""
    return {
        "cap_style": _CAPS.get(str(obj.get("strokeLineCap")), "flat"),
        "join_style": _JOINS.get(str(obj.get("strokeLineJoin")), "mitre"),
        "mitre_limit": _num(obj, "strokeMiterLimit", 4.0),
    }


def world_width(obj: Mapping[str, Any], m: Matrix) -> float | None:
    """The stroke's width in canvas px when the transform keeps it round (uniform stroke or
    a similarity), else None: then the stroke is buffered in local coordinates."""
    a, b, c, d, _, _ = m
    det = a * d - b * c
    sw = _num(obj, "strokeWidth", 1.0)
    if obj.get("strokeUniform"):
        return sw
    similar = math.isclose(a, d) and math.isclose(b, -c) and det > 0
    return sw * math.sqrt(det) if similar else None


def _stroke(lines: list[np.ndarray], obj: Mapping[str, Any], m: Matrix) -> BaseGeometry:
    """Lines (local coordinates) drawn with the object's stroke, in canvas px."""
    sw = _num(obj, "strokeWidth", 1.0)
    if sw <= 0 or not lines:
        return _EMPTY
    style, width = stroke_style(obj), world_width(obj, m)
    if width is not None:  # transform, then buffer in canvas px
        a, b, c, d, e, f = m
        world = [p @ np.array([[a, b], [c, d]]) + (e, f) for p in lines]
        return _buffer(world, width / 2, style)
    return _apply(_buffer(lines, sw / 2, style), m)


def _buffer(lines: list[np.ndarray], radius: float, style: dict[str, Any]) -> BaseGeometry:
    """Lines buffered by radius; a line of no length is a dot (round cap) or a square."""
    geoms = []
    for p in lines:
        if len(p) > 1 and np.ptp(p, axis=0).any():
            geoms.append(
                LineString(p).simplify(CENTRELINE_SHARE * 2 * radius, preserve_topology=False)
            )
        elif style["cap_style"] != "flat":
            geoms.append(Point(p[0]))
    return shapely.union_all(shapely.buffer(geoms, radius, quad_segs=QUAD_SEGS, **style))


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
        if has_fill(obj):
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


def canvas_box(width: float, height: float) -> Polygon:
    """The canvas (or image) rectangle [0, width] x [0, height]."""
    return box(0.0, 0.0, width, height)
