"""What can be done with one image of a finished task, from the board or the viewer.

Upscale and Vary go through components/actions.py (stored before sent, one task per click,
linked to the image: parent_id and parent_index). "Paint this" and "Use as reference" hand the
image to the Paint or Image to image page's picker (components/session.py) and open that page.
"""

from __future__ import annotations

import streamlit as st

from components import actions, session
from components.sitemap import MODE_PAGES
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES
from mjstudio.tasks.record import TaskRecord

PAINT_PICKER = "paint"  # the Paint page's source picker
REFERENCE_PICKER = "i2i-1"  # Image to image's first reference picker
OPEN = "Open large"
PAINT = "Paint this"
REFERENCE = "Use as reference"


def can_derive(record: TaskRecord) -> bool:
    """True when U and V apply: a finished grid (an upscale is one image, not a grid)."""
    return record.mode != "upscale"


def upscale_label(kind: int) -> str:
    """A menu entry for one upscale type."""
    return f"Upscale · {UPSCALE_TYPES[kind]}"


def vary_label(kind: int) -> str:
    """A menu entry for one vary type."""
    return f"Vary · {VARY_TYPES[kind]}"


def menu_entries(record: TaskRecord) -> list[str]:
    """The entries of an image's menu: every upscale and vary type, then the other pages."""
    derived = [upscale_label(k) for k in UPSCALE_TYPES] + [vary_label(k) for k in VARY_TYPES]
    return [*(derived if can_derive(record) else []), OPEN, PAINT, REFERENCE]


def upscale(record: TaskRecord, index: int, kind: int) -> None:
    """Upscale image ``index`` of a grid with this type (a double click makes one task)."""
    actions.derive(record, "upscale", index, kind)


def vary(record: TaskRecord, index: int, kind: int, prompt: str | None = None) -> None:
    """Vary image ``index`` of a grid, subtle (0) or strong (1), with an optional remix prompt."""
    actions.derive(record, "vary", index, kind, prompt=(prompt or "").strip() or None)


def paint_this(record: TaskRecord, index: int) -> None:
    """Open Paint with this image as the source, ready to draw on."""
    session.hand_image(PAINT_PICKER, record.id, index)
    st.switch_page(MODE_PAGES["upload-paint"])


def use_as_reference(record: TaskRecord, index: int) -> None:
    """Open Image to image with this image as the first reference."""
    session.hand_image(REFERENCE_PICKER, record.id, index)
    st.switch_page(MODE_PAGES["image-to-image"])


def run_entry(record: TaskRecord, index: int, entry: str) -> bool:
    """Do what a menu entry says (not OPEN: the caller opens the viewer); False if unknown."""
    for kind in UPSCALE_TYPES:
        if entry == upscale_label(kind):
            upscale(record, index, kind)
            return True
    for kind in VARY_TYPES:
        if entry == vary_label(kind):
            vary(record, index, kind)
            return True
    if entry == PAINT:
        paint_this(record, index)
    elif entry == REFERENCE:
        use_as_reference(record, index)
    return entry in (PAINT, REFERENCE)
