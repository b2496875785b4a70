"""The source image's size: the providers' accepted range, and what to send instead.

The provider accepts a source image of 500-4096 px per side. An image outside that range is
refused as it is; when a resized copy with the same aspect ratio fits, that copy is offered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mjstudio.mask.shapes import MaskError

MIN_SIDE, MAX_SIDE = 500, 4096  # the providers' accepted source-image side, in pixels
MIN_PAINT_SIDE = 64  # a smaller side is refused: upscaling it to 500 px would be mostly guessing
SIZES_TEXT = (
    f"Paint sends source images of {MIN_SIDE}-{MAX_SIDE} px per side (the provider's range). "
    f"Others are offered resized to fit; images under {MIN_PAINT_SIDE} px per side are refused."
)


def fit_to_provider_range(width: int, height: int) -> tuple[int, int, float]:
    """The nearest size within 500-4096 px per side, keeping the aspect ratio, and the scale."""
    if min(width, height) <= 0:
        raise MaskError("The source image has no size.")
    scale = max(1.0, MIN_SIDE / min(width, height))
    scale = min(scale, MAX_SIDE / max(width, height))
    if min(width, height) * scale < MIN_SIDE - 0.5:
        raise MaskError(
            f"The source image is {width}x{height} px: too narrow to fit the provider's "
            f"{MIN_SIDE}-{MAX_SIDE} px per side. Crop it closer to square first."
        )

    def side(v: int) -> int:
        return min(max(round(v * scale), MIN_SIDE), MAX_SIDE)

    return side(width), side(height), scale


def in_provider_range(width: int, height: int) -> bool:
    """True when both sides are within the provider's 500-4096 px."""
    return MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE


def size_problem(width: int, height: int) -> str:
    """Why the provider refuses a source image of this size, or "" when it accepts it."""
    if in_provider_range(width, height):
        return ""
    if 0 < min(width, height) < MIN_PAINT_SIDE:
        return (
            f"The source image is {width}x{height} px: too small to paint on. Paint takes "
            f"images of at least {MIN_PAINT_SIDE} px per side (the provider accepts "
            f"{MIN_SIDE}-{MAX_SIDE}): use a larger image."
        )
    try:
        w2, h2, _ = fit_to_provider_range(width, height)
        hint = f" Resize it to {w2}x{h2} px first."
    except MaskError:
        hint = " Crop it closer to square first."
    return (
        f"The source image is {width}x{height} px; the provider accepts "
        f"{MIN_SIDE}-{MAX_SIDE} px per side.{hint}"
    )


def check_source_size(width: int, height: int) -> None:
    """Raise MaskError unless both sides are within the provider's 500-4096 px."""
    problem = size_problem(width, height)
    if problem:
        raise MaskError(problem)


@dataclass(frozen=True)
class SizePlan:
    """What to send for a source image: its size or a resized copy, and why (the message)."""

    width: int
    height: int
    send_width: int
    send_height: int
    message: str = ""  # why the source can't be sent as it is; empty when it can
    usable: bool = True  # False: too small to paint on at all (no canvas, nothing to send)

    @property
    def in_range(self) -> bool:
        """True when the source image can be sent as it is."""
        return not self.message

    @property
    def needs_resize(self) -> bool:
        """True when the plan sends a resized copy rather than the source itself."""
        return (self.send_width, self.send_height) != (self.width, self.height)

    @property
    def send_size(self) -> tuple[int, int]:
        """(width, height) of the image that is sent."""
        return self.send_width, self.send_height

    def as_is(self) -> SizePlan:
        """The same plan sending the source unresized (the resize was declined)."""
        return replace(self, send_width=self.width, send_height=self.height)


def plan_source(width: int, height: int) -> SizePlan:
    """The plan for a source image: as it is when in range, else resized when that fits."""
    message = size_problem(width, height)
    if not message:
        return SizePlan(width, height, width, height)
    if 0 < min(width, height) < MIN_PAINT_SIDE:
        return SizePlan(width, height, width, height, message, usable=False)
    try:
        send_width, send_height, _ = fit_to_provider_range(width, height)
    except MaskError:
        send_width, send_height = width, height  # too narrow or empty: nothing to offer
    return SizePlan(width, height, send_width, send_height, message)


def display_size(
    width: int, height: int, box: tuple[int, int], min_long_side: int
) -> tuple[int, int]:
    """The canvas size on the page: inside ``box``, the aspect ratio kept; a small image is
    shown enlarged until its long side reaches ``min_long_side`` (still inside the box)."""
    if min(width, height) <= 0:
        raise MaskError("The source image has no size.")
    grow = max(1.0, min_long_side / max(width, height))
    scale = min(box[0] / width, box[1] / height, grow)
    return max(1, round(width * scale)), max(1, round(height * scale))
