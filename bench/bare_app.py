"""The reference of the start-up figure: a bare one-line Streamlit app."""

import streamlit as st

st.title("A bare Streamlit app")
