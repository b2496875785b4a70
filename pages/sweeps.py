"""Sweeps: a prompt, one or two parameters and their values, sent as one batch; the results on
a labelled board (rows x columns), live, with a contact sheet export. A prompt with { } options
or --repeat is a prompt matrix: its options make the board."""

import streamlit as st

from components import batch_send, params, problems, session, sweep_board
from mjstudio.tasks.batches import RANGES, SWEEP_PARAMS

MODE = "text-to-image"
SCOPE = "sweeps"  # the widgets' prefix and the Send button's token scope
NO_COLUMNS = "(none)"
RANGE = RANGES.items()
PROMPT_HELP = (
    "The prompt every task shares. Midjourney flags (--ar 16:9, --v 7 ...) work as usual; the "
    "swept values win over them. With a prompt-fragment axis, each value fills the prompt's {} "
    '(e.g. "a {} at dusk") or is added at its end. A prompt with options such as '
    "a {red, blue} bird --ar {1:1, 16:9}, or --repeat 3, is a prompt matrix: its options make "
    "the rows and columns instead of the axes."
)
VALUES_HELP = {
    **{name: f"Whole numbers from {lo} to {hi}, e.g. {lo}, {hi // 2}" for name, (lo, hi) in RANGE},
    "version": "Model versions, e.g. v6.1, v7, niji 6",
    "aspect": "Aspect ratios W:H, e.g. 1:1, 16:9, 9:16",
    "prompt": 'Prompt fragments, e.g. oil painting, watercolour; "quote, a value" with a comma; '
    "an empty value is the prompt alone",
}

st.title("Sweeps")
st.caption(
    "Try several values of one or two parameters at once: one task per combination, laid out "
    "as a labelled board (like an X/Y plot) that fills in as the results arrive."
)
sweep_board.show_notice()

text = st.text_area(
    "Prompt",
    key=f"{SCOPE}:prompt",
    height=90,
    help=PROMPT_HELP,
    placeholder="a lighthouse on a cliff at dusk, {} --ar 3:2",
)
with st.expander("Base parameters", expanded=False):
    fields = params.version_speed(SCOPE) | params.enhancements(SCOPE)

matrix = batch_send.is_matrix(text)
left, right = st.columns(2)
row_param = left.selectbox("Rows vary", SWEEP_PARAMS, key=f"{SCOPE}:rows:param", disabled=matrix)
row_values = left.text_input(
    "Row values",
    value="100, 500",
    key=f"{SCOPE}:rows:values",
    help=VALUES_HELP[row_param],
    disabled=matrix,
)
col_param = right.selectbox(
    "Columns vary", (NO_COLUMNS, *SWEEP_PARAMS), index=2, key=f"{SCOPE}:cols:param", disabled=matrix
)
col_values = right.text_input(
    "Column values",
    value="0, 50, 100",
    key=f"{SCOPE}:cols:values",
    help=VALUES_HELP.get(col_param, "No columns: one task per row value"),
    disabled=matrix or col_param == NO_COLUMNS,
)
if matrix:
    st.caption("This prompt is a prompt matrix: its { } options (and --repeat) make the board.")

cols = None if col_param == NO_COLUMNS else (col_param, col_values)
plan = batch_send.plan_board(text, MODE, fields, (row_param, row_values), cols)
token = session.nonce(SCOPE)
if plan is not None:
    confirmed = batch_send.confirm_count(plan, key=f"{SCOPE}:{token}")
    go = st.button(
        "Send batch",
        key=f"{SCOPE}:go:{token}",
        type="primary",
        icon=":material/grid_on:",
        disabled=not confirmed,
    )
    if go and confirmed:
        with problems.store_guard():
            sent = batch_send.send_batch(plan, token)
            session.renew_nonce(SCOPE)
            sweep_board.show_next(sent[0].batch_id)
            st.rerun()

st.divider()
with problems.store_guard():
    sweep_board.recent()
