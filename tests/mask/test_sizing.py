"""mjstudio.mask.sizing: whether a source image must be resized for the provider, and to what."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely import box

from mjstudio.mask.geometry import Fit, MaskError, build_mask, send_fit, to_image_pixels
from mjstudio.mask.sizing import (
    MAX_SIDE,
    MIN_PAINT_SIDE,
    MIN_SIDE,
    SIZES_TEXT,
    SizePlan,
    check_source_size,
    display_size,
    in_provider_range,
    plan_source,
    size_problem,
)
from tests.mask.kit import FAST, rect_tool


@pytest.mark.parametrize("size", [(1024, 768), (500, 500), (4096, 4096), (500, 4096)])
def test_a_source_in_range_is_sent_as_it_is(size):
    plan = plan_source(*size)
    assert plan == SizePlan(*size, *size)
    assert plan.in_range and not plan.needs_resize and plan.message == ""
    assert plan.send_size == size


@pytest.mark.parametrize(
    ("size", "send"),
    [((300, 200), (750, 500)), ((8192, 4096), (4096, 2048)), ((499, 600), (500, 601))],
)
def test_a_source_out_of_range_is_offered_resized(size, send):
    plan = plan_source(*size)
    assert not plan.in_range and plan.needs_resize
    assert plan.send_size == send
    assert f"{size[0]}x{size[1]} px" in plan.message
    assert f"Resize it to {send[0]}x{send[1]} px first." in plan.message


def test_declining_the_resize_sends_the_source_and_keeps_the_warning():
    plan = plan_source(300, 200).as_is()
    assert plan.send_size == (300, 200) and not plan.needs_resize
    assert not plan.in_range and "Resize it to 750x500" in plan.message


@pytest.mark.parametrize("size", [(5000, 300), (300, 5000), (0, 800)])
def test_a_source_no_resize_can_fix_is_only_warned_about(size):
    plan = plan_source(*size)
    assert not plan.in_range and not plan.needs_resize
    assert plan.send_size == size
    assert "Crop it closer to square first." in plan.message


def test_the_plan_message_is_the_refusal_of_check_source_size():
    for size in [(300, 200), (5000, 300), (9000, 9000)]:
        with pytest.raises(MaskError) as refused:
            check_source_size(*size)
        assert str(refused.value) == plan_source(*size).message == size_problem(*size)
    check_source_size(1024, 768)
    assert size_problem(1024, 768) == ""


@FAST
@given(st.integers(1, 12_000), st.integers(1, 12_000))
def test_every_plan_sends_an_accepted_size_or_says_why_not(width, height):
    plan = plan_source(width, height)
    assert plan.in_range == in_provider_range(width, height)
    assert plan.in_range == (not plan.message)
    if plan.needs_resize:
        assert in_provider_range(*plan.send_size)
        assert abs(plan.send_width / plan.send_height - width / height) <= 0.01 * width / height
        assert plan.as_is().send_size == (width, height)
    elif min(width, height) < MIN_PAINT_SIDE:
        assert not plan.usable and "too small to paint on" in plan.message
    elif not plan.in_range:
        assert "Crop it closer to square" in plan.message
        assert min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE


def test_the_send_fit_follows_a_resize():
    fit = Fit.stretch(600, 400, 300, 200)
    plan = plan_source(300, 200)
    resized = send_fit(fit, plan)
    assert (resized.natural_width, resized.natural_height) == (750, 500)
    region = to_image_pixels(box(60, 40, 120, 80), resized)
    assert region.bounds == pytest.approx((75, 50, 150, 100))
    assert send_fit(fit, plan.as_is()) is fit
    assert send_fit(fit, plan_source(1024, 768)) is fit


def test_a_resized_send_makes_a_mask_the_source_size_could_not():
    fit = Fit.stretch(600, 400, 300, 200)
    objects = [rect_tool(60, 40, 60, 40)]
    with pytest.raises(MaskError, match="Resize it to 750x500"):
        build_mask(objects, fit)
    result = build_mask(objects, send_fit(fit, plan_source(300, 200)))
    assert (result.width, result.height) == (750, 500)
    assert result.areas == [
        {"width": 750, "height": 500, "points": [75, 50, 150, 50, 150, 100, 75, 100]}
    ]
    assert result.point_count == 4


# --- tiny sources and the canvas's size on the page (issue 8, item 18) ----------------------


@pytest.mark.parametrize("size", [(1, 1), (63, 800), (800, 63), (40, 40)])
def test_a_tiny_source_is_refused_with_a_message_not_upscaled(size):
    plan = plan_source(*size)
    assert not plan.usable and not plan.needs_resize and plan.send_size == size
    assert f"{size[0]}x{size[1]} px: too small to paint on" in plan.message
    assert f"at least {MIN_PAINT_SIDE} px per side" in plan.message
    assert "Resize it" not in plan.message
    with pytest.raises(MaskError, match="too small to paint on"):
        check_source_size(*size)


def test_a_small_but_usable_source_is_offered_resized_up():
    plan = plan_source(64, 80)
    assert plan.usable and plan.needs_resize and plan.send_size == (500, 625)
    assert "Resize it to 500x625 px first." in plan.message
    assert plan_source(1024, 768).usable
    assert "500-4096 px per side" in SIZES_TEXT and f"under {MIN_PAINT_SIDE} px" in SIZES_TEXT


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        ((1, 1), (480, 480)),  # enlarged to a usable size, not a 1x1 canvas
        ((64, 64), (480, 480)),
        ((300, 200), (480, 320)),
        ((800, 600), (760, 570)),  # big ones fit the box
        ((8900, 8900), (620, 620)),
        ((1000, 5000), (124, 620)),
        ((10_000, 10), (760, 1)),
    ],
)
def test_the_canvas_has_a_sensible_size_on_the_page(size, shown):
    assert display_size(*size, (760, 620), 480) == shown


def test_a_fit_reported_for_a_smaller_display_copy_is_in_source_pixels():
    reported = {"natural_width": 1520, "natural_height": 1013, "scale_x": 0.5, "scale_y": 0.5}
    reported |= {"offset_x": 0, "offset_y": 0}  # the canvas shows a 1520 px copy of a 6000 px photo
    fit = Fit.resolve(reported, 760, 506, 6000, 4000)
    assert (fit.natural_width, fit.natural_height) == (6000, 4000)
    region = to_image_pixels(box(380, 253, 760, 506), fit)
    assert region.bounds == pytest.approx((3000, 2000, 6000, 4000), abs=5)
