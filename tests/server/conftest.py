"""The studio's routes served on loopback from a thread, a Studio behind them, result servers."""

from __future__ import annotations

import io
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette

from mjstudio.config import Connection, Settings
from mjstudio.server.routes import studio_routes
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.service import Studio
from tests.sandbox.server import serve_app

KEY = "routes-test-key"
HOLD_S = 60.0  # a hanging result server holds each request at most this long


def png(size: int = 64) -> bytes:
    """A small PNG (a 2x2 grid once split)."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 40, 70)).save(out, "PNG")
    return out.getvalue()


@dataclass
class ResultServer:
    """A loopback server of one result image that answers late, or not at all until closed."""

    url: str
    delay_s: float | None  # None: hold every request until the server closes
    gets: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def result_server(delay_s: float | None) -> Iterator[ResultServer]:
    """Serve ``/result.png`` after ``delay_s`` seconds (None: never, until teardown)."""
    body = png()
    holder: list[ResultServer] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            served = holder[0]
            served.gets.append(self.path)
            wait = HOLD_S if served.delay_s is None else served.delay_s
            if served.release.wait(wait) or served.delay_s is None:
                return  # closed (or held to the end) without an answer
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(ResultServer(f"http://127.0.0.1:{server.server_address[1]}", delay_s))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield holder[0]
    finally:
        holder[0].release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Served:
    """A Studio, its routes served on loopback, and a callback-mode connection."""

    studio: Studio
    url: str
    conn: Connection

    def record(self, state: RecordState = RecordState.PENDING, task_id: str | None = "t-1"):
        """A stored callback-mode task, not due for a poll for an hour.

        One being sent ("creating") is held by a live server elsewhere, as a real one is.
        """
        request = {"request_type": "callback", "input": {"mode": "text-to-image", "prompt": "p"}}
        record = TaskRecord.new(
            self.conn.workspace,
            request,
            task_id=task_id,
            state=state,
            submitted_at=time.time(),
            next_poll_at=time.time() + 3600,
        )
        sender = "elsewhere/1/sending" if state is RecordState.CREATING else None
        return self.studio.store.add(record, lease_owner=sender)

    def callback_url(self, record: TaskRecord) -> str:
        """The signed URL the provider would call back for a record."""
        url = self.studio.callback_url(self.conn, record.id)
        assert url is not None
        return url


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], Served]]:
    """Serve a fresh Studio's routes; the connection's provider (and result host) is given."""
    numbers = itertools.count()
    with ExitStack() as stack:

        def start(provider_url: str) -> Served:
            folder = tmp_path / f"data{next(numbers)}"
            settings = Settings.load(environ={}, data_dir=folder, allow_private_urls=True)
            studio = Studio(settings)
            routes = Starlette(routes=studio_routes(lambda: studio))
            url = stack.enter_context(serve_app(routes))
            stack.callback(studio.tracker.stop, 2.0)  # runs before the routes stop serving
            conn = Connection(
                base_url=provider_url,
                api_key=KEY,
                request_type="callback",
                callback_base=url,
                timeout_s=HOLD_S,
            )
            studio.connect(conn)
            studio.tracker.start()
            return Served(studio, url, conn)

        yield start
