"""Paint: draw the region to regenerate on the source image (upload-paint)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import actions, feed, image_picker, mask_canvas, params, session
from mjstudio import images
from mjstudio.mask import geometry as masks
from mjstudio.mask import placement as places
from mjstudio.mask import sizing

MODE = "upload-paint"


def source_image() -> tuple[image_picker.Picked | None, mask_canvas.Source | None]:
    """The source picker (or the image kept from an earlier visit) and the loaded image."""
    picked = image_picker.pick("paint", label="Source image")
    if picked is not None:
        mask_canvas.keep_picked(picked)
    elif (picked := mask_canvas.kept_picked()) is not None:  # back from another page
        st.caption(f"Painting on {picked.label}. Pick another image above to replace it.")
        if st.button("Use no image", key="paint:forget"):
            mask_canvas.keep_picked(None)
            st.rerun()
    if picked is None:
        return None, None
    try:
        return picked, mask_canvas.load_source(picked)
    except (images.ImageRejected, ValueError) as exc:
        st.error(f"The source image can't be used: {exc}", icon=":material/broken_image:")
        return picked, None


def size_advice(source: mask_canvas.Source) -> masks.SizePlan:
    """Warn about a source outside the provider's range and offer to send it resized; refuse
    one too small to paint on (the plan says it is not usable)."""
    plan = masks.plan_source(source.width, source.height)
    if not plan.usable:
        st.error(plan.message, icon=":material/photo_size_select_small:")
        return plan
    if not plan.in_range:
        st.warning(plan.message, icon=":material/aspect_ratio:")
    if plan.needs_resize:
        label = f"Send it resized to {plan.send_width}×{plan.send_height}"
        if not st.checkbox(label, value=True, key="paint:resize"):
            plan = plan.as_is()
    return plan


def canvas(source: mask_canvas.Source, plan: masks.SizePlan) -> tuple[dict[str, Any], masks.Fit]:
    """The tools and the drawing canvas; returns the tool options and the mask's fit."""
    if session.came_from_another_page():
        mask_canvas.remount()  # the canvas starts from the kept drawing
    mask_canvas.reset_on_new_source(source)
    opts = mask_canvas.tools()
    fit = mask_canvas.draw(source, opts)
    return opts, masks.send_fit(fit, plan)


def canvas_placement(plan: masks.SizePlan) -> places.Placement:
    """The canvas and placement controls (extend the picture); returns the placement."""
    with st.expander("Canvas and placement (extend the picture)"):
        choices = places.CANVAS_CHOICES
        how = (
            st.segmented_control("Canvas", choices, default=choices[0], key="paint:canvas-how")
            or choices[0]
        )
        anchor = st.selectbox("Image position", list(places.ANCHORS), key="paint:anchor")
        zoom, aspect = places.DEFAULT_ZOOM, places.ASPECTS[0]
        if how == places.ZOOM_OUT:
            zoom = st.slider(
                "Zoom out",
                *places.ZOOM_RANGE,
                places.DEFAULT_ZOOM,
                0.05,
                key="paint:zoom",
                help="The canvas is this many times the image; the rest is generated.",
            )
        elif how == places.TARGET_ASPECT:
            aspect = st.selectbox("Aspect", list(places.ASPECTS), key="paint:aspect")
        place = places.choose_placement(
            *plan.send_size, how, zoom=zoom, aspect=aspect, anchor=anchor
        )
        st.json({"canvas": place.canvas, "imgPos": place.img_pos}, expanded=True)
    return place


def mask_preview(
    source: mask_canvas.Source, fit: masks.Fit, invert: bool
) -> masks.MaskResult | None:
    """The mask of the drawing, previewed over the source; None (with why) when there is none."""
    try:
        result = mask_canvas.build(mask_canvas.drawing(), fit, invert)
    except masks.MaskError as exc:
        st.caption(str(exc))
        return None
    st.image(
        mask_canvas.preview(source, result),
        width=360,
        caption=f"Regenerated: {result.painted_fraction:.1%} of the image · "
        f"{len(result.areas)} polygon(s), {result.point_count} points",
    )
    return result


def generate_form(
    url: str,
    source: mask_canvas.Source,
    plan: masks.SizePlan,
    place: places.Placement,
    result: masks.MaskResult | None,
    as_url: bool,
) -> None:
    """The prompt and settings form; Generate sends the upload-paint task."""
    with st.form("paint-form", border=False):
        text = params.prompt_box(MODE)
        fields = params.version_speed(MODE)
        go = actions.generate_button("paint-form", icon=":material/brush:")
    if not go.clicked:
        return
    if result is None:
        st.error("Paint the region to regenerate first.", icon=":material/brush:")
        return
    task_input = params.read_and_build(
        MODE,
        text,
        fields,
        image_urls=[mask_canvas.send_url(url, source, plan)],
        mask=result.mask_field(as_url=as_url),
        canvas=place.canvas,
        imgPos=place.img_pos,
    )
    if task_input is not None:
        actions.send(go, task_input)
        st.toast("Paint task sent.")


def main() -> None:
    """The page, top to bottom."""
    st.title("Paint")
    st.caption("Paint the region to regenerate, then describe the result you want in it.")
    st.caption(sizing.SIZES_TEXT)
    params.apply_prefill(MODE)
    picked, source = source_image()
    if picked is None or source is None:
        st.info(
            "Pick a source image to paint on: upload one, paste its URL or use an earlier result."
        )
        feed.render(MODE)
        return
    plan = size_advice(source)
    if not plan.usable:
        feed.render(MODE)
        return
    opts, fit = canvas(source, plan)
    place = canvas_placement(plan)
    as_url = st.toggle(
        "Send the mask as an image (mask.url) instead of polygons (mask.areas)", key="paint:as-url"
    )
    result = mask_preview(source, fit, opts["invert"])
    generate_form(picked.url, source, plan, place, result, as_url)
    feed.render(MODE)


main()
