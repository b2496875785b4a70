"""Imagine: text to image."""

import streamlit as st

from components import actions, feed, params

MODE = "text-to-image"

st.title("Imagine")
params.apply_prefill(MODE)

with st.form("imagine-form", border=False):
    text = params.prompt_box(MODE)
    with st.expander("Parameters", expanded=False):
        fields = params.version_speed(MODE) | params.enhancements(MODE)
    go = actions.generate_button("imagine-form", icon=":material/auto_awesome:")

if go.clicked:
    params.advise(text, fields)
    task_input = params.read_and_build(MODE, text, fields)
    if task_input is not None:
        actions.send(go, task_input)
        st.toast("Task sent: it appears below and updates live.")

feed.render(MODE)
