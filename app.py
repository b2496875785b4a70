"""MJ Studio's server: `streamlit run app.py`.

Streamlit detects the `st.App` below and serves it. Its lifespan starts the tracker before any
page is opened (so tasks left running by a restart finish and download on their own), and its
routes serve uploaded reference images, receive provider callbacks and, when no API key is
configured, host the embedded sandbox provider at /sandbox. The pages live in frame.py.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import streamlit as st
from starlette.routing import Mount
from streamlit.runtime.pages_manager import PagesManager

from components import services
from mjstudio.config import SANDBOX_PREFIX
from mjstudio.server import embedded, nodelay
from mjstudio.server.routes import studio_routes
from mjstudio.tasks.service import Studio

DATA_DIR = services.data_dir()

# frame.py navigates with st.navigation. Streamlit only learns that on the first
# st.navigation call; until then a pages/ folder next to the script makes a first visit to,
# say, /paint run pages/paint.py bare, without the frame. Say it up front.
PagesManager.uses_pages_directory = False
log = logging.getLogger("mjstudio.app")


@asynccontextmanager
async def lifespan(_app):
    """Start the studio's tracker with the server; stop it on shutdown."""
    port = st.get_option("server.port")
    nodelay.enable_on_listeners(port)
    embedded.set_mounted(DATA_DIR, f"http://127.0.0.1:{port}{SANDBOX_PREFIX}")
    conns = [embedded.connection(DATA_DIR)]
    configured = services.configured_connection()
    if configured and configured.base_url:
        conns.append(configured)
    studio = Studio.shared(DATA_DIR, conns)
    log.info("tracker started; data folder %s", DATA_DIR)
    yield {"studio": studio}
    Studio.forget(DATA_DIR)


app = st.App(
    "frame.py",
    lifespan=lifespan,
    routes=[
        *studio_routes(lambda: Studio.shared(DATA_DIR)),
        Mount(SANDBOX_PREFIX, app=embedded.app_for(DATA_DIR)),
    ],
)

if __name__ == "__main__":
    app.run()
