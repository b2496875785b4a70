"""The studio's pages, listed once: the frame's navigation, mode links and tests derive from it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager


@dataclass(frozen=True)
class PageSpec:
    """One page: its script, title, icon, URL path and the task mode it makes (if any)."""

    script: str
    title: str
    icon: str
    url_path: str
    mode: str | None = None
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/imagine.py", "Imagine", ":material/auto_awesome:", "", "text-to-image", True),
    PageSpec(
        "pages/image_to_image.py",
        "Image to image",
        ":material/image:",
        "image-to-image",
        "image-to-image",
    ),
    PageSpec("pages/paint.py", "Paint", ":material/brush:", "paint", "upload-paint"),
    PageSpec("pages/vary.py", "Vary", ":material/shuffle:", "vary", "vary"),
    PageSpec("pages/upscale.py", "Upscale", ":material/zoom_in:", "upscale", "upscale"),
    PageSpec("pages/sweeps.py", "Sweeps", ":material/grid_on:", "sweeps"),
    PageSpec("pages/history.py", "History", ":material/history:", "history"),
    PageSpec("pages/settings.py", "Settings", ":material/settings:", "settings"),
)
MODE_PAGES: dict[str, str] = {p.mode: p.script for p in PAGES if p.mode}
MODE_TITLES: dict[str, str] = {p.mode: p.title for p in PAGES if p.mode}


def by_script(script: str) -> PageSpec:
    """The page of a script path such as ``pages/paint.py``."""
    return next(p for p in PAGES if p.script == script)


def navigation() -> StreamlitPage:
    """The frame's navigation over every page."""
    return st.navigation(
        [
            st.Page(
                p.script,
                title=p.title,
                icon=p.icon,
                url_path=p.url_path or None,
                default=p.default,
            )
            for p in PAGES
        ]
    )


def serve_deep_links_through_the_frame() -> None:
    """Make a first visit to a deep link such as ``/paint`` run inside the frame.

    frame.py navigates with ``st.navigation``, but Streamlit learns that only on the first
    ``st.navigation`` call; until then a ``pages/`` folder beside the main script makes it run
    ``pages/paint.py`` bare, as a legacy page without the frame. Saying up front that the app
    does not use the pages folder that way fixes it; tests/e2e/test_studio.py
    (``test_deep_link_on_a_fresh_server_gets_the_studio_frame``) shows the failure without it.
    """
    PagesManager.uses_pages_directory = False
