"""The Paint page's drawable canvas: tools, a drawing kept across reruns, the mask preview."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st
from PIL import Image, ImageDraw

from mjstudio import images
from mjstudio.mask import geometry as masks

if TYPE_CHECKING:
    from components.image_picker import Picked

PAINT = "rgba(255,40,90,0.45)"
TOOLS = {
    "Brush": "freedraw",
    "Rectangle": "rect",
    "Polygon": "polygon",
    "Eraser": "freedraw",
}
TOOL_HELP = (
    "Brush paints with the chosen size; Rectangle and Polygon mask exactly their shape (close "
    "a polygon by clicking its first point); Eraser removes painted area. Undo, redo and clear "
    "are on the canvas toolbar."
)
MAX_W, MAX_H = 760, 620


@dataclass(frozen=True)
class Source:
    """The source image as the canvas shows it."""

    data: bytes
    width: int
    height: int
    digest: str


def load_source(picked: Picked) -> Source:
    """The picked image's bytes and size; raises ImageRejected or ValueError when unusable."""
    data = picked.data or fetch(picked.url)
    width, height = images.image_size(data)
    return Source(data, width, height, hashlib.sha1(data).hexdigest())


def send_url(url: str, source: Source, plan: masks.SizePlan) -> str:
    """The source image's URL for the request: as picked, or its resized copy as a data: URL."""
    if not plan.needs_resize:
        return url
    return images.to_data_url(images.resized_png(source.data, *plan.send_size), "image/png")


def display_size(width: int, height: int) -> tuple[int, int]:
    """The canvas size on the page: fits MAX_W x MAX_H, the image's aspect ratio kept."""
    scale = min(MAX_W / width, MAX_H / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _state(name: str, default: Any = None) -> Any:
    return st.session_state.setdefault(f"paint:{name}", default)


def kept_picked() -> Picked | None:
    """The source image picked earlier on this page (kept while visiting other pages)."""
    return _state("picked")


def keep_picked(picked: Picked | None) -> None:
    """Keep the picked source image for later runs; None forgets it."""
    st.session_state["paint:picked"] = picked


def reset_on_new_source(source: Source) -> None:
    """A new source image starts a clean drawing (and a fresh canvas)."""
    if _state("digest") != source.digest:
        st.session_state["paint:digest"] = source.digest
        clear()


def remount() -> None:
    """Recreate the canvas from the kept drawing (coming back to the page).

    The drawing handed to a canvas stays fixed for that canvas's life: handing it each new
    drawing would make the component reload it and send it straight back, a second run that
    can swallow the click that started the first (Generate, say).
    """
    st.session_state["paint:initial"] = _state("drawing")
    st.session_state["paint:version"] = _state("version", 0) + 1


def clear() -> None:
    """Drop the drawing and remount the canvas."""
    st.session_state["paint:drawing"] = None
    st.session_state["paint:initial"] = None
    st.session_state["paint:version"] = _state("version", 0) + 1


def tools() -> dict[str, Any]:
    """The tool controls: tool, brush size, invert, clear."""
    a, b, c = st.columns([3, 2, 1], vertical_alignment="bottom")
    tool = (
        a.segmented_control("Tool", list(TOOLS), default="Brush", key="paint:tool", help=TOOL_HELP)
        or "Brush"
    )
    size = b.slider("Brush size", 4, 120, 40, key="paint:size", help="In screen pixels")
    if c.button("Clear", key="paint:clear", help="Remove the whole drawing"):
        clear()
    invert = st.checkbox(
        "Invert: regenerate everything except the painted area", key="paint:invert"
    )
    return {"tool": tool, "size": size, "invert": invert}


def draw(source: Source, opts: dict[str, Any]) -> masks.Fit:
    """Show the canvas over the source image; returns how the image sits on it."""
    from streamlit_drawable_canvas import st_canvas  # needs a running script

    width, height = display_size(source.width, source.height)
    eraser = opts["tool"] == "Eraser"
    result = st_canvas(
        fill_color=PAINT,
        stroke_width=opts["size"] if TOOLS[opts["tool"]] == "freedraw" else 1,
        stroke_color=masks.ERASER_COLOR if eraser else PAINT,
        background_image=source.data,
        width=width,
        height=height,
        drawing_mode=TOOLS[opts["tool"]],
        initial_drawing=_state("initial"),
        key=f"paint-canvas-{_state('version', 0)}",
    )
    if result.json_data is not None:
        st.session_state["paint:drawing"] = result.json_data
    return masks.Fit.resolve(result.background_fit, width, height, source.width, source.height)


def drawing() -> dict | None:
    """The drawing as last sent by the canvas."""
    return _state("drawing")


def preview(source: Source, result: masks.MaskResult) -> bytes:
    """The source with the exact regenerated region tinted and outlined (PNG)."""
    return _preview(source.data, result.areas, result.width, result.height)


@st.cache_data(max_entries=8, show_spinner=False)
def _preview(data: bytes, areas: list[dict], width: int, height: int) -> bytes:
    """Drawn once per image and mask, not on every rerun."""
    with Image.open(io.BytesIO(data)) as img:
        base = img.convert("RGBA").resize((width, height))
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    line = max(2, round(max(base.size) / 400))
    for area in areas:
        points = list(zip(area["points"][0::2], area["points"][1::2], strict=True))
        pen.polygon(points, fill=(255, 40, 90, 110), outline=(255, 255, 255, 230), width=line)
    out = io.BytesIO()
    Image.alpha_composite(base, overlay).convert("RGB").save(out, "PNG")
    return out.getvalue()


@st.cache_data(max_entries=16, show_spinner=False)
def build(drawing: dict | None, fit: masks.Fit, invert: bool) -> masks.MaskResult:
    """The mask of a drawing, computed once per drawing (a rerun reuses it)."""
    return masks.build_mask(drawing, fit, invert=invert)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def fetch(url: str) -> bytes:
    """A pasted source URL's image, downloaded once, not on every rerun."""
    return images.fetch_image(url)
