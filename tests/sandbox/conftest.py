"""Fixtures: one shared sandbox over loopback, an image host, a callback receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.sandbox import helpers
from tests.sandbox.server import running_sandbox, serve_app

TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A sandbox shared by the tests that need no special settings."""
    data_dir = tmp_path_factory.mktemp("sandbox-data")
    with running_sandbox(helpers.settings(data_dir=data_dir)) as url:
        yield url


@pytest.fixture(scope="session")
def api(sandbox_url: str) -> Iterator[httpx.Client]:
    """An httpx client for the shared sandbox, with the right key."""
    with helpers.api_client(sandbox_url) as client:
        yield client


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """The source picture used by the reference-image tests."""
    return helpers.photo()


def _files(photo: Image.Image) -> dict[str, tuple[bytes, str]]:
    png = helpers.encode(photo)
    return {
        "photo.png": (png, "image/png"),
        "photo.jpg": (helpers.encode(photo, "JPEG"), "image/jpeg"),
        "photo.webp": (helpers.encode(photo, "WEBP"), "image/webp"),
        "anim.gif": (helpers.encode(photo, "GIF"), "image/gif"),
        "notes.txt": (b"this is not a picture\n", "text/plain"),
        "huge.png": (png + b"\0" * (TEN_MB + 1 - len(png)), "image/png"),
    }


@pytest.fixture(scope="session")
def image_host(photo: Image.Image) -> Iterator[str]:
    """A tiny web server with pictures (and non-pictures): /files/, /go/ (redirect), /stream/."""
    files = _files(photo)

    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            return Response(b"missing", status_code=404)
        body, mime = files[name]
        return Response(body, media_type=mime)

    async def go(request: Request) -> Response:
        return RedirectResponse(f"/files/{request.path_params['name']}", status_code=302)

    async def stream(request: Request) -> Response:
        body, mime = files[request.path_params["name"]]
        chunks = (body[k : k + 65536] for k in range(0, len(body), 65536))
        return StreamingResponse(chunks, media_type=mime)  # no Content-Length

    routes = [
        Route("/files/{name}", serve),
        Route("/go/{name}", go),
        Route("/stream/{name}", stream),
    ]
    app = Starlette(routes=routes)
    with serve_app(app) as url:
        yield url


@dataclass
class Receiver:
    """Callback bodies received, per hook name; a 'flaky' hook fails its first call."""

    url: str = ""
    bodies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self, name: str) -> list[dict[str, Any]]:
        """The bodies a hook has accepted so far."""
        with self.lock:
            return list(self.bodies.get(name, []))


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """A local server that records callback POSTs at /hook/{name}."""
    rec = Receiver()

    async def hook(request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.json()
        with rec.lock:
            rec.calls[name] = rec.calls.get(name, 0) + 1
            if name.startswith("flaky") and rec.calls[name] == 1:
                return JSONResponse({"ok": False}, status_code=503)
            rec.bodies.setdefault(name, []).append(body)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook/{name}", hook, methods=["POST"])])
    with serve_app(app) as url:
        rec.url = url
        yield rec


@dataclass
class Parent:
    """A finished text-to-image task and its images."""

    task_id: str
    images: list[np.ndarray]


@pytest.fixture(scope="session")
def parent(api: httpx.Client) -> Parent:
    """A finished 16:9 text-to-image task, the parent of vary and upscale tests."""
    task_id = helpers.create(
        api, {"mode": "text-to-image", "prompt": "golden hills", "aspect": "16:9"}
    )
    urls = helpers.result_urls(helpers.wait_final(api, task_id))
    return Parent(task_id, [np.asarray(helpers.download(u)) for u in urls])
