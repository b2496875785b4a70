"""Values found once per script run: what does not change within a run (the visitor, the
Studio) but is asked for by every row and button of a page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

T = TypeVar("T")


def once(name: str, compute: Callable[[], T]) -> T:
    """``compute()``'s value, found once per script run (and fragment run) of this session;
    outside a run, found at every call. An exception is raised again at the next call."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return compute()
    run = ctx.cursors  # Streamlit makes a new dict for every run
    kept = getattr(ctx, "_mjstudio_per_run", None)
    if kept is None or kept[0] is not run:
        kept = (run, {})  # holding the run's dict: no later run can match it
        ctx._mjstudio_per_run = kept
    if name not in kept[1]:
        kept[1][name] = compute()
    return kept[1][name]
