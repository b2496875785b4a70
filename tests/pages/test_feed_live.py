"""The live feed outside a server (AppTest): its fragment leaves no listener with the tracker,
whose runtime is only a stand-in there, and a finished task is drawn by a full run at once. On
a server the tracker wakes the fragment (tests/e2e/test_live_push.py)."""

from __future__ import annotations

import time

import pytest

from components import services
from mjstudio.tasks.record import RecordState
from tests.pages import probes
from tests.pages.conftest import add_task, with_files

pytestmark = pytest.mark.usefixtures("framed")


def test_a_live_fragment_outside_a_server_leaves_no_listener(app, store, workspace):
    now = time.time()
    running = add_task(
        store, workspace, state=RecordState.PROCESSING, task_id="t-run", submitted_at=now
    )
    with probes.fragments() as seen:
        at = app()
        probes.tick(at, seen.timers[0][0])
        assert len(services.studio().tracker.changes) == 0
        with_files(store, store.update(running.id, state=RecordState.SUCCESS), 4)
        seen.cards.clear()
        probes.tick(at, seen.timers[0][0])
    assert seen.cards == [(running.id, None)]  # drawn by the full run, outside the fragment
