"""Paint: draw the region to regenerate on the source image (upload-paint)."""

import hashlib

import streamlit as st

from components import actions, feed, image_picker, mask_canvas, params
from mjstudio import images
from mjstudio.mask import geometry as masks
from mjstudio.mask import placement as places

MODE = "upload-paint"
CANVAS_CHOICES = ("Same as the image", "Zoom out", "Target aspect")

st.title("Paint")
st.caption("Paint the region to regenerate, then describe the result you want in it.")
params.apply_prefill(MODE)

picked = image_picker.pick("paint", label="Source image")
if picked is not None:
    st.session_state["paint:picked"] = picked
elif st.session_state.get("paint:picked") is not None:  # back from another page
    picked = st.session_state["paint:picked"]
    st.caption(f"Painting on {picked.label}. Pick another image above to replace it.")
    if st.button("Use no image", key="paint:forget"):
        st.session_state["paint:picked"] = None
        st.rerun()
source = None
if picked is not None:
    try:
        data = picked.data or mask_canvas.fetch(picked.url)
        w, h = images.image_size(data)
        source = mask_canvas.Source(data, w, h, hashlib.sha1(data).hexdigest())
    except (images.ImageRejected, ValueError) as exc:
        st.error(f"The source image can't be used: {exc}", icon=":material/broken_image:")

if source is None:
    st.info("Pick a source image to paint on: upload one, paste its URL or use an earlier result.")
    feed.render(MODE)
    st.stop()

if st.session_state.get("page_before") != "paint":
    mask_canvas.remount()  # back from another page: the canvas starts from the kept drawing
mask_canvas.reset_on_new_source(source)
resize_to = None
try:
    masks.check_source_size(source.width, source.height)
except masks.MaskError as exc:
    st.warning(str(exc), icon=":material/aspect_ratio:")
    try:
        w2, h2, _ = masks.fit_to_provider_range(source.width, source.height)
        if st.checkbox(f"Send it resized to {w2}×{h2}", value=True, key="paint:resize"):
            resize_to = (w2, h2)
    except masks.MaskError:
        pass

opts = mask_canvas.tools()
fit = mask_canvas.draw(source, opts)
send_w, send_h = resize_to or (source.width, source.height)
if resize_to:
    fit = fit.resized(send_w, send_h)

with st.expander("Canvas and placement (extend the picture)"):
    how = (
        st.segmented_control(
            "Canvas", CANVAS_CHOICES, default=CANVAS_CHOICES[0], key="paint:canvas-how"
        )
        or CANVAS_CHOICES[0]
    )
    anchor = st.selectbox("Image position", list(places.ANCHORS), key="paint:anchor")
    if how == "Zoom out":
        zoom = st.slider(
            "Zoom out",
            1.0,
            2.0,
            1.5,
            0.05,
            key="paint:zoom",
            help="The canvas is this many times the image; the rest is generated.",
        )
        place = places.placement(send_w, send_h, zoom, anchor)
    elif how == "Target aspect":
        aspect = st.selectbox("Aspect", ["1:1", "4:3", "3:2", "16:9", "9:16"], key="paint:aspect")
        place = places.placement_for_aspect(send_w, send_h, aspect, anchor)
    else:
        place = places.placement(send_w, send_h)
    st.json({"canvas": place.canvas, "imgPos": place.img_pos}, expanded=True)

as_url = st.toggle(
    "Send the mask as an image (mask.url) instead of polygons (mask.areas)", key="paint:as-url"
)
result = None
try:
    result = mask_canvas.build(mask_canvas.drawing(), fit, opts["invert"])
except masks.MaskError as exc:
    st.caption(str(exc))
if result is not None:
    points = sum(len(a["points"]) // 2 for a in result.areas)
    st.image(
        mask_canvas.preview(source, result),
        width=360,
        caption=f"Regenerated: {result.painted_fraction:.1%} of the image · "
        f"{len(result.areas)} polygon(s), {points} points",
    )

with st.form("paint-form", border=False):
    text = params.prompt_box(MODE)
    fields = params.version_speed(MODE)
    go = st.form_submit_button("Generate", type="primary", icon=":material/brush:")

if go:
    if result is None:
        st.error("Paint the region to regenerate first.", icon=":material/brush:")
    else:
        url = picked.url
        if resize_to:
            url = images.to_data_url(images.resized_png(source.data, *resize_to), "image/png")
        task_input = params.read_and_build(
            MODE,
            text,
            fields,
            image_urls=[url],
            mask=result.mask_field(as_url=as_url),
            canvas=place.canvas,
            imgPos=place.img_pos,
        )
        if task_input is not None:
            actions.submit(task_input)
            st.toast("Paint task sent.")

feed.render(MODE)
