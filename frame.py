"""The studio's frame: page config, sign-in, session keys, provider banner, navigation."""

import streamlit as st

from components import identity, problems, session, sidebar, sitemap

# The favicon: a 2x2 grid in the theme's colour, inline (no file, no font or emoji lookup).
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#8a2846"/>'
    '<rect x="6" y="6" width="9" height="9" rx="2" fill="#f3c64b"/>'
    '<rect x="17" y="6" width="9" height="9" rx="2" fill="#63b4e4"/>'
    '<rect x="6" y="17" width="9" height="9" rx="2" fill="#7fd482"/>'
    '<rect x="17" y="17" width="9" height="9" rx="2" fill="#ffffff"/>'
    "</svg>"
)
st.set_page_config(page_title="MJ Studio", page_icon=ICON, layout="wide")
identity.require_sign_in()  # with [auth] configured: nothing below runs for a signed-out visitor
session.init()
problems.new_run()
page = sitemap.navigation()
session.arrive(page.url_path)
sidebar.provider_banner()
with problems.store_guard():  # a data folder that can't be used: one banner, no traceback
    sidebar.render()
    problems.recovered_notice()
with problems.store_guard():
    page.run()
