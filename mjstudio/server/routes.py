"""Extra HTTP routes of the studio's server: uploaded images and provider callbacks."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mjstudio.tasks.service import Studio

UPLOADS_PATH = "/api/uploads/{name}"
CALLBACK_PATH = "/api/callback/{record_id}"
HEALTH_PATH = "/api/mjstudio/health"


def studio_routes(get_studio: Callable[[], Studio]) -> list[Route]:
    """The routes, each resolving the Studio when called (it is made in the lifespan)."""

    async def upload(request: Request) -> Response:
        """Serve an uploaded reference image by its unguessable name."""
        found = get_studio().uploads.get(request.path_params["name"])
        if found is None:
            return Response(status_code=404)
        data, mime = found
        return Response(data, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})

    async def callback(request: Request) -> Response:
        """Receive the provider's final status of a task (callback mode)."""
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"code": 400, "msg": "body must be JSON"}, status_code=400)
        data = body.get("data", body) if isinstance(body, dict) else None
        sig = request.query_params.get("sig", "")
        ok = get_studio().receive_callback(request.path_params["record_id"], sig, data)
        if not ok:
            return JSONResponse({"code": 404, "msg": "unknown task or signature"}, 404)
        return JSONResponse({"code": 200, "msg": "success"})

    async def health(_: Request) -> Response:
        """Whether the tracker is running (for scripts and tests)."""
        return JSONResponse({"tracker": get_studio().tracker.running})

    return [
        Route(UPLOADS_PATH, upload, methods=["GET", "HEAD"]),
        Route(CALLBACK_PATH, callback, methods=["POST"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
    ]
