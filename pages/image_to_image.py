"""Image to image: four images from a prompt and reference images."""

import streamlit as st

from components import actions, display, feed, image_picker, params

MODE = "image-to-image"

st.title("Image to image")
st.caption(
    "Describe the result you want to see, not the edit: “a dog lying in a park”, "
    "not “change the background to a park”. One or two reference images give the "
    "most control."
)
params.apply_prefill(MODE)

left, right = st.columns(2)
with left:
    first = image_picker.pick("i2i-1", label="Reference image")
    if first and first.data:
        display.picked(first.data, first.digest, width=260)
with right, st.expander("Second reference (optional)"):
    second = image_picker.pick("i2i-2", label="Second reference image")

with st.form("i2i-form", border=False):
    text = params.prompt_box(MODE)
    with st.expander("Parameters", expanded=False):
        fields = params.version_speed(MODE) | params.enhancements(MODE)
    go = actions.generate_button("i2i-form", icon=":material/auto_awesome:")

if go.clicked:
    params.advise(text, fields, edit_check=True)
    urls = [p.url for p in (first, second) if p is not None]
    if not urls:
        st.error("Pick a reference image first (upload, URL or an earlier result).")
    else:
        task_input = params.read_and_build(MODE, text, fields, image_urls=urls)
        if task_input is not None:
            actions.send(go, task_input)
            st.toast("Task sent: it appears below and updates live.")

feed.render(MODE)
