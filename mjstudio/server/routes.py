"""Extra HTTP routes of the studio's server: uploaded images, provider callbacks, health, and
signed links to result files and zips (mjstudio/server/files.py).

The handlers run on the server's event loop, which also serves every page: they do no network
or image work, and every store or file access runs in a worker thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mjstudio.server.files import file_routes

if TYPE_CHECKING:  # the store and tracker are imported by the server's start-up thread
    from mjstudio.tasks.service import Studio

UPLOADS_PATH = "/api/uploads/{name}"
CALLBACK_PATH = "/api/callback/{record_id}"
HEALTH_PATH = "/api/mjstudio/health"
MAX_CALLBACK_BYTES = 256 * 1024  # a status object is well under 10 KB


def _answer(code: int, msg: str) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg}, status_code=code)


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The request body, streamed; None as soon as it (or its declared length) passes ``limit``."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def callback_data(raw: bytes) -> dict | None:
    """The status object of a callback body (bare or in the API's envelope); None if not one."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    data = body.get("data", body)
    return data if isinstance(data, dict) else None


async def _callback(studio: Studio, request: Request) -> Response:
    """Verify, then record a provider's final status; the tracker downloads it later."""
    record_id, sig = request.path_params["record_id"], request.query_params.get("sig", "")
    if not studio.callback_signed(record_id, sig):
        return _answer(403, "bad signature")  # checked before a byte of the body is read
    raw = await read_capped(request, MAX_CALLBACK_BYTES)
    if raw is None:
        return _answer(413, f"body over {MAX_CALLBACK_BYTES} bytes")
    data = callback_data(raw)
    if data is None:
        return _answer(400, "body must be a JSON object (the task's status)")
    accepted = await run_in_threadpool(studio.receive_callback, record_id, sig, data)
    if not accepted:
        return _answer(409, "not accepted: not a final status of this task, or already final")
    return _answer(200, "success")


def studio_routes(get_studio: Callable[[], Studio]) -> list[Route]:
    """The routes, each resolving the Studio when called (it is made in the lifespan)."""

    async def upload(request: Request) -> Response:
        """Serve an uploaded reference image by its unguessable name."""
        found = await run_in_threadpool(get_studio().uploads.get, request.path_params["name"])
        if found is None:
            return Response(status_code=404)
        data, mime = found
        return Response(data, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})

    async def callback(request: Request) -> Response:
        """Receive the provider's final status of a task (callback mode)."""
        return await _callback(get_studio(), request)

    async def health(_: Request) -> Response:
        """The tracker, the database, this server's leases, the provider's last good answer.

        503 while the tracker is not running or the database cannot be used (a load balancer
        sends nobody there); never asks for sign-in, never names a key or a password.
        """
        found = await run_in_threadpool(get_studio().health)
        ok = found["tracker"] and found["database"]["ok"]
        return JSONResponse(found, status_code=200 if ok else 503)

    return [
        Route(UPLOADS_PATH, upload, methods=["GET", "HEAD"]),
        Route(CALLBACK_PATH, callback, methods=["POST"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
        *file_routes(get_studio),
    ]
