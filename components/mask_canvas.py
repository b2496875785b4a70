"""The Paint page's drawable canvas: tools, a drawing kept across reruns, the mask preview."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st
from PIL import Image, ImageDraw

from components import image_picker
from mjstudio import images
from mjstudio.mask import geometry as masks
from mjstudio.mask import sizing

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
MIN_SHOWN = 480  # a small image is shown enlarged until its long side is this long
SHOWN_SIDE = 2 * MAX_W  # the canvas background: sharp on a 2x screen, never the full photo
PREVIEW_SIDE = 720  # the mask preview (shown 360 px wide)


@dataclass(frozen=True)
class Source:
    """The source image, upright: its bytes and size, and the smaller copy the page shows."""

    data: bytes
    width: int
    height: int
    digest: str
    shown: bytes = b""  # at most SHOWN_SIDE px long: the canvas background and the preview
    turned: bool = False  # turned upright here: send these bytes, not the picked URL

    @property
    def background(self) -> bytes:
        """What the canvas and the preview draw on."""
        return self.shown or self.data


def load_source(picked: Picked) -> Source:
    """The picked image, upright, with its display copy; ImageRejected or ValueError if unusable."""
    if picked.data is not None:  # its digest was taken once, when it was picked
        return _prepared(picked.digest, picked.data)
    data = fetch(picked.url)
    return _prepared(hashlib.sha1(data).hexdigest(), data)


@st.cache_resource(max_entries=4, show_spinner=False)
def _prepared(digest: str, _data: bytes) -> Source:
    """Turned upright and reduced once per image (the full image is never kept decoded)."""
    data = images.upright(_data)
    width, height = images.image_size(data)
    shown = images.display_copy(data, SHOWN_SIDE)
    return Source(data, width, height, digest, shown, turned=data is not _data)


def send_url(url: str, source: Source, plan: masks.SizePlan) -> str:
    """The source image's URL for the request: as picked, or a resized (or turned) copy of at
    most the provider's 10 MB, served by the studio when the picked image was, else data:."""
    if not plan.needs_resize and not source.turned:
        return url
    if plan.needs_resize:
        data, mime = images.resized_to_fit(source.data, *plan.send_size, images.MAX_UPLOAD_BYTES)
    else:
        data, mime = source.data, images.sniff_mime(source.data)
    return image_picker.url_for(data, mime, link=not url.lower().startswith("data:"))


def display_size(width: int, height: int) -> tuple[int, int]:
    """The canvas size on the page: fits MAX_W x MAX_H, the aspect kept, a small image enlarged."""
    return sizing.display_size(width, height, (MAX_W, MAX_H), MIN_SHOWN)


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
        background_image=source.background,
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
    """The source with the exact regenerated region tinted and outlined (PNG, small)."""
    return _preview(source.background, result.areas, result.width, result.height)


@st.cache_data(max_entries=8, show_spinner=False)
def _preview(data: bytes, areas: list[dict], width: int, height: int) -> bytes:
    """Drawn once per image and mask, at most PREVIEW_SIDE px long (areas are in width x height)."""
    with Image.open(io.BytesIO(data)) as img:
        img.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        base = img.convert("RGBA").resize(
            sizing.display_size(width, height, (PREVIEW_SIDE, PREVIEW_SIDE), 0)
        )
    sx, sy = base.width / width, base.height / height
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    for area in areas:
        xs, ys = area["points"][0::2], area["points"][1::2]
        points = [(x * sx, y * sy) for x, y in zip(xs, ys, strict=True)]
        pen.polygon(points, fill=(255, 40, 90, 110), outline=(255, 255, 255, 230), width=2)
    out = io.BytesIO()
    Image.alpha_composite(base, overlay).convert("RGB").save(out, "PNG")
    return out.getvalue()


@st.cache_data(max_entries=16, show_spinner=False)
def build(drawing: dict | None, fit: masks.Fit, invert: bool) -> masks.MaskResult:
    """The mask of a drawing, computed once per drawing (a rerun reuses it)."""
    return masks.build_mask(drawing, fit, invert=invert)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def fetch(url: str) -> bytes:
    """A pasted source URL's image (data:, or http(s) through the outbound fence), fetched once.

    Raises ImageRejected saying why it cannot be used (never whether a port is open).
    """
    from components import services  # here: the rest of this module needs neither
    from mjstudio.api import fence
    from mjstudio.api.errors import FetchRefused

    if url.strip().lower().startswith("data:"):
        data = images.data_url_bytes(url)
    else:
        conf = services.settings()
        policy = fence.FencePolicy(
            allow_private=conf.allow_private_urls,
            deadline_s=conf.fetch_timeout_s,
            max_bytes=images.MAX_UPLOAD_BYTES,
        )
        try:
            data = fence.fetch(url, policy)
        except FetchRefused as exc:
            raise images.ImageRejected(exc.message) from None
    images.check_upload(url.rsplit("/", 1)[-1][:60], data)
    return data
