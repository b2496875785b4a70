"""The studio's frame: page config, sign-in, session keys, provider banner, navigation."""

import streamlit as st

from components import identity, problems, session, sidebar, sitemap

st.set_page_config(page_title="MJ Studio", page_icon=":material/palette:", layout="wide")
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
