"""The studio's frame: page config, session keys, provider banner, navigation over pages/."""

import streamlit as st

from components import services, sidebar

st.set_page_config(page_title="MJ Studio", page_icon=":art:", layout="wide")
services.init_session()

PAGES = [
    st.Page("pages/imagine.py", title="Imagine", icon=":material/auto_awesome:", default=True),
    st.Page(
        "pages/image_to_image.py",
        title="Image to image",
        icon=":material/image:",
        url_path="image-to-image",
    ),
    st.Page("pages/paint.py", title="Paint", icon=":material/brush:", url_path="paint"),
    st.Page("pages/vary.py", title="Vary", icon=":material/shuffle:", url_path="vary"),
    st.Page("pages/upscale.py", title="Upscale", icon=":material/zoom_in:", url_path="upscale"),
    st.Page("pages/history.py", title="History", icon=":material/history:", url_path="history"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
]

page = st.navigation(PAGES)
st.session_state["page_before"] = st.session_state.get("page_now")
st.session_state["page_now"] = page.url_path or "imagine"
sidebar.provider_banner()
sidebar.render()
page.run()
