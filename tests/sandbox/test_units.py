"""Pure parts of the sandbox: aspect sizes, masks, the mark, the sliding window."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mjstudio.sandbox import imaging
from mjstudio.sandbox.limits import SlidingWindow


@pytest.mark.parametrize(
    ("aspect", "size"),
    [("1:1", (1024, 1024)), ("16:9", (1024, 576)), ("2:3", (683, 1024)), ("21:9", (1024, 439))],
)
def test_size_for_aspect(aspect: str, size: tuple[int, int]) -> None:
    assert imaging.size_for_aspect(aspect) == size


def test_mask_areas_scale_to_the_source() -> None:
    square = [10, 10, 50, 10, 50, 50, 10, 50]
    direct = imaging.mask_from_areas([(100, 100, square)], (100, 100))
    halved = imaging.mask_from_areas([(200, 200, [2 * v for v in square])], (100, 100))
    assert np.array_equal(np.asarray(direct), np.asarray(halved))
    assert np.asarray(direct)[30, 30] == 255 and np.asarray(direct)[70, 70] == 0


def test_mark_goes_only_where_allowed() -> None:
    img = Image.new("RGB", (400, 300), (128, 128, 128))
    allowed = np.zeros((300, 400), dtype=bool)
    allowed[20:120, 30:250] = True
    marked = np.asarray(imaging.mark_inside(img.copy(), allowed))
    changed = np.any(marked != 128, axis=2)
    assert changed.any() and not changed[~allowed].any()
    none = np.asarray(imaging.mark_inside(img.copy(), np.zeros((300, 400), dtype=bool)))
    assert (none == 128).all()


def test_sliding_window_counts_the_last_minute() -> None:
    now = [1000.0]
    window = SlidingWindow(2, 60.0, clock=lambda: now[0])
    assert window.hit() is None and window.hit() is None
    now[0] += 30
    assert window.hit() == 30
    now[0] += 30.5
    assert window.hit() is None
