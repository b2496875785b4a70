"""Imagine: text to image.

The title and the form share one line (the prompt, its Parameters in a popover, Generate) so
that the board below shows at least four finished grids on a 1440x900 screen.
"""

import streamlit as st

from components import actions, batch_send, feed, params

MODE = "text-to-image"
COMPACT_PROMPT = 68  # px: the text area's smallest height, three lines

params.apply_prefill(MODE)

with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    st.title("Imagine", width="content")
    with (
        st.form("imagine-form", border=False, width="stretch"),
        st.container(horizontal=True, vertical_alignment="bottom", gap="small"),
    ):
        text = params.prompt_box(MODE, height=COMPACT_PROMPT)
        with st.container(width=160, gap="xsmall", horizontal_alignment="center"):
            with st.popover("Parameters", icon=":material/tune:", width="stretch"):
                fields = params.version_speed(MODE) | params.enhancements(MODE)
            go = actions.generate_button("imagine-form", icon=":material/auto_awesome:")

if go.clicked:
    params.advise(text, fields)
    if not batch_send.send_matrix_from_form(go, MODE, text, fields):  # {a, b} / --repeat: a batch
        task_input = params.read_and_build(MODE, text, fields)
        if task_input is not None:
            actions.send(go, task_input)
            st.toast("Task sent: it appears below and updates live.")

feed.render(MODE)
