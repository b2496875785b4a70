"""Data-folder problems shown as one clear banner instead of a traceback.

A full, read-only or damaged data folder raises ``StoreUnavailable`` (a plain message naming
no server path) from any store call. The frame and the feed fragment draw their parts inside
``store_guard``: the part stops, the banner says what is wrong, the rest of the page (the
navigation, Settings) keeps working, and the next run tries again by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from components import services, session
from components.plain import plain
from mjstudio.tasks.store import StoreUnavailable

log = logging.getLogger("mjstudio.ui")

BANNER = (
    "**The studio can't use its data folder right now.** {message} Tasks can't be stored or "
    "shown until this is fixed; pages that don't need them still work, and the studio "
    "picks up again by itself once the folder is usable."
)


SHOWN = "problems:banner-shown"


def new_run() -> None:
    """The frame starts a run: no banner shown yet."""
    st.session_state[SHOWN] = False


@contextmanager
def store_guard() -> Iterator[None]:
    """Run a part of the page; a StoreUnavailable stops only that part, with the banner."""
    try:
        yield
    except StoreUnavailable as exc:
        log.warning("data folder unavailable: %s", exc)
        show(exc)


def show(exc: StoreUnavailable) -> None:
    """The banner for a data folder that can't be used (once per run)."""
    if st.session_state.get(SHOWN):
        return
    st.session_state[SHOWN] = True
    st.error(BANNER.format(message=plain(exc)), icon=":material/database_off:")


def recovered_notice() -> None:
    """Say once per session that a damaged task database was set aside for a fresh one."""
    recovered = services.studio().store.recovered_from
    if recovered is None or not session.first_time("store-recovered"):
        return
    st.warning(
        "The task database was damaged, so the studio set it aside (kept as "
        f"{plain(recovered.name)} in the data folder) and started a fresh one: tasks made "
        "before are not listed.",
        icon=":material/healing:",
    )
