"""A task's action as a board row offers it: star, share, open, use these settings, re-run...

The browser-drawn row (components/board_row.py) shows it as one of its buttons and sends its
``name`` back when clicked; where Streamlit draws the task instead (a running task's row, a
large card) ``draw_buttons`` makes it a small Streamlit button under its own ``key``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Action:
    """One action: its event name, label, what it does, its tooltip and Streamlit button key.

    ``once``: it sends a task, so a click made on an older drawing of the row is dropped.
    """

    name: str
    label: str
    run: Callable[[], None]
    help: str = ""
    key: str = ""
    once: bool = False


def draw_buttons(found: list[Action]) -> None:
    """The actions as Streamlit's small buttons, side by side."""
    with st.container(horizontal=True, gap="xxsmall", width="content"):
        for action in found:
            if st.button(action.label, key=action.key, type="tertiary", help=action.help or None):
                action.run()
