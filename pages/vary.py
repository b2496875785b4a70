"""Vary: four variations of one image of a finished task."""

import streamlit as st

from components import actions, feed, params, parent_picker
from mjstudio.api.contract import VARY_TYPES

MODE = "vary"

st.title("Vary")
st.caption(
    "Four new images close to one you like. Subtle keeps the composition; "
    "Strong explores further. A remix prompt steers the variations."
)
params.apply_prefill(MODE)

parent = parent_picker.pick(MODE)
with st.form("vary-form", border=False):
    kind = st.radio(
        "Type",
        list(VARY_TYPES),
        format_func=lambda t: f"{VARY_TYPES[t]} ({t})",
        horizontal=True,
        key=params.key(MODE, "type"),
    )
    text = params.prompt_box(MODE, label="Remix prompt (optional)", required=False)
    fields = params.version_speed(MODE)
    go = actions.generate_button("vary-form", icon=":material/shuffle:")

if go.clicked:
    if parent is None:
        st.error("Pick a finished task and one of its images first.")
    else:
        task_input = params.read_and_build(
            MODE,
            text,
            fields,
            taskId=parent.task_id,
            imageIndex=parent.index,
            type=kind,
            prompt=text,
        )
        if task_input is not None:
            actions.send(go, task_input, parent=parent.record, index=parent.index)
            st.toast("Variation task sent.")

feed.render(MODE)
