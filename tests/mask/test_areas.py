"""Mask areas: simple clockwise polygons, fits to image pixels, limits and the mask PNG."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from shapely import Point, box

from mjstudio.mask.geometry import (
    Fit,
    MaskError,
    areas_region,
    build_mask,
    fit_to_provider_range,
    inverted,
    mask_areas,
    mask_data_url,
    mask_png,
    placement,
    scale_areas,
    to_image_pixels,
)
from tests.mask.kit import (
    FAST,
    Truth,
    areas_mask,
    assert_valid_areas,
    brush,
    circle_tool,
    iou,
    rect_tool,
)
from tests.mask.test_geometry import coverage, scene

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
