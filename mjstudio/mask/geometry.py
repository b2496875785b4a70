"""Canvas drawing -> painted region -> upload-paint mask (`mask.areas` polygons or a PNG).

Coordinates: the component's objects are in canvas CSS pixels (see maskshapes for what they
look like); the API wants source-image pixels, origin top-left, y down. The component's
`background_fit` says how the image sits on the canvas: canvas = offset + scale * image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from shapely import Polygon, box
from shapely.geometry.base import BaseGeometry

from mjstudio.mask.painting import painted_region
from mjstudio.mask.pieces import clockwise_points, simple_pieces
from mjstudio.mask.placement import Placement, placement, placement_for_aspect
from mjstudio.mask.raster import data_url, png_bytes, rasterize
from mjstudio.mask.shapes import (
    ERASER_COLOR,
    MaskError,
    is_eraser,
    object_shape,
)
from mjstudio.mask.sizing import (
    MAX_SIDE,
    MIN_SIDE,
    SizePlan,
    check_source_size,
    fit_to_provider_range,
    plan_source,
)

__all__ = [
    "ERASER_COLOR",
    "MIN_SIDE",
    "MAX_SIDE",
    "Fit",
    "MaskError",
    "MaskResult",
    "Placement",
    "SizePlan",
    "build_mask",
    "check_source_size",
    "fit_to_provider_range",
    "inverted",
    "is_eraser",
    "mask_areas",
    "mask_data_url",
    "mask_png",
    "object_shape",
    "painted_region",
    "placement",
    "placement_for_aspect",
    "plan_source",
    "scale_areas",
    "send_fit",
    "to_image_pixels",
]

EMPTY_MESSAGE = "Paint the region to regenerate first."
# How far (image px) a brush stroke's outline may move before the union: the API takes whole
# pixels, so rounding moves every point up to 0.71 px anyway; fewer vertices, a faster union.
STROKE_TOLERANCE = 0.5


@dataclass(frozen=True)
class Fit:
    """How the source image sits on the canvas: canvas px = offset + scale * image px."""

    natural_width: int
    natural_height: int
    scale_x: float = 1.0
    scale_y: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0

    def __post_init__(self) -> None:
        if self.natural_width <= 0 or self.natural_height <= 0:
            raise MaskError("The source image has no size.")
        if self.scale_x <= 0 or self.scale_y <= 0:
            raise MaskError("The image is not shown on the canvas (zero scale).")

    @classmethod
    def from_component(cls, data: Mapping[str, Any]) -> Fit:
        """From `CanvasResult.background_fit` (snake_case) or the raw camelCase value."""

        def get(snake: str, camel: str) -> Any:
            return data[snake] if snake in data else data[camel]

        return cls(
            natural_width=round(get("natural_width", "naturalWidth")),
            natural_height=round(get("natural_height", "naturalHeight")),
            scale_x=float(get("scale_x", "scaleX")),
            scale_y=float(get("scale_y", "scaleY")),
            offset_x=float(get("offset_x", "offsetX")),
            offset_y=float(get("offset_y", "offsetY")),
        )

    @classmethod
    def stretch(cls, canvas_width: float, canvas_height: float, width: int, height: int) -> Fit:
        """The whole image fills the canvas (the component's default "stretch" fit)."""
        return cls(width, height, canvas_width / width, canvas_height / height)

    @classmethod
    def contain(cls, canvas_width: float, canvas_height: float, width: int, height: int) -> Fit:
        """The image scaled to fit inside the canvas, centred (the "contain" fit)."""
        s = min(canvas_width / width, canvas_height / height)
        return cls(
            width, height, s, s, (canvas_width - width * s) / 2, (canvas_height - height * s) / 2
        )

    @classmethod
    def resolve(
        cls,
        background_fit: Mapping[str, Any] | None,
        canvas_width: float,
        canvas_height: float,
        width: int,
        height: int,
    ) -> Fit:
        """The component's fit when it has sent one (None on the first run), else stretch;
        in the source's width x height pixels even when the canvas shows a smaller copy."""
        if not background_fit:
            return cls.stretch(canvas_width, canvas_height, width, height)
        fit = cls.from_component(background_fit)
        same = (fit.natural_width, fit.natural_height) == (width, height)
        return fit if same else fit.resized(width, height)

    def resized(self, width: int, height: int) -> Fit:
        """The same placement on the canvas for the image resized to width x height."""
        sx, sy = self.natural_width / width, self.natural_height / height
        return Fit(
            width, height, self.scale_x * sx, self.scale_y * sy, self.offset_x, self.offset_y
        )


def send_fit(fit: Fit, plan: SizePlan) -> Fit:
    """The mask's fit for the image actually sent: the canvas fit, resized when the plan says."""
    return fit.resized(*plan.send_size) if plan.needs_resize else fit


def to_image_pixels(region: BaseGeometry, fit: Fit) -> BaseGeometry:
    """A canvas-px region in source-image pixels, clipped to [0, w] x [0, h]."""
    identity = (fit.scale_x, fit.scale_y, fit.offset_x, fit.offset_y) == (1, 1, 0, 0)
    if not identity:
        matrix = (1 / fit.scale_x, 0, 0, 1 / fit.scale_y)
        offset = (-fit.offset_x / fit.scale_x, -fit.offset_y / fit.scale_y)
        region = shapely.affinity.affine_transform(region, (*matrix, *offset))
    return _clipped(region, fit.natural_width, fit.natural_height)


def _clipped(region: BaseGeometry, width: int, height: int) -> BaseGeometry:
    """The region within [0, width] x [0, height] (itself when it lies inside already)."""
    x0, y0, x1, y1 = region.bounds if not region.is_empty else (0, 0, 0, 0)
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        return region
    return region.intersection(box(0, 0, width, height))


def inverted(region: BaseGeometry, width: int, height: int) -> BaseGeometry:
    """The image rectangle minus the region: regenerate everything that was not painted."""
    return box(0, 0, width, height).difference(region)


def _simplified(region: BaseGeometry, tolerance: float) -> BaseGeometry:
    """The region's outline moved by at most tolerance: Douglas-Peucker, whose polygons GEOS
    repairs (a hole the simplified shell would cross joins the outside), linear in the
    vertices where the topology-preserving simplifier is not."""
    return shapely.simplify(region, tolerance, preserve_topology=False) if tolerance else region


def mask_areas(
    region: BaseGeometry, width: int, height: int, tolerance: float = 0.25
) -> list[dict[str, Any]]:
    """`mask.areas` for a region in image px: simple clockwise integer polygons, no holes."""
    pieces = simple_pieces(_simplified(_clipped(region, width, height), tolerance))
    return [
        {"width": width, "height": height, "points": points} for points in clockwise_points(pieces)
    ]


def areas_region(areas: Iterable[Mapping[str, Any]]) -> BaseGeometry:
    """The union of `mask.areas` polygons, in image px."""
    polys = [Polygon(ring) for ring in _area_rings(areas)]
    return shapely.union_all(polys) if polys else Polygon()


def _area_rings(areas: Iterable[Mapping[str, Any]]) -> list[np.ndarray]:
    return [np.reshape(np.asarray(a["points"], dtype=float), (-1, 2)) for a in areas]


def mask_png(region: BaseGeometry, width: int, height: int, tolerance: float = 0.25) -> bytes:
    """A black-and-white PNG of the image's size, white where the region is (regenerate)."""
    areas = mask_areas(region, width, height, tolerance)
    return png_bytes(rasterize(_area_rings(areas), width, height))


def mask_data_url(region: BaseGeometry, width: int, height: int, tolerance: float = 0.25) -> str:
    """mask_png as a base64 `data:` URL, for `mask.url`."""
    return data_url(mask_png(region, width, height, tolerance))


def scale_areas(areas: Sequence[Mapping[str, Any]], scale: float) -> list[dict[str, Any]]:
    """`mask.areas` for the source image resized by scale (e.g. from fit_to_provider_range)."""
    if not areas:
        return []
    width, height = (round(areas[0][k] * scale) for k in ("width", "height"))
    region = shapely.affinity.scale(areas_region(areas), scale, scale, origin=(0, 0))
    return mask_areas(region, width, height, tolerance=0.0)


@dataclass
class MaskResult:
    """A ready mask: `areas` for `mask.areas`, the PNG on demand, and what share is painted."""

    areas: list[dict[str, Any]]
    width: int
    height: int
    painted_fraction: float
    region: BaseGeometry = field(repr=False)

    @property
    def point_count(self) -> int:
        """How many vertices the `areas` polygons have in all."""
        return sum(len(a["points"]) // 2 for a in self.areas)

    @cached_property
    def png(self) -> bytes:
        """The mask as a black-and-white PNG (white = regenerate), rendered from `areas`."""
        return png_bytes(rasterize(_area_rings(self.areas), self.width, self.height))

    @property
    def data_url(self) -> str:
        """`png` as a base64 `data:` URL."""
        return data_url(self.png)

    def mask_field(self, *, as_url: bool = False) -> dict[str, Any]:
        """The request's `mask` object: `{"areas": [...]}` or `{"url": "data:..."}`."""
        return {"url": self.data_url} if as_url else {"areas": self.areas}


def _objects(drawing: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None) -> list[Any]:
    if isinstance(drawing, Mapping):
        return list(drawing.get("objects") or [])
    return list(drawing or [])


def build_mask(
    objects: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None,
    fit: Fit,
    *,
    invert: bool = False,
    tolerance: float = 0.25,
    stroke_tolerance: float = STROKE_TOLERANCE,
) -> MaskResult:
    """From the canvas's `json_data` (or its objects) to a mask in source-image pixels. Brush
    strokes are drawn with their outline moved by at most stroke_tolerance, the region is
    simplified by at most tolerance (both in image px), then its points are rounded to whole
    pixels (each moves up to 0.71 px)."""
    w, h = fit.natural_width, fit.natural_height
    check_source_size(w, h)
    canvas_px = min(fit.scale_x, fit.scale_y)  # canvas px per image px
    canvas_region = painted_region(_objects(objects), stroke_tolerance * canvas_px)
    if canvas_region.is_empty or canvas_region.area <= 0:
        raise MaskError(EMPTY_MESSAGE)
    region = to_image_pixels(canvas_region, fit)
    if region.area <= 0:
        raise MaskError("The painted region lies outside the image: paint over the picture.")
    if invert:
        region = inverted(region, w, h)
        if region.area <= 0:
            raise MaskError("The whole image is painted, so the inverted mask is empty.")
    areas = mask_areas(region, w, h, tolerance)
    if not areas:
        raise MaskError("The painted region is too small: paint at least a few pixels.")
    return MaskResult(areas, w, h, float(region.area / (w * h)), region)
