"""Waking a live fragment at once when this server stores one of its tasks done.

The feed's fragment (components/feed.py) reruns every REFRESH_S and finds stored changes by
itself. Each of its runs also leaves a listener with the tracker (``mjstudio.tasks.changes``):
when this server stores one of the fragment's tasks done (its results downloaded, or a failure
that a poll or a provider's callback brought), the listener asks the browser session for one
rerun of that fragment, the same request its timer makes, so the card is redrawn without
waiting for the next tick. A
fragment that has drawn a finished card asks here for the full run that takes the card out of
it, a moment later (``full_run``): its images reach the browser first.

Streamlit has no public call for this. ``_rerun`` uses the session (``AppSession``) on its event
loop, as Streamlit's own rerun on a source change does, and only while no run of the session is
under way (else it asks again a moment later), so it never mixes with the browser's requests;
a fragment a full run has dropped since is not run, nor is the full run it asked for. Where that
is not possible (an AppTest run, a closed session, another Streamlit) nothing is asked: the
timer still redraws the card, and ``full_run`` says so (the caller then uses ``st.rerun``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from streamlit.runtime.scriptrunner_utils.script_run_context import (
    ThreadState,
    get_script_run_ctx,
)

from components import services

log = logging.getLogger("mjstudio.wakeup")

RETRY_S = 0.02  # a run of the session is under way: ask again this soon...
RETRIES = 50  # ...this many times at most (one second), then leave it to the timer
_pending: set[tuple[str, str, bool]] = set()  # asked, not run yet (the event loop's own)


@dataclass(frozen=True)
class Target:
    """One fragment of one browser session."""

    session_id: str
    fragment_id: str


def current() -> Target | None:
    """The fragment running on this thread; None outside a fragment or outside a server."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or _session(ctx.session_id) is None:
        return None
    try:
        fragment_id = ThreadState.get().fragment_id
    except RuntimeError:
        return None
    return Target(ctx.session_id, fragment_id) if fragment_id else None


def watch(where: str, ids: list[str]) -> None:
    """From inside a fragment: rerun it as soon as this server stores one of ``ids`` done."""
    target = current()
    if target is None:
        return
    key = f"{target.session_id}:{where}"
    services.studio().tracker.changes.listen(key, ids, lambda _: ask(target))


def forget(where: str) -> None:
    """The page shows no live fragment any more: stop listening for it."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        services.studio().tracker.changes.forget(f"{ctx.session_id}:{where}")


def full_run(after_s: float) -> bool:
    """From inside a fragment: one full run of the page ``after_s`` from now, once this run is
    over; False (nothing asked) outside a server."""
    target = current()
    return target is not None and ask(target, full=True, after_s=after_s)


def ask(target: Target, *, full: bool = False, after_s: float = 0.0) -> bool:
    """Ask (from any thread) for a rerun of the fragment, or of the page; False when its
    session is gone. Asking again before the first one ran asks nothing more."""
    session = _session(target.session_id)
    loop = getattr(session, "_event_loop", None)
    if session is None or loop is None or loop.is_closed():
        return False
    key = (target.session_id, target.fragment_id, full)
    try:
        loop.call_soon_threadsafe(_queue, session, key, after_s)
    except RuntimeError:  # the loop closed meanwhile
        return False
    return True


def _queue(session: Any, key: tuple[str, str, bool], after_s: float) -> None:
    if key not in _pending:
        _pending.add(key)
        session._event_loop.call_later(after_s, _rerun, session, key, RETRIES)  # noqa: SLF001


def _rerun(session: Any, key: tuple[str, str, bool], retries: int) -> None:
    """On the session's event loop: the rerun once no run of the session is under way."""
    _, fragment_id, full = key
    try:
        if not session.has_fragment(fragment_id):
            _pending.discard(key)  # a full run dropped it since: that run drew the latest
        elif getattr(session, "_scriptrunner", None) is None:
            _pending.discard(key)
            session.request_rerun(_client_state(session, None if full else fragment_id))
        elif retries > 0:
            loop = session._event_loop  # noqa: SLF001 - see the module doc
            loop.call_later(RETRY_S, _rerun, session, key, retries - 1)
        else:
            _pending.discard(key)  # busy all along: the timer reruns the fragment
    except Exception:  # noqa: BLE001 - the timer redraws the card anyway
        _pending.discard(key)
        log.exception("waking the page (fragment %s) failed", fragment_id)


def _client_state(session: Any, fragment_id: str | None) -> Any:
    """The session's last page, query and browser details; a fragment's rerun, or the page's."""
    from streamlit.proto.ClientState_pb2 import ClientState

    state = ClientState()
    state.CopyFrom(session._client_state)  # noqa: SLF001 - see the module doc
    if fragment_id:
        state.fragment_id, state.is_auto_rerun = fragment_id, True
    return state


def _session(session_id: str) -> Any:
    """The server's session of this id, None without a server or once it is gone.

    AppTest runs pages with a stand-in for the runtime (a mock): it has no sessions.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.app_session import AppSession

    if not Runtime.exists() or type(Runtime.instance()) is not Runtime:
        return None
    found = Runtime.instance().get_app_session(session_id)
    return found if isinstance(found, AppSession) else None
