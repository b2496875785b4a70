"""MJ Studio's server: `streamlit run app.py`.

Streamlit detects the `st.App` below and serves it. Its lifespan starts the tracker before any
page is opened (so tasks left running by a restart finish and download on their own), and its
routes serve uploaded reference images, receive provider callbacks and, when no API key is
configured, host the embedded sandbox provider at /sandbox. The pages live in frame.py.

It listens on 127.0.0.1 only (.streamlit/config.toml): without an [auth] section in the
secrets the studio has no sign-in, so opening it to a network (STREAMLIT_SERVER_ADDRESS=0.0.0.0)
is a choice; read SECURITY.md and the README's "Run it for a team".
"""

from __future__ import annotations

import importlib
import logging
import threading
from contextlib import asynccontextmanager

import streamlit as st

from components import services, sitemap
from mjstudio.config import SANDBOX_PREFIX
from mjstudio.server import embedded, nodelay
from mjstudio.server.routes import studio_routes
from mjstudio.tasks.service import Studio

SETTINGS = services.settings()
sitemap.serve_deep_links_through_the_frame()
log = logging.getLogger("mjstudio.app")
# What the first page run needs beyond app.py's own imports: imported in the background at
# start-up, while the first browser is still loading Streamlit's frontend.
WARM_UP = ("numpy", "PIL.Image", "streamlit.elements.lib.image_utils", "components.feed",
           "components.params", "components.actions", "components.task_card")  # fmt: skip


def _warm_up() -> None:
    for name in WARM_UP:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page run imports it again and reports it
            log.exception("warming up %s failed", name)


@asynccontextmanager
async def lifespan(_app):
    """Start the studio's tracker with the server; stop it on shutdown."""
    port = st.get_option("server.port")
    nodelay.enable_on_listeners(port)
    conns = []
    if embedded.is_active(SETTINGS):  # else /sandbox is not mounted: nothing to connect to
        base = embedded.server_base(st.get_option("server.address"), port)
        embedded.set_mounted(SETTINGS.folder, base + SANDBOX_PREFIX)
        conns.append(embedded.connection(SETTINGS))
    configured = SETTINGS.connection()
    if configured and configured.base_url:
        conns.append(configured)
    Studio.shared(SETTINGS, conns)
    threading.Thread(target=_warm_up, name="mj-warm-up", daemon=True).start()
    log.info("tracker started; data folder %s", SETTINGS.folder)
    yield
    Studio.forget(SETTINGS.folder)


app = st.App(
    "frame.py",
    lifespan=lifespan,
    routes=[
        *studio_routes(lambda: Studio.shared(SETTINGS)),
        embedded.mount_for(SETTINGS),
    ],
)

if __name__ == "__main__":
    app.run()
