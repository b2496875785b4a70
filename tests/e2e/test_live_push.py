"""A running card is redrawn as soon as its results are stored, without waiting for the live
refresh's timer (components/wakeup.py): with every timer rerun the browser asks for dropped on
its way to the server, the finished grid still appears, and the full run that follows it ends
the timer."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, WebSocketRoute
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.e2e.test_studio import (
    POLL_S,
    TASK_TIMEOUT_S,
    card,
    generate,
    loaded_images,
    open_imagine,
    records,
)
from tests.waiting import wait_for

STREAM = re.compile(r"/_stcore/stream")


def _timer_rerun(message: str | bytes) -> bool:
    """True for the browser's request to rerun a fragment on its timer (``run_every``)."""
    if isinstance(message, str):
        return False
    msg = BackMsg()
    msg.ParseFromString(message)
    rerun = msg.rerun_script
    return msg.WhichOneof("type") == "rerun_script" and rerun.is_auto_rerun and rerun.fragment_id


def _drop_timer_reruns(page: Page, dropped: list[bytes]) -> None:
    """Pass the page's websocket through, less the fragment timer's rerun requests."""

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if _timer_rerun(message):
                dropped.append(message)
            else:
                server.send(message)

        ws.on_message(from_page)

    page.route_web_socket(STREAM, route)


def test_a_finished_grid_shows_though_the_timer_reruns_never_arrive(
    start_studio, page: Page, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    studio = start_studio(data, {"MJSTUDIO_SANDBOX_LATENCY": "3"})
    dropped: list[bytes] = []
    _drop_timer_reruns(page, dropped)
    open_imagine(page, studio)
    generate(page, "a lighthouse on a cliff at dusk")
    grid = wait_for(lambda: records(data), timeout=TASK_TIMEOUT_S, interval=POLL_S)[0]
    loaded_images(card(page, grid, "text-to-image"), 4)  # the server reran the fragment
    assert dropped, "the card ran no timer: this test proves nothing"
    seen: list[int] = []

    def timer_gone() -> bool:
        seen.append(len(dropped))
        return len(seen) > 2 and seen[-1] == seen[-3]

    wait_for(timer_gone, timeout=TASK_TIMEOUT_S, interval=0.5, message="the timer still runs")
    loaded_images(card(page, grid, "text-to-image"), 4)  # drawn again by the full run
