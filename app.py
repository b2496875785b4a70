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

import gc
import importlib
import logging
import threading
from contextlib import asynccontextmanager

import streamlit as st

from components import services, sitemap
from mjstudio.config import SANDBOX_PREFIX, Connection
from mjstudio.server import embedded, nodelay
from mjstudio.server.routes import studio_routes

SETTINGS = services.settings()
sitemap.serve_deep_links_through_the_frame()
log = logging.getLogger("mjstudio.app")
# What the first page run needs beyond app.py's own imports: imported by the start-up thread
# after the tracker has started, while the first browser is still loading Streamlit's frontend.
WARM_UP = ("numpy", "PIL.Image", "streamlit.elements.lib.image_utils", "components.identity",
           "components.problems", "components.sidebar", "components.feed", "components.params",
           "components.actions", "components.batch_send", "components.task_card")  # fmt: skip


def _studio():
    from mjstudio.tasks.service import Studio  # the store and tracker: see _start

    return Studio


def _start(conns: list[Connection]) -> None:
    """Open the store and start the tracker, then import what the first page run needs.

    This runs on a thread of its own so that the server answers as soon as it listens: the
    first browser spends a second loading Streamlit's frontend before its first page run,
    which waits (Studio.shared's lock) only for whatever of this is left by then.

    The cyclic garbage collector is paused meanwhile: these imports make some 300 modules'
    objects, which live as long as the process, and the collections they set off were a fifth
    of the imports' time. Afterwards those objects are frozen (left out of later collections).
    """
    gc.disable()
    try:
        _open_and_warm(conns)
    finally:
        gc.enable()
        gc.freeze()


def _open_and_warm(conns: list[Connection]) -> None:
    try:
        _studio().shared(SETTINGS, conns)
        log.info("tracker started; data folder %s", SETTINGS.folder)
    except Exception:  # noqa: BLE001 - the pages and the health route open it again and report it
        log.exception("the studio could not start; the pages will say why")
    for name in WARM_UP:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page run imports it again and reports it
            log.exception("warming up %s failed", name)
    _once_per_process_checks()


def _once_per_process_checks() -> None:
    """Streamlit's first element of a process checks whether it was started from a REPL, to print
    a warning: `inspect.stack()` with source context, a walk over every loaded module's file
    (0.1-0.2 s of the start-up window with the studio's modules loaded). This function runs in
    the server's lifespan, so the process is `streamlit run` and the answer is known: no."""
    from streamlit import delta_generator

    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


@asynccontextmanager
async def lifespan(_app):
    """Start the studio's tracker with the server (on its start-up thread); stop it on shutdown."""
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
    starter = threading.Thread(target=_start, args=(conns,), name="mj-start", daemon=True)
    starter.start()
    yield
    starter.join()
    _studio().forget(SETTINGS.folder)


app = st.App(
    "frame.py",
    lifespan=lifespan,
    routes=[
        *studio_routes(lambda: _studio().shared(SETTINGS)),
        embedded.mount_for(SETTINGS),
    ],
)

if __name__ == "__main__":
    app.run()
