"""Where the source image sits on the upload-paint canvas: `canvas` and `imgPos`.

By default the canvas is the image; a larger canvas (zoomed out, or of a target aspect)
extends the picture, and the provider generates the uncovered part.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from mjstudio.mask.shapes import MaskError


class Placement(NamedTuple):
    """upload-paint's `canvas` {width, height} and `imgPos` {x, y, width, height}."""

    canvas: dict[str, int]
    img_pos: dict[str, int]


SAME, ZOOM_OUT, TARGET_ASPECT = "Same as the image", "Zoom out", "Target aspect"
CANVAS_CHOICES = (SAME, ZOOM_OUT, TARGET_ASPECT)  # how the canvas relates to the image
ASPECTS = ("1:1", "4:3", "3:2", "16:9", "9:16")  # the target aspects offered
ZOOM_RANGE = (1.0, 2.0)  # the canvas is this many times the image when zoomed out
DEFAULT_ZOOM = 1.5

ANCHORS = {
    "center": (0.5, 0.5),
    "top": (0.5, 0.0),
    "bottom": (0.5, 1.0),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
    "top-left": (0.0, 0.0),
    "top-right": (1.0, 0.0),
    "bottom-left": (0.0, 1.0),
    "bottom-right": (1.0, 1.0),
}


def _anchor(anchor: str | tuple[float, float]) -> tuple[float, float]:
    if isinstance(anchor, str):
        if anchor not in ANCHORS:
            raise MaskError(f"Unknown anchor {anchor!r}; use one of {', '.join(ANCHORS)}.")
        return ANCHORS[anchor]
    fx, fy = (float(v) for v in anchor)
    if not (0 <= fx <= 1 and 0 <= fy <= 1):
        raise MaskError("An anchor's fractions must lie between 0 and 1.")
    return fx, fy


def _place(iw: int, ih: int, cw: int, ch: int, anchor: str | tuple[float, float]) -> Placement:
    fx, fy = _anchor(anchor)
    pos = {"x": round((cw - iw) * fx), "y": round((ch - ih) * fy), "width": iw, "height": ih}
    return Placement({"width": cw, "height": ch}, pos)


def placement(
    image_width: int,
    image_height: int,
    zoom_out: float = 1.0,
    anchor: str | tuple[float, float] = "center",
) -> Placement:
    """The canvas zoom_out (1-2) times the image, with the image at anchor (default: centre)."""
    if not ZOOM_RANGE[0] <= zoom_out <= ZOOM_RANGE[1]:
        raise MaskError("Zoom out must be between 1 and 2.")
    cw, ch = round(image_width * zoom_out), round(image_height * zoom_out)
    return _place(image_width, image_height, cw, ch, anchor)


def placement_for_aspect(
    image_width: int,
    image_height: int,
    aspect: str | float,
    anchor: str | tuple[float, float] = "center",
) -> Placement:
    """The smallest canvas of aspect ("W:H" or W/H) that holds the image, image at anchor."""
    if isinstance(aspect, str):
        try:
            aw, ah = (float(v) for v in aspect.split(":"))
        except ValueError:
            raise MaskError(f"Aspect {aspect!r} is not of the form W:H.") from None
        ratio = aw / ah if aw > 0 and ah > 0 else 0.0
    else:
        ratio = float(aspect)
    if ratio <= 0 or not math.isfinite(ratio):
        raise MaskError("An aspect ratio must be positive.")
    cw = max(image_width, math.ceil(image_height * ratio - 1e-9))
    ch = max(image_height, math.ceil(image_width / ratio - 1e-9))
    return _place(image_width, image_height, cw, ch, anchor)


def choose_placement(
    image_width: int,
    image_height: int,
    how: str = SAME,
    *,
    zoom: float = DEFAULT_ZOOM,
    aspect: str | float = ASPECTS[0],
    anchor: str | tuple[float, float] = "center",
) -> Placement:
    """The placement for a canvas choice: the image itself, zoomed out, or a target aspect.

    zoom is used only for "Zoom out" and aspect only for "Target aspect"; with "Same as the
    image" the canvas is the image and the anchor does not matter.
    """
    if how == ZOOM_OUT:
        return placement(image_width, image_height, zoom, anchor)
    if how == TARGET_ASPECT:
        return placement_for_aspect(image_width, image_height, aspect, anchor)
    if how == SAME:
        return placement(image_width, image_height)
    raise MaskError(f"Unknown canvas choice {how!r}; use one of {', '.join(CANVAS_CHOICES)}.")
