"""One client per distinct connection: sessions sharing a key never close each other's client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from mjstudio.api.contract import CREATE_PATH, build_input
from mjstudio.config import Connection, Settings
from mjstudio.sandbox import SandboxSettings
from mjstudio.tasks.clients import ClientPool
from mjstudio.tasks.record import RecordState
from mjstudio.tasks.service import Studio
from tests.sandbox.server import running_sandbox
from tests.waiting import wait_for

KEY = "shared-team-key"
FAST = (0.1, 0.1)
CREATE_DELAY_S = 0.6


@contextmanager
def slow_creates(upstream: str) -> Iterator[str]:
    """A loopback front of the provider that answers each create only after a delay."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith(CREATE_PATH):
                time.sleep(CREATE_DELAY_S)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = httpx.request(
                self.command, upstream + self.path, headers=headers, content=body, timeout=10
            )
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def provider(tmp_path) -> Iterator[str]:
    """A sandbox that takes the key as a Bearer token or in x-api-key, behind slow creates."""
    settings = SandboxSettings(
        api_key=KEY,
        latency_s=0.3,
        data_dir=tmp_path / "provider",
        extra_auth_headers=("x-api-key",),
    )
    with running_sandbox(settings) as url, slow_creates(url) as front:
        yield front


def test_two_sessions_on_one_key_with_different_headers_both_succeed(tmp_path, provider):
    studio = Studio.shared(Settings.load(environ={}, data_dir=tmp_path / "data"))
    try:
        bearer = Connection(base_url=provider, api_key=KEY, poll=FAST)
        header = Connection(base_url=provider, api_key=KEY, auth_header="x-api-key", poll=FAST)
        assert bearer.workspace == header.workspace  # one workspace, two connections
        first = studio.submit(bearer, build_input("text-to-image", prompt="a red fox"))
        time.sleep(CREATE_DELAY_S / 3)  # the first create is in flight on its client...
        second = studio.submit(header, build_input("text-to-image", prompt="a blue jay"))
        done = [
            wait_for(
                lambda rid=r.id: (got := studio.store.get(rid)).is_final and got,
                timeout=30,
                message=lambda rid=r.id: f"not finished: {studio.store.get(rid)}",
            )
            for r in (first, second)
        ]
        assert [r.state for r in done] == [RecordState.SUCCESS, RecordState.SUCCESS], [
            r.error for r in done
        ]
    finally:
        Studio.forget(tmp_path / "data")


def test_a_held_client_is_closed_only_when_returned() -> None:
    pool = ClientPool(max_idle=0)
    conn = Connection(base_url="http://127.0.0.1:9", api_key="k")
    with pool.lease(conn) as client:
        pool.close()
        assert not client._http.is_closed  # a worker still holds it
    assert client._http.is_closed
    with pytest.raises(RuntimeError):
        with pool.lease(conn):
            pass


def test_idle_clients_beyond_the_limit_are_closed_least_recent_first() -> None:
    pool = ClientPool(max_idle=1)
    a = Connection(base_url="http://127.0.0.1:9", api_key="a")
    b = Connection(base_url="http://127.0.0.1:9", api_key="b")
    with pool.lease(a) as client_a:
        pass
    with pool.lease(b) as client_b:
        pass
    assert client_a._http.is_closed and not client_b._http.is_closed
    assert len(pool) == 1
