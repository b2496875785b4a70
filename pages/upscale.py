"""Upscale: one larger image of one image of a finished task."""

import streamlit as st

from components import actions, feed, params, parent_picker
from mjstudio.api.contract import UPSCALE_TYPES

MODE = "upscale"
TYPE_HELP = (
    "0 Standard HD · 1 Creative HD adds creative detail · 2 doubles the resolution · "
    "3 quadruples it"
)

st.title("Upscale")
params.apply_prefill(MODE)

parent = parent_picker.pick(MODE)
with st.form("upscale-form", border=False):
    kind = st.radio(
        "Type",
        list(UPSCALE_TYPES),
        format_func=lambda t: f"{UPSCALE_TYPES[t]} ({t})",
        horizontal=True,
        key=params.key(MODE, "type"),
        help=TYPE_HELP,
    )
    fields = params.version_speed(MODE)
    go = actions.generate_button("upscale-form", icon=":material/zoom_in:")

if go.clicked:
    if parent is None:
        st.error("Pick a finished task and one of its images first.")
    else:
        task_input = params.build(
            MODE, taskId=parent.task_id, imageIndex=parent.index, type=kind, **fields
        )
        if task_input is not None:
            actions.send(go, task_input, parent=parent.record, index=parent.index)
            st.toast("Upscale task sent.")

feed.render(MODE)
