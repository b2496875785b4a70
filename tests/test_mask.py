"""mjstudio.mask: canvas objects -> painted region -> upload-paint mask areas and PNG.

Truth comes from elsewhere: a scene rendered by the real component in Chromium (fixture at the
end), and shapes drawn independently with PIL's ImageDraw on a supersampled grid.
"""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from shapely import Point, Polygon, box

from mjstudio.mask import (
    ERASER_COLOR,
    Fit,
    MaskError,
    areas_region,
    build_mask,
    fit_to_provider_range,
    inverted,
    mask_areas,
    mask_data_url,
    mask_png,
    painted_region,
    placement,
    placement_for_aspect,
    scale_areas,
    to_image_pixels,
)
from mjstudio.maskraster import rasterize
from mjstudio.maskshapes import path_offset

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


# --- the real component -------------------------------------------------------------------


def scene():
    objects = json.loads(SCENE_JSON)
    alpha = Image.open(io.BytesIO(base64.b64decode(SCENE_ALPHA_PNG)))
    return objects, np.asarray(alpha.convert("L")) > 127


def coverage(mask: np.ndarray) -> np.ndarray:
    """A supersampled mask at 1x: pixels more than half covered."""
    h, w = mask.shape[0] // SS, mask.shape[1] // SS
    return mask.reshape(h, SS, w, SS).mean(axis=(1, 3)) > 0.5


def test_region_of_a_real_scene_matches_what_the_canvas_painted():
    objects, painted = scene()
    region = painted_region(objects)
    assert iou(coverage(geometry_mask(region, 600, 400)), painted) >= 0.99


def test_mask_of_a_real_scene_over_a_larger_image_matches_the_canvas():
    objects, painted = scene()
    result = build_mask({"version": "7.4.0", "objects": objects}, Fit.stretch(600, 400, 1200, 800))
    assert_valid_areas(result.areas, 1200, 800)
    on_canvas = shapely.affinity.scale(areas_region(result.areas), 0.5, 0.5, origin=(0, 0))
    assert iou(coverage(geometry_mask(on_canvas, 600, 400)), painted) >= 0.99
    assert result.painted_fraction == pytest.approx(painted.mean(), rel=0.02)


def test_fresh_strokes_sit_where_fabric_put_them():
    """The component's left/top of an unmoved stroke is Fabric's pathOffset: we agree."""
    objects, _ = scene()
    unmoved = [o for o in objects[6:] if o["type"] == "Path"]
    assert len(unmoved) == 3
    for obj in unmoved:
        assert path_offset(obj["path"]) == pytest.approx((obj["left"], obj["top"]), abs=0.01)


# --- brush strokes and shapes against independent truth -----------------------------------


@FAST
@given(
    strokes=st.lists(
        st.tuples(
            st.tuples(st.floats(20, 236), st.floats(20, 236)),
            st.floats(0, 2 * math.pi),
            walks,
            st.floats(20, 48),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_brush_strokes_match_truth(strokes):
    truth, objects = Truth(256, 256, ss=8), []
    for start, heading, steps, width in strokes:
        pts = walk(start, heading, steps, 256)
        objects.append(brush(pts, width))
        truth.stroke(quad_samples(pts), width)
    assert iou(geometry_mask(painted_region(objects), 256, 256, ss=8), truth.mask()) >= 0.99


@FAST
@given(
    start=st.tuples(st.floats(30, 480), st.floats(30, 480)),
    heading=st.floats(0, 2 * math.pi),
    steps=walks,
    width=st.floats(60, 100),
)
def test_brush_mask_areas_match_truth(start, heading, steps, width):
    """A 512 px canvas over a 1024 px image: a 60-100 px brush paints 120-200 image px.
    (Integer points alone cost a 100 px dab about 1% of IoU.)"""
    pts = walk(start, heading, steps, 512)
    truth = Truth(512, 512)
    truth.stroke(quad_samples(pts), width)
    result = build_mask([brush(pts, width)], Fit.stretch(512, 512, 1024, 1024))
    assert_valid_areas(result.areas, 1024, 1024)
    on_canvas = shapely.affinity.scale(areas_region(result.areas), 0.5, 0.5, origin=(0, 0))
    assert iou(geometry_mask(on_canvas, 512, 512), truth.mask()) >= 0.99


@FAST
@given(
    dx=st.floats(-60, 60),
    dy=st.floats(-60, 60),
    angle=st.floats(-180, 180),
    scale=st.floats(0.75, 2.0),
    steps=walks,
)
def test_moved_rotated_scaled_brush_matches_truth(dx, dy, angle, scale, steps):
    pts = walk((150.0, 150.0), 0.3, steps, 300)
    obj = brush(pts, 30, dx=dx, dy=dy, angle=angle, scale=scale)
    truth = Truth(300, 300, ss=8)
    brush_truth(truth, obj, pts)
    assert iou(geometry_mask(painted_region([obj]), 300, 300, ss=8), truth.mask()) >= 0.99


def transformed_points(local, centre, angle, sx, sy, flip):
    """Local points (relative to the object's centre) on the canvas."""
    out = []
    for x, y in local:
        rx, ry = rotate((x * sx * (-1 if flip else 1), y * sy), angle)
        out.append((centre[0] + rx, centre[1] + ry))
    return out


@FAST
@given(
    kind=st.sampled_from(["rect", "circle", "polygon"]),
    as_drawn=st.booleans(),
    angle=st.floats(-180, 180),
    sx=st.floats(0.75, 2.0),
    sy=st.floats(0.75, 2.0),
    flip=st.booleans(),
    sw=st.floats(1, 30),
)
def test_rotated_scaled_shapes_mask_their_fill_area(kind, as_drawn, angle, sx, sy, flip, sw):
    """Shapes edited in place; as_drawn keeps the tool's origin (rect left/top, circle
    left/center), whose offset to the centre counts the stroke: Fabric's own rule."""
    centre = (200.0, 200.0)
    if kind == "rect":
        local = [(-80, -50), (80, -50), (80, 50), (-80, 50)]
        obj = rect_tool(0, 0, 160, 100, sw)  # strokeUniform, as the rect tool makes it
        half = ((160 * sx + sw) / 2, (100 * sy + sw) / 2)
    elif kind == "circle":
        t = np.linspace(0, 2 * math.pi, 2000, endpoint=False)
        local = list(zip(60 * np.cos(t), 60 * np.sin(t), strict=True))
        obj = circle_tool(0, 0, 60, 0, sw)
        half = ((120 + sw) * sx / 2, 0.0)
    else:
        local = [(-90, -50), (80, -60), (20, 10), (90, 60), (-60, 40)]
        obj = polygon_tool(local, sw)
        as_drawn = False  # the polygon tool's origin is the centre already
    obj |= {"scaleX": sx, "scaleY": sy, "angle": angle, "flipX": flip}
    if as_drawn:  # where the origin point sits when the centre is at `centre`
        ox, oy = rotate(half, angle)
        obj |= {"left": centre[0] - ox, "top": centre[1] - oy}
    else:
        obj |= {"originX": "center", "originY": "center", "left": centre[0], "top": centre[1]}
    truth = Truth(400, 400)
    truth.polygon(transformed_points(local, centre, angle, sx, sy, flip))
    assert iou(geometry_mask(painted_region([obj]), 400, 400), truth.mask()) >= 0.99


def test_rect_tool_masks_the_area_inside_its_outline():
    region = painted_region([rect_tool(100, 50, 200, 120, sw=20)])
    assert region.bounds == pytest.approx((100, 50, 300, 170))
    assert region.area == pytest.approx(200 * 120)


def test_circle_tool_is_an_ellipse_when_scaled():
    obj = circle_tool(300, 200, 80, drag_angle=35, sw=10, scaleX=1.5, scaleY=0.5)
    region = painted_region([obj])
    assert region.area == pytest.approx(math.pi * 80 * 1.5 * 80 * 0.5, rel=0.005)


def test_line_is_its_stroke_with_coordinates_relative_to_the_centre():
    obj = {"type": "Line", "left": 150, "top": 150, "x1": -100, "y1": 100, "x2": 100}
    obj |= {"y2": -100, "width": 200, "height": 200, "strokeWidth": 40, "strokeLineCap": "butt"}
    n = 20 / math.sqrt(2)  # butt ends: a 40 px band from (50, 250) to (250, 50)
    band = [(50 - n, 250 - n), (250 - n, 50 - n), (250 + n, 50 + n), (50 + n, 250 + n)]
    truth = Truth(300, 300, ss=8)
    truth.polygon(band)
    assert iou(geometry_mask(painted_region([obj]), 300, 300, ss=8), truth.mask()) >= 0.99
    round_cap = painted_region([obj | {"strokeLineCap": "round"}])
    assert round_cap.area == pytest.approx(40 * 200 * math.sqrt(2) + math.pi * 400, rel=0.01)


def test_erasers_subtract_in_drawing_order():
    first = [(40 + 8 * i, 150) for i in range(40)]
    cut = [(200, 40 + 8 * i) for i in range(30)]
    again = [(170 + 6 * i, 160) for i in range(10)]
    objects = [
        brush(first, 40),
        brush(cut, 30, globalCompositeOperation="destination-out"),
        brush(again, 20),
        brush([(60, 60), (64, 62)], 30, stroke=ERASER_COLOR),  # erases nothing painted
    ]
    truth = Truth(400, 300)
    truth.stroke(quad_samples(first), 40)
    truth.stroke(quad_samples(cut), 30, value=0)
    truth.stroke(quad_samples(again), 20)
    region = painted_region(objects)
    assert iou(geometry_mask(region, 400, 300), truth.mask()) >= 0.99
    assert not region.contains(Point(200, 130))  # erased, and not painted back there
    assert region.contains(Point(200, 160))  # painted back


def test_the_eraser_colour_erases_like_destination_out():
    stroke = [(40 + 8 * i, 150) for i in range(40)]
    cut = [(200, 40 + 8 * i) for i in range(30)]
    by_colour = painted_region(
        [brush(stroke, 40), brush(cut, 30, stroke=" RGBA(254, 254, 254, 0.65)")]
    )
    by_mode = painted_region(
        [brush(stroke, 40), brush(cut, 30, globalCompositeOperation="destination-out")]
    )
    assert by_colour.symmetric_difference(by_mode).area < 1


def test_strokes_crossing_the_image_edge_are_clipped():
    pts = [(-80 + 10 * i, 40 + 6 * i) for i in range(80)]  # off the left, out at the bottom
    truth = Truth(600, 500)
    truth.stroke(quad_samples(pts), 60)
    result = build_mask([brush(pts, 60)], Fit.stretch(600, 500, 600, 500))
    assert_valid_areas(result.areas, 600, 500)
    assert iou(areas_mask(result.areas, 600, 500), truth.mask()) >= 0.99


def test_hidden_text_and_unknown_objects_paint_nothing():
    objects = [
        {"type": "IText", "left": 10, "top": 10, "width": 100, "height": 30, "text": "hi"},
        {**rect_tool(10, 10, 100, 100), "visible": False},
        {"type": "Image", "left": 0, "top": 0, "width": 600, "height": 600},
    ]
    assert painted_region(objects).is_empty


# --- splitting into simple polygons -------------------------------------------------------


def test_a_donut_is_split_into_simple_pieces():
    objects = [
        circle_tool(512, 512, 300, 0, sw=0),
        circle_tool(512, 512, 150, 0, sw=0, globalCompositeOperation="destination-out"),
    ]
    result = build_mask(objects, Fit.stretch(1024, 1024, 1024, 1024))
    assert len(result.areas) >= 2
    assert_valid_areas(result.areas, 1024, 1024)
    truth = Truth(1024, 1024)
    truth.disc(512, 512, 300)
    truth.disc(512, 512, 150, value=0)
    assert iou(areas_mask(result.areas, 1024, 1024), truth.mask()) >= 0.99


@FAST
@given(
    blobs=st.lists(
        st.tuples(st.floats(0, 600), st.floats(0, 600), st.floats(40, 160)), min_size=1, max_size=5
    ),
    holes=st.lists(st.tuples(st.floats(0, 600), st.floats(0, 600), st.floats(5, 60)), max_size=8),
    tolerance=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_areas_are_simple_clockwise_integer_polygons_covering_the_region(blobs, holes, tolerance):
    region = shapely.union_all([Point(x, y).buffer(r) for x, y, r in blobs])
    region = region.difference(shapely.union_all([Point(x, y).buffer(r) for x, y, r in holes]))
    region = region.intersection(box(0, 0, 600, 600))
    areas = mask_areas(region, 600, 600, tolerance=tolerance)
    assert_valid_areas(areas, 600, 600)
    # simplifying moves the outline by at most tolerance, rounding by at most 0.71 px
    moved = areas_region(areas).symmetric_difference(region).area
    assert moved <= (tolerance + 0.71) * region.boundary.length


def test_tiny_regions_vanish_rather_than_break():
    assert mask_areas(box(10, 10, 10.3, 10.3), 600, 600) == []
    with pytest.raises(MaskError, match="too small"):
        build_mask([brush([(100, 100), (100.2, 100)], 0.4)], Fit.stretch(600, 600, 600, 600))


# --- fits: canvas px -> image px ----------------------------------------------------------


def test_default_fit_is_identity_when_canvas_is_the_image():
    fit = Fit.stretch(1024, 768, 1024, 768)
    result = build_mask([rect_tool(100, 100, 200, 100)], fit)
    assert result.areas == [
        {"width": 1024, "height": 768, "points": [100, 100, 300, 100, 300, 200, 100, 200]}
    ]
    assert placement(1024, 768) == (
        {"width": 1024, "height": 768},
        {"x": 0, "y": 0, "width": 1024, "height": 768},
    )


def test_a_600px_canvas_over_a_1200px_image_doubles_coordinates():
    fit = Fit.resolve(None, 600, 600, 1200, 1200)
    result = build_mask([rect_tool(100, 100, 100, 50)], fit)
    assert result.areas[0]["points"] == [200, 200, 400, 200, 400, 300, 200, 300]
    assert result.painted_fraction == pytest.approx(200 * 100 / 1200**2)


def test_contain_fit_as_the_component_reports_it():
    reported = {"natural_width": 1200, "natural_height": 800, "scale_x": 0.5, "scale_y": 0.5}
    reported |= {"offset_x": 0, "offset_y": 100}  # a 600x600 canvas, letterboxed
    fit = Fit.from_component(reported)
    camel = {"naturalWidth": 1200, "naturalHeight": 800, "scaleX": 0.5, "scaleY": 0.5}
    assert Fit.from_component(camel | {"offsetX": 0, "offsetY": 100}) == fit
    assert Fit.contain(600, 600, 1200, 800) == fit
    assert Fit.resolve(reported, 600, 600, 1200, 800) == fit
    region = to_image_pixels(box(290, 290, 310, 310), fit)
    assert region.bounds == pytest.approx((580, 380, 620, 420))
    with pytest.raises(MaskError, match="outside the image"):
        build_mask([rect_tool(100, 20, 200, 60)], fit)  # in the top letterbox only


def test_a_resized_fit_keeps_the_placement():
    fit = Fit.stretch(600, 600, 300, 300).resized(600, 600)
    assert fit == Fit.stretch(600, 600, 600, 600)


# --- errors and provider limits -----------------------------------------------------------


@pytest.mark.parametrize("drawing", [None, [], {"version": "7.4.0", "objects": []}])
def test_nothing_painted_asks_to_paint(drawing):
    with pytest.raises(MaskError, match="Paint the region to regenerate first"):
        build_mask(drawing, Fit.stretch(600, 600, 600, 600))


def test_everything_erased_asks_to_paint():
    objects = [
        rect_tool(100, 100, 50, 50),
        rect_tool(90, 90, 80, 80, globalCompositeOperation="destination-out"),
    ]
    with pytest.raises(MaskError, match="Paint the region"):
        build_mask(objects, Fit.stretch(600, 600, 600, 600))


@pytest.mark.parametrize(("w", "h", "hint"), [(300, 300, "500x500"), (5000, 5000, "4096x4096")])
def test_images_outside_the_provider_range_are_refused(w, h, hint):
    with pytest.raises(MaskError, match=hint):
        build_mask([rect_tool(10, 10, 50, 50)], Fit.stretch(600, 600, w, h))


def test_fit_to_provider_range():
    assert fit_to_provider_range(1024, 768) == (1024, 768, 1.0)
    assert fit_to_provider_range(300, 200) == (750, 500, 2.5)
    assert fit_to_provider_range(8192, 4096) == (4096, 2048, 0.5)
    with pytest.raises(MaskError, match="too narrow"):
        fit_to_provider_range(5000, 300)


def test_scale_areas_follows_a_resized_image():
    areas = mask_areas(box(10, 20, 110, 70).union(Point(200, 150).buffer(40)), 300, 200)
    w, h, s = fit_to_provider_range(300, 200)
    scaled = scale_areas(areas, s)
    assert_valid_areas(scaled, w, h)
    expected = shapely.affinity.scale(areas_region(areas), s, s, origin=(0, 0))
    union = areas_region(scaled)
    assert union.intersection(expected).area / union.union(expected).area >= 0.99


def test_inverting_everything_painted_is_refused():
    with pytest.raises(MaskError, match="inverted mask is empty"):
        build_mask([rect_tool(0, 0, 600, 600)], Fit.stretch(600, 600, 600, 600), invert=True)


def test_invert_regenerates_the_rest():
    objects = [rect_tool(100, 100, 200, 200)]
    fit = Fit.stretch(600, 600, 600, 600)
    plain, flipped = build_mask(objects, fit), build_mask(objects, fit, invert=True)
    assert plain.painted_fraction + flipped.painted_fraction == pytest.approx(1.0)
    assert_valid_areas(flipped.areas, 600, 600)
    region = inverted(box(100, 100, 300, 300), 600, 600)
    assert areas_region(flipped.areas).symmetric_difference(region).area == pytest.approx(0)


# --- the PNG ------------------------------------------------------------------------------


def test_mask_png_is_white_exactly_where_the_areas_are():
    objects, _ = scene()
    result = build_mask(objects, Fit.stretch(600, 400, 750, 500))
    image = Image.open(io.BytesIO(result.png))
    assert image.size == (750, 500) and image.format == "PNG"
    assert set(np.unique(np.asarray(image.convert("L")))) <= {0, 255}
    white = np.asarray(image.convert("L")) > 127
    assert iou(white, coverage(areas_mask(result.areas, 750, 500))) >= 0.99
    assert result.data_url.startswith("data:image/png;base64,")
    assert result.mask_field() == {"areas": result.areas}
    assert result.mask_field(as_url=True) == {"url": result.data_url}


def test_mask_png_of_a_box_counts_its_pixels():
    png = mask_png(box(10, 20, 110, 70), 600, 500)
    white = np.asarray(Image.open(io.BytesIO(png)).convert("L")) > 127
    assert white.sum() == 100 * 50 and white[20:70, 10:110].all()
    assert mask_data_url(box(10, 20, 110, 70), 600, 500).endswith(base64.b64encode(png).decode())


# --- placing the image on a larger canvas (extending it) ----------------------------------


def test_zoom_out_centres_the_image_on_a_larger_canvas():
    canvas, pos = placement(1024, 768, zoom_out=1.5)
    assert canvas == {"width": 1536, "height": 1152}
    assert pos == {"x": 256, "y": 192, "width": 1024, "height": 768}
    _, pos = placement(1000, 1000, 2.0, anchor="top-left")
    assert (pos["x"], pos["y"]) == (0, 0)
    _, pos = placement(1000, 1000, 2.0, anchor=(1.0, 0.5))
    assert (pos["x"], pos["y"]) == (1000, 500)


def test_placement_for_an_aspect_ratio_extends_one_side():
    canvas, pos = placement_for_aspect(1024, 1024, "16:9")
    assert canvas == {"width": 1821, "height": 1024}
    assert pos == {"x": 398, "y": 0, "width": 1024, "height": 1024}
    canvas, pos = placement_for_aspect(1600, 900, "1:1", anchor="bottom")
    assert canvas == {"width": 1600, "height": 1600} and pos["y"] == 700
    assert placement_for_aspect(1024, 768, 4 / 3).canvas == {"width": 1024, "height": 768}


@pytest.mark.parametrize(
    "call",
    [
        lambda: placement(1000, 1000, zoom_out=0.5),
        lambda: placement(1000, 1000, zoom_out=3),
        lambda: placement(1000, 1000, 1.5, anchor="middle"),
        lambda: placement_for_aspect(1000, 1000, "wide"),
        lambda: placement_for_aspect(1000, 1000, "0:1"),
    ],
)
def test_bad_placements_are_refused(call):
    with pytest.raises(MaskError):
        call()


# A scene drawn in Chromium on the real component (600x400 canvas): the JSON it returned,
# trimmed to the keys that matter, and the alpha of the PNG it rendered (1 bit, base64).
# Shapes were given a transparent stroke so the render shows exactly their fill areas; the
# rect was rotated, the ellipse scaled, one stroke moved, one scaled and rotated, and one
# made an eraser (globalCompositeOperation destination-out) before a later stroke over it.
SCENE_JSON = (
    '[{"type":"Rect","originX":"left","originY":"top","left":380,"top":240,"width":140,"height":1'
    '30,"fill":"rgba(255,0,0,1)","stroke":"rgba(0,0,0,0)","strokeWidth":4,"strokeLineCap":"butt",'
    '"strokeLineJoin":"miter","strokeUniform":true,"scaleX":1,"scaleY":1,"angle":20,"flipX":false'
    ',"flipY":false,"globalCompositeOperation":"source-over","skewX":0,"skewY":0},{"radius":67.26'
    '812023536856,"startAngle":0,"endAngle":360,"type":"Circle","originX":"left","originY":"cente'
    'r","left":420,"top":60,"width":134.5362,"height":134.5362,"fill":"rgba(255,0,0,1)","stroke":'
    '"rgba(0,0,0,0)","strokeWidth":4,"strokeLineCap":"butt","strokeLineJoin":"miter","strokeUnifo'
    'rm":false,"scaleX":1.4,"scaleY":0.8,"angle":41.9872,"flipX":false,"flipY":false,"globalCompo'
    'siteOperation":"source-over","skewX":0,"skewY":0},{"type":"Polygon","originX":"center","orig'
    'inY":"center","left":200,"top":265,"width":140,"height":130,"fill":"rgba(255,0,0,1)","stroke'
    '":"rgba(0,0,0,0)","strokeWidth":4,"strokeLineCap":"butt","strokeLineJoin":"miter","strokeUni'
    'form":false,"scaleX":1,"scaleY":1,"angle":-15,"flipX":false,"flipY":false,"globalCompositeOp'
    'eration":"source-over","skewX":0,"skewY":0,"points":[{"x":120,"y":220},{"x":230,"y":200},{"x'
    '":260,"y":330},{"x":150,"y":280}]},{"type":"Path","originX":"center","originY":"center","lef'
    't":233,"top":159.5,"width":316.06,"height":99,"fill":null,"stroke":"rgba(0,0,255,1)","stroke'
    'Width":30,"strokeLineCap":"round","strokeLineJoin":"round","strokeUniform":false,"scaleX":1,'
    '"scaleY":1,"angle":0,"flipX":false,"flipY":false,"globalCompositeOperation":"source-over","s'
    'kewX":0,"skewY":0,"path":[["M",59.97,149.97],["Q",60,150,62,153],["Q",64,156,66,159],["Q",68'
    ',162,70,165],["Q",72,168,74,170.5],["Q",76,173,78,176],["Q",80,179,82,181.5],["Q",84,184,86,'
    '186],["Q",88,188,90,190],["Q",92,192,94,193.5],["Q",96,195,98,196],["Q",100,197,102,198],["Q'
    '",104,199,106,199],["Q",108,199,110,199],["Q",112,199,114,199],["Q",116,199,118,198],["Q",12'
    '0,197,122,196],["Q",124,195,126,193.5],["Q",128,192,130,190],["Q",132,188,134,186],["Q",136,'
    '184,138,181.5],["Q",140,179,142,176.5],["Q",144,174,146,171.5],["Q",148,169,150,166],["Q",15'
    '2,163,154,160],["Q",156,157,158,153.5],["Q",160,150,162,147],["Q",164,144,166,141],["Q",168,'
    '138,170,135],["Q",172,132,174,129],["Q",176,126,178,123.5],["Q",180,121,182,118.5],["Q",184,'
    '116,186,114],["Q",188,112,190,110],["Q",192,108,194,106.5],["Q",196,105,198,103.5],["Q",200,'
    '102,202,101.5],["Q",204,101,206,100.5],["Q",208,100,210,100],["Q",212,100,214,100],["Q",216,'
    '100,218,101],["Q",220,102,222,103],["Q",224,104,226,105.5],["Q",228,107,230,108.5],["Q",232,'
    '110,234,112],["Q",236,114,238,116.5],["Q",240,119,242,121.5],["Q",244,124,246,127],["Q",248,'
    '130,250,133],["Q",252,136,254,139],["Q",256,142,258,145],["Q",260,148,262,151],["Q",264,154,'
    '266,157],["Q",268,160,270,163],["Q",272,166,274,169],["Q",276,172,278,174.5],["Q",280,177,28'
    '2,179.5],["Q",284,182,286,184.5],["Q",288,187,290,189],["Q",292,191,294,192.5],["Q",296,194,'
    '298,195],["Q",300,196,302,197],["Q",304,198,306,198.5],["Q",308,199,310,199],["Q",312,199,31'
    '4,199],["Q",316,199,318,198.5],["Q",320,198,322,197],["Q",324,196,326,194.5],["Q",328,193,33'
    '0,191],["Q",332,189,334,187],["Q",336,185,338,183],["Q",340,181,342,178.5],["Q",344,176,346,'
    '173],["Q",348,170,350,167],["Q",352,164,354,161],["Q",356,158,358,155],["Q",360,152,362,149]'
    ',["Q",364,146,366,143],["Q",368,140,372,134],["L",376.03,127.97]]},{"type":"Line","originX":'
    '"center","originY":"center","left":290,"top":320,"width":80,"height":120,"fill":"rgba(0,0,25'
    '5,1)","stroke":"rgba(0,0,255,1)","strokeWidth":18,"strokeLineCap":"butt","strokeLineJoin":"m'
    'iter","strokeUniform":false,"scaleX":1,"scaleY":1,"angle":0,"flipX":false,"flipY":false,"glo'
    'balCompositeOperation":"source-over","skewX":0,"skewY":0,"x1":-40,"x2":40,"y1":60,"y2":-60},'
    '{"type":"Path","originX":"center","originY":"center","left":115,"top":315.9991,"width":170.0'
    '24,"height":27.979,"fill":null,"stroke":"rgba(0,0,255,1)","strokeWidth":12,"strokeLineCap":"'
    'round","strokeLineJoin":"round","strokeUniform":false,"scaleX":1.2,"scaleY":1.2,"angle":10,"'
    'flipX":false,"flipY":false,"globalCompositeOperation":"source-over","skewX":0,"skewY":0,"pat'
    'h":[["M",29.988,329.988],["Q",30,330,55,315],["Q",80,300,140,305],["L",200.012,310.012]]},{"'
    'type":"Path","originX":"center","originY":"center","left":309,"top":187.5,"width":118.06,"he'
    'ight":295.06,"fill":null,"stroke":"rgba(0,0,255,1)","strokeWidth":30,"strokeLineCap":"round"'
    ',"strokeLineJoin":"round","strokeUniform":false,"scaleX":1,"scaleY":1,"angle":0,"flipX":fals'
    'e,"flipY":false,"globalCompositeOperation":"destination-out","skewX":0,"skewY":0,"path":[["M'
    '",249.97,39.97],["Q",250,40,251,42.5],["Q",252,45,253,47.5],["Q",254,50,255,52.5],["Q",256,5'
    '5,257,57.5],["Q",258,60,259,62.5],["Q",260,65,261,67.5],["Q",262,70,263,72.5],["Q",264,75,26'
    '5,77.5],["Q",266,80,267,82.5],["Q",268,85,269,87.5],["Q",270,90,271,92.5],["Q",272,95,273,97'
    '.5],["Q",274,100,275,102.5],["Q",276,105,277,107.5],["Q",278,110,279,112.5],["Q",280,115,281'
    ',117.5],["Q",282,120,283,122.5],["Q",284,125,285,127.5],["Q",286,130,287,132.5],["Q",288,135'
    ',289,137.5],["Q",290,140,291,142.5],["Q",292,145,293,147.5],["Q",294,150,295,152.5],["Q",296'
    ',155,297,157.5],["Q",298,160,299,162.5],["Q",300,165,301,167.5],["Q",302,170,303,172.5],["Q"'
    ',304,175,305,177.5],["Q",306,180,307,182.5],["Q",308,185,309,187.5],["Q",310,190,311,192.5],'
    '["Q",312,195,313,197.5],["Q",314,200,315,202.5],["Q",316,205,317,207.5],["Q",318,210,319,212'
    '.5],["Q",320,215,321,217.5],["Q",322,220,323,222.5],["Q",324,225,325,227.5],["Q",326,230,327'
    ',232.5],["Q",328,235,329,237.5],["Q",330,240,331,242.5],["Q",332,245,333,247.5],["Q",334,250'
    ',335,252.5],["Q",336,255,337,257.5],["Q",338,260,339,262.5],["Q",340,265,341,267.5],["Q",342'
    ',270,343,272.5],["Q",344,275,345,277.5],["Q",346,280,347,282.5],["Q",348,285,349,287.5],["Q"'
    ',350,290,351,292.5],["Q",352,295,353,297.5],["Q",354,300,355,302.5],["Q",356,305,357,307.5],'
    '["Q",358,310,359,312.5],["Q",360,315,361,317.5],["Q",362,320,363,322.5],["Q",364,325,366,330'
    '],["L",368.03,335.03]]},{"type":"Path","originX":"center","originY":"center","left":358.5,"t'
    'op":122,"width":117.06,"height":124.06,"fill":null,"stroke":"rgba(0,0,255,1)","strokeWidth":'
    '30,"strokeLineCap":"round","strokeLineJoin":"round","strokeUniform":false,"scaleX":1,"scaleY'
    '":1,"angle":0,"flipX":false,"flipY":false,"globalCompositeOperation":"source-over","skewX":0'
    ',"skewY":0,"path":[["M",299.97,59.97],["Q",300,60,301.5,61.5],["Q",303,63,304.5,64.5],["Q",3'
    '06,66,307.5,67.5],["Q",309,69,310.5,70.5],["Q",312,72,313.5,74],["Q",315,76,316.5,77.5],["Q"'
    ',318,79,319.5,80.5],["Q",321,82,322.5,83.5],["Q",324,85,325.5,86.5],["Q",327,88,328.5,90],["'
    'Q",330,92,331.5,93.5],["Q",333,95,334.5,96.5],["Q",336,98,337.5,99.5],["Q",339,101,340.5,102'
    '.5],["Q",342,104,343.5,106],["Q",345,108,346.5,109.5],["Q",348,111,349.5,112.5],["Q",351,114'
    ',352.5,115.5],["Q",354,117,355.5,118.5],["Q",357,120,358.5,122],["Q",360,124,361.5,125.5],["'
    'Q",363,127,364.5,128.5],["Q",366,130,367.5,131.5],["Q",369,133,370.5,134.5],["Q",372,136,373'
    '.5,138],["Q",375,140,376.5,141.5],["Q",378,143,379.5,144.5],["Q",381,146,382.5,147.5],["Q",3'
    '84,149,385.5,150.5],["Q",387,152,388.5,154],["Q",390,156,391.5,157.5],["Q",393,159,394.5,160'
    '.5],["Q",396,162,397.5,163.5],["Q",399,165,400.5,166.5],["Q",402,168,403.5,170],["Q",405,172'
    ',406.5,173.5],["Q",408,175,409.5,176.5],["Q",411,178,414,181],["L",417.03,184.03]]},{"type":'
    '"Path","originX":"center","originY":"center","left":585,"top":385,"width":0.02,"height":0,"f'
    'ill":null,"stroke":"rgba(0,0,255,1)","strokeWidth":10,"strokeLineCap":"round","strokeLineJoi'
    'n":"round","strokeUniform":false,"scaleX":1,"scaleY":1,"angle":0,"flipX":false,"flipY":false'
    ',"globalCompositeOperation":"source-over","skewX":0,"skewY":0,"path":[["M",584.99,385],["L",'
    "585.01,385]]}]"
)
SCENE_ALPHA_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAlgAAAGQAQAAAABaTiM1AAAM2UlEQVR42u1dPY7cyhGu7hksCWOxM3iRAsHDI2yowMAS"
    "PomOoNCBgSXeCXSEPQphvOCF7wh8hoINKUMBV+CyHfCvq7u6upocO5oGBGmHnI/VVV/9klwB3NZt3dZt3dZt3dZt3dZt"
    "3dZt3db/ZxnRWVpyUgbN1bByOF8N6wz51bA+w93VsACU94GpN5rRmMr56Nn/SCaUMa4UmTGm37hHKPCPnwDgsEWwgzGm"
    "9XZtTLdRLkyKw0ThdKzj9Ad/AuB6g1QufN4H9FcqlqIskW3DAmS0cvo7na+ZcQlmptVuk6ugNny/DYv80mEb1tmnxBaF"
    "HVySnwypMLFcR1LGfBMWfeJdKtbgknW1qaoSsYxPVo+14j1Wzresfz5u4lchiEWC9eSY36xrSJWrCUugUrFa8KIhxXwR"
    "VofPVAE1KpET9ehUZSvpLU+Ta2AIdkzco8Gs0gHHkfGLyaqWF8mw6jBZLSeQYTVuNCQNKcNqGXc5J2J1DFkTOQE9c+pd"
    "ItbA0FolYuFoeAwQJiU/lpGPhVgVQ7AiEatmCHZOxGKi4fqxEAtFwz4QKYRYHXOuTsTqJQQTYnHRcPlYiGUkvOOwTlbL"
    "UzFkLURtUIfTbWPVY9Zq43I92EU3Fw0Fuv9iZ1I7Gg7JNYVCRURm1i5POXvso3JpVHT3ArKGse7RYUk01HwRriqClSZA"
    "Vs00/zalDBcNJQ37SimAZ+snR/dzr6QjTd4HSTQsIljaCU52NKzoyKpZM1rH23i61ZFeajFkF48qOlaCl4JoeIxglQ7m"
    "QNe7oiDodXXGLGOdJ5cUPKTygoAVDZs0fWkvY3G1YcViHZNqw1KWOzQRDdu0Peae4rjasGCxzl72s6JhR5+tk7pFvuXR"
    "0bqtFKTuXERVa5Cz/uQmyCmPJtSYTG145LAUobk1Gg60prRcjWM0vNSi0Qr98RlHw+aNSESKkysHADBnvzY8wF3Qmpzu"
    "f/7wa0MvZVp20QztX98Rd4aVcHWKXMWo7IqqDYsQtTVD+xpekBkqbNIkfVVOcKn9aZ+kzJxGNXi0flkc5uQ6UROWS026"
    "7tEZLfBFkWb7g8EnGB3AGH3p6QuGCllHryOaiKPDLtS6BO+lqYH25dpvZMhAwWDlMwUaWzYTbmmOYazzTM02MNap0vZo"
    "/NBfb9FXQRu/4SsdHXTHwTddyzuk5lvZAflatxxo5XlzKbyUXZZPuawDwiGDcqllQwbFhWGRrmP3qIb4dM/wLrBgPaga"
    "f9iEkFuK+JWNdbZ0fFzNXqNioZbx67N7R4sy/lIbmkgx0lsDgKU2vqB7lqelEHl27GjvUdkmta7cBgJSnZg7AhGUtEyJ"
    "e2WF3HGgLnfG7AvIdQwE0T7AjE66xxLFUq8WKwPX0BRE6MLTGUWEX7l7ThseMJ2DEX9lTmNPTJq1Z6+cirgj+vfG2eM5"
    "THg/SlW8vnL7s3p1wVJIVh2rYRv/5FAY0SGMKnwRBQDwymPZNjWWPQuKrL1sj+eQQ+ZumqKxOsdMA4V9tuhvInJV66k9"
    "F9nPtEI1745YwMItXWis3gGh1LQcP9Kk0Pbli3WrbbA8mr/UeplAR/vgauVdZZ/xIyiXccjAu2NFkkLbh3PKHHXAOoa3"
    "45Fy3YaYnxYkKbR/+ZztW9dOuQ5iOYaorACr6Ljxh6sJ7SvXyfEdFvjL8q+ODdJjNH7Ct8CzuRyAizFmWIfcKljLdX6x"
    "unhE5eZNTbJY+57oRKcBp/MhHC41ul7BDndKAOgtaV4g0IgsiUy5z5EsI50xnz0vBVXmPGKgvcDkOS7yws6ilasIjaTM"
    "6UlKQUeHIaj7asLJXdeucRZaD1kJnbiFoSn/aKb4MV2kJZWPsepJJQXbn9c23V+xc2jsaJXFMbejKjyN96ERwWka4blP"
    "kUA2jfAmMqi1yF6r6ZrAasZTSaz5gHX8yS7J0VeMMe3Yi6GkeLBceRiFGezvLHJqvPl8tHxPZEg9/9vaz0/kQhp/5UiE"
    "JmPRqx+NNDgMG6hEcRgfKhrNco+Ik1s26x2G9Q7WePna2sEvyCEfqT70m0s018CziVdrLcVuM3bKrfOliumHxkmx8vNu"
    "M15ixfrqOKZLlsnEJ7Mwb5GgRgFtZkrnxejGUd3j6kkVEri0CiJTAMDvdCayHsRa2JyZahZ7/LnDau6BweonTtcz8Ws/"
    "1fG9Vee6gHTuRWD1GPXLEmUMM1MNLIUaJWVlI9NMWbuTymWQRe+oEYcYC+dhe1pRn+MT1hDvaxhvI+cu8+Q6e7Jor+yQ"
    "eGqnuFeJsS4WVe37/yM5szXMC/bYWiz64Cmgl75qgKJ3N0eYmZqHfgw1vVyufqWqQgX9IBsia6LWaAEe8Axq6g06OdZs"
    "ppflUdLZbv+S0IskxTp9mLH+imJQAimG9UbeHD9PIxYkzJDbWW335BQsCWuZ6z46jexPAIBqSMH6OSe7mpyZJ91XGJX7"
    "sj7ig6YL9WsK1ihPRU9HvZIysk6jQz/j+7AzY5KgprcvlPdEkBcdBXt8rwC+hl6keU2TC06mX+NYLB+ysy6A7wrmp3zS"
    "F3FzwZ7kqxQsInfcbRSLwvoQmc6lYDXXk+sQHF+lY93D9eR6BGJ6tnH593Q3y3UIjzSTsbC68l1YX7Zrx3MSnCDe8h1y"
    "Zazrp2FtfB2LPPnzDjbp5JAkx6qvKJdL9GoHVqwsyhKwOnqMtjpCI8eK1QxclnSxBnL0JdukZl2IGjY1W/lFBJ2PcixH"
    "2TmfD7Y73Ki/RowVj8ofxVhtNOgcxFgdf7xkRPeweti+yXAHbz+aijOe2OEFWOKs+ezf6Hex+p38qqw4K36r+Yl8vnt6"
    "UkNR78KG5ZIo416I1ZJBR6O/pJvMDFXpZM3STAQ36cvVx4IOgNuPB7Ho/iA/I/dU1RayTv55abECWhm/uEvm3CY1PWXy"
    "gk7hBFhVb+C9DhTnjzt6haNj1Qdxc+sFismfL8TzyZxcnax2+iTB6kmzajeN30mwBpm5fUsSJxki+R6JXX7amWtLrkrR"
    "ECN+Eew/JPXokx90LlPgp1xVMAZDXnyZeMbmKGqPLVmSQNRDKKzODw3laF2V3KT0VKAYEotqsgzoRz31VIHQROUylDuS"
    "L5V9jHO1Is4gCZD6ex4Ud1YTxaqJQNiSVeLHKFZD7JiOtiiBk1htKP34xdLnGFbnxoZz0JE/Bkq4mq7n6tUdvRdOyBn1"
    "M6aeQ8in6TtKgnVyMnuGsZ6nKSSPpZG2T/M2385OpTOIujgkxkCorLUelPXEGphI2voq66y3Y+NYiqrBszVQqOUazxyW"
    "dmuDf4CvMsZpPSy7ZskWwb5XrjsKUo8i35ZdtDNYt26f6LejVrlwZXCoHTdU0umc9pP539ZJWrEwrBY2EoHXUhe7VRf0"
    "qBX5jvQkl5dNVsHgVyc7tpE9Tlv8e0MEOJMDQFmK7zwu1lOUcS7G1OttevoFHeyLAw5PFfKvxrrbymNdLBVmhEaV+XOV"
    "NIKFotCFiHCH7yv4gbE5aAUA8D7/+Cdhr/dfpDM+DbA8grJmnAcqO8ZSqT4C2HfK3saKVDV0xhyi7c67Zbfp1uyFnVsx"
    "4bkhYmyDLF2F/M3LQKiuOXgB82J9JYbVk8G/sT8QYenOe9r2Nze72+5YMWWfhunZH4tPlRsTQXi/7+BPeg5OsLa18MSk"
    "NE08UDwLVuFiNZaGABQxGcuQhyvb159MKNEAAPwzOAPrli23gf5G0hJl9kUzmx8cFp2S35xjjSjg6/gYmnNHgVzw3eqk"
    "zvvugrivIwWnY62k7/ge6x0J9cV+n4LjjuxYOIj1H8txB9i5LrOzLUQ7+omolvVp/57EUYEnr1PmX6bsHRb9JdLRMaXo"
    "b78nTlaYM99LJzuqvSawitWL38Uk9sj5NfYInjtWe7EAvXPDTR/iWAXqcPUuueTFqvj3KgJAWfBpSEuVhSdF25b1m5VM"
    "6xbSXfIeu2vpy3mx7rwHy3bHo8ux9D021oiq3JmQ6sUKtWLSUFyu1R01wONDdOIZGbaGeg7JvFAwWd1mx9Udj7Ghm5a7"
    "4/5lwn2oe6MzJpcS3Q0W77G71hatYvUSG8ppsTteZY/NtbByjrWJe9xdrJLu6M+r3AGflrtjGfMILXbHa9hxufiLd6j3"
    "fIR3R3if48PBcybnqTUtd8f3/XvswgTrkrDQ4W/75ELu+L67lrPc8QXYNKRTitVvu+TC7hjbpNgdiZBfb6h9l/Vjzx5f"
    "sTs6m0yTq3diwdcdcr37Her29dxRE5XwfSbWkC0xH6CwVDzFnFqvrKaxsi7KiR+t2+0G01AUa3BF/yPkbYIuooTgJhFd"
    "Tv0Gyz7Rg7RNWFkQK/3/HvhJp6FuC5bZ1S6ENtklcpUuYenno7b8Xw3/i01eQ663QDe06f+jKHbMOvzIfT2sN7oo3oQV"
    "2OQ2rG9UGtqIRZdi/wW8x+HzDZ8dfQAAAABJRU5ErkJggg=="
)
