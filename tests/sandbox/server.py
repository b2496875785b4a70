"""Serve ASGI apps (the sandbox, tiny helper servers) on loopback from a background thread.

Importable by any test package: ``from tests.sandbox.server import running_sandbox``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from mjstudio.sandbox import SandboxSettings, create_app
from tests.waiting import wait_for


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port that nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(app: Any, host: str = "127.0.0.1", start_timeout_s: float = 15.0) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started() -> bool:
        if not server.started and not thread.is_alive():
            raise RuntimeError("the test server did not start (its thread ended)")
        return server.started

    wait_for(
        started, timeout=start_timeout_s, interval=0.01, message="the test server did not start"
    )
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def running_sandbox(settings: SandboxSettings) -> Iterator[str]:
    """Run a sandbox provider with these settings; yields its base URL."""
    with serve_app(create_app(settings)) as base_url:
        yield base_url
