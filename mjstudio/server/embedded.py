"""The built-in sandbox provider the studio uses when no API key is configured.

Under ``streamlit run app.py`` it is mounted on the app's own server at ``/sandbox`` while it
is the active provider (with a real key configured ``/sandbox`` answers 404); anywhere else (a
bare script run, AppTest) it is served from a thread on a free loopback port.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.routing import Mount

from mjstudio.config import DAY_S, SANDBOX_PREFIX, Connection, Settings, sandbox_key

if TYPE_CHECKING:  # the sandbox (FastAPI, uvicorn) is imported when first used, not at start-up
    import uvicorn
    from fastapi import FastAPI

    from mjstudio.sandbox import SandboxSettings

_lock = threading.Lock()
_mounted: dict[Path, str] = {}
_threaded: dict[Path, tuple[str, uvicorn.Server]] = {}
_connections: dict[Path, Connection] = {}  # pages ask on every run: read the key file once
_origins: dict[Path, set[str]] = {}  # the studio origins whose uploads the sandbox may fetch


def sandbox_settings(settings: Settings) -> SandboxSettings:
    """The embedded sandbox's settings for the studio's data folder."""
    from mjstudio.sandbox import SandboxSettings

    folder = settings.folder
    origins = _origins.setdefault(folder, set())
    if settings.public_url:
        origins.add(_origin(settings.public_url))
    return SandboxSettings(
        api_key=sandbox_key(folder),
        latency_s=settings.sandbox_latency_s,
        data_dir=folder / "sandbox",
        result_ttl_s=settings.sandbox_result_days * DAY_S,
        trusted_origins=origins,
        allow_private_urls=settings.allow_private_urls,
    )


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL, as the sandbox compares them."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def app_for(settings: Settings) -> FastAPI:
    """The sandbox ASGI app for the studio's data folder (mounted on the studio's server)."""
    from mjstudio.sandbox import create_app

    return create_app(sandbox_settings(settings))


class _BuiltOnFirstRequest:
    """An ASGI app that builds the sandbox when its first request arrives.

    The sandbox brings FastAPI and its models (about a quarter of a second of imports): the
    studio's first page does not wait for them, the first task sent does, once.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: Any = None
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = app_for(self._settings)
        await self._app(scope, receive, send)


def is_active(settings: Settings) -> bool:
    """True when the sandbox is the studio's provider: no key with a provider URL configured."""
    configured = settings.connection()
    return configured is None or not configured.base_url


def mount_for(settings: Settings) -> Mount:
    """``/sandbox`` on the studio's server: the sandbox when it is active, else a plain 404."""
    if is_active(settings):
        return Mount(SANDBOX_PREFIX, app=_BuiltOnFirstRequest(settings))
    return Mount(SANDBOX_PREFIX, app=JSONResponse({"code": 404, "msg": "no sandbox"}, 404))


def server_base(address: str | None, port: int) -> str:
    """The studio server's URL from this machine: loopback unless bound to one address only."""
    host = (address or "").strip()
    if host in ("", "0.0.0.0", "::", "localhost"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def set_mounted(data_dir: Path, base_url: str) -> None:
    """Record that the server mounted the sandbox at ``base_url``."""
    folder = Path(data_dir).resolve()
    with _lock:
        _mounted[folder] = base_url.rstrip("/")
        _origins.setdefault(folder, set()).add(_origin(base_url))


def connection(settings: Settings) -> Connection:
    """The connection to the embedded sandbox, serving it from a thread if not mounted."""
    key = settings.folder
    with _lock:
        base_url = _mounted.get(key) or _serve_in_thread(settings)
        known = _connections.get(key)
        if known is None or known.base_url != base_url:
            known = _connections[key] = settings.sandbox_connection(base_url, sandbox_key(key))
        return known


def _serve_in_thread(settings: Settings) -> str:
    data_dir = settings.folder
    if data_dir in _threaded:
        return _threaded[data_dir][0]
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    import uvicorn

    config = uvicorn.Config(app_for(settings), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="mj-sandbox", daemon=True
    ).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    base_url = f"http://127.0.0.1:{port}"
    _threaded[data_dir] = (base_url, server)
    return base_url


def app_url(data_dir: Path) -> str | None:
    """The studio server's own loopback URL when it hosts the sandbox (None otherwise)."""
    with _lock:
        mounted = _mounted.get(Path(data_dir).resolve())
    return mounted.removesuffix(SANDBOX_PREFIX) if mounted else None
