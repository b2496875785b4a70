"""The studio's frame: page config, session keys, provider banner, navigation over pages/."""

import streamlit as st

from components import session, sidebar, sitemap

st.set_page_config(page_title="MJ Studio", page_icon=":art:", layout="wide")
session.init()
page = sitemap.navigation()
session.arrive(page.url_path)
sidebar.provider_banner()
sidebar.render()
page.run()
