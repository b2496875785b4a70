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
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from shapely import Point, Polygon

from mjstudio.mask.geometry import (
    ERASER_COLOR,
    Fit,
    areas_region,
    build_mask,
    painted_region,
)
from mjstudio.mask.shapes import path_offset
from tests.mask.kit import (
    FAST,
    SS,
    Truth,
    areas_mask,
    assert_valid_areas,
    brush,
    brush_truth,
    circle_tool,
    geometry_mask,
    iou,
    polygon_tool,
    quad_samples,
    rect_tool,
    rotate,
    walk,
    walks,
)
from tests.mask.scene import SCENE_ALPHA_PNG, SCENE_JSON

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

    Each step is held to 1%: the region against the drawn truth, and the integer polygons sent
    against the region. (Integer points alone cost a 100 px dab about 0.5% of IoU, and the
    4x-supersampled truth differs from an exact disc by about as much: a dab pushed into a
    corner, most of its outline left, could fail one 1% test of both together.)"""
    pts = walk(start, heading, steps, 512)
    truth = Truth(512, 512)
    truth.stroke(quad_samples(pts), width)
    result = build_mask([brush(pts, width)], Fit.stretch(512, 512, 1024, 1024))
    assert_valid_areas(result.areas, 1024, 1024)
    region = shapely.affinity.scale(result.region, 0.5, 0.5, origin=(0, 0))
    assert iou(geometry_mask(region, 512, 512), truth.mask()) >= 0.99
    sent = areas_region(result.areas)
    assert iou(geometry_mask(sent, 1024, 1024), geometry_mask(result.region, 1024, 1024)) >= 0.99


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
    # Exact areas, not pixels: a rasterised truth of a small shape is off by its rounding.
    truth = Polygon(transformed_points(local, centre, angle, sx, sy, flip))
    region = painted_region([obj])
    assert region.intersection(truth).area / region.union(truth).area >= 0.99


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
