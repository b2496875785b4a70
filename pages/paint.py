"""Paint: regenerate a region of an image (upload-paint)."""

import streamlit as st

from components import actions, feed, image_picker, params
from mjstudio import images

MODE = "upload-paint"

st.title("Paint")
params.apply_prefill(MODE)
params.show_notices()

source = image_picker.pick("paint", label="Source image")
mask_file = st.file_uploader(
    "Mask (white = regenerate, same size as the source)",
    type=["png", "jpg", "jpeg", "webp"],
    key="paint:mask",
)
with st.form("paint-form", border=False):
    text = params.prompt_box(MODE)
    fields = params.version_speed(MODE)
    go = st.form_submit_button("Generate", type="primary", icon=":material/brush:")

if go:
    if source is None or mask_file is None:
        st.error("Pick a source image and a mask first.")
    else:
        mask_url = images.to_data_url(mask_file.getvalue(), mask_file.type or "image/png")
        task_input = params.read_and_build(
            MODE, text, fields, image_urls=[source.url], mask={"url": mask_url}
        )
        if task_input is not None:
            actions.submit(task_input)

feed.render(MODE)
