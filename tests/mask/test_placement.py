"""mjstudio.mask.placement: the Paint page's canvas choice -> upload-paint `canvas` and `imgPos`."""

from __future__ import annotations

import itertools

import pytest

from mjstudio.mask.placement import (
    ANCHORS,
    ASPECTS,
    CANVAS_CHOICES,
    DEFAULT_ZOOM,
    SAME,
    TARGET_ASPECT,
    ZOOM_OUT,
    ZOOM_RANGE,
    Placement,
    choose_placement,
    placement,
    placement_for_aspect,
)
from mjstudio.mask.shapes import MaskError


def test_the_choices_are_the_pages_labels():
    assert CANVAS_CHOICES == ("Same as the image", "Zoom out", "Target aspect")
    assert ASPECTS == ("1:1", "4:3", "3:2", "16:9", "9:16")
    assert ZOOM_RANGE[0] <= DEFAULT_ZOOM <= ZOOM_RANGE[1]


def test_same_as_the_image_is_the_image_whatever_else_is_set():
    expected = Placement(
        {"width": 1024, "height": 768}, {"x": 0, "y": 0, "width": 1024, "height": 768}
    )
    assert choose_placement(1024, 768) == expected
    assert choose_placement(1024, 768, SAME, zoom=2.0, aspect="16:9", anchor="left") == expected


def test_zoom_out_uses_the_zoom_and_the_anchor():
    place = choose_placement(1000, 800, ZOOM_OUT, zoom=1.5, aspect="16:9", anchor="top-left")
    assert place.canvas == {"width": 1500, "height": 1200}
    assert place.img_pos == {"x": 0, "y": 0, "width": 1000, "height": 800}
    centred = choose_placement(1000, 800, ZOOM_OUT)
    assert centred == placement(1000, 800, DEFAULT_ZOOM, "center")
    assert centred.img_pos == {"x": 250, "y": 200, "width": 1000, "height": 800}


def test_target_aspect_uses_the_aspect_and_the_anchor():
    place = choose_placement(1024, 1024, TARGET_ASPECT, zoom=2.0, aspect="16:9", anchor="right")
    assert place.canvas == {"width": 1821, "height": 1024}
    assert place.img_pos == {"x": 797, "y": 0, "width": 1024, "height": 1024}
    tall = choose_placement(1600, 900, TARGET_ASPECT, aspect="9:16", anchor="bottom")
    assert tall.canvas == {"width": 1600, "height": 2845}
    assert tall.img_pos == {"x": 0, "y": 1945, "width": 1600, "height": 900}


@pytest.mark.parametrize(
    ("how", "aspect", "anchor"),
    list(itertools.product(CANVAS_CHOICES, ASPECTS, ANCHORS)),
)
def test_every_choice_on_the_page_holds_the_image(how, aspect, anchor):
    for zoom in (*ZOOM_RANGE, DEFAULT_ZOOM):
        canvas, pos = choose_placement(750, 500, how, zoom=zoom, aspect=aspect, anchor=anchor)
        assert (pos["width"], pos["height"]) == (750, 500)
        assert 0 <= pos["x"] <= canvas["width"] - 750
        assert 0 <= pos["y"] <= canvas["height"] - 500
        if how == TARGET_ASPECT:
            w, h = (int(v) for v in aspect.split(":"))
            assert canvas["width"] / canvas["height"] == pytest.approx(w / h, abs=0.005)


@pytest.mark.parametrize(
    "call",
    [
        lambda: choose_placement(1000, 1000, "Fill"),
        lambda: choose_placement(1000, 1000, ZOOM_OUT, zoom=2.5),
        lambda: choose_placement(1000, 1000, TARGET_ASPECT, aspect="wide"),
        lambda: choose_placement(1000, 1000, ZOOM_OUT, anchor="middle"),
    ],
)
def test_bad_choices_are_refused(call):
    with pytest.raises(MaskError):
        call()


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
