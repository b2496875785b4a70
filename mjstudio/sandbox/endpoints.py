"""The sandbox's HTTP face: the seed's two endpoints plus the result files."""

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mjstudio.api.contract import CREATE_PATH, STATUS_PATH, InvalidRequest, envelope, parse_request
from mjstudio.sandbox.options import SandboxSettings
from mjstudio.sandbox.provider import ApiError, Sandbox


def base_url(request: Request) -> str:
    """The public base of this app: scheme, host and the ASGI root_path (mount prefix)."""
    root = str(request.scope.get("root_path") or "").rstrip("/")
    return str(request.url.replace(path=root or "/", query="", fragment="")).rstrip("/")


def _header_key(value: str | None, bearer: bool) -> str | None:
    """The key in one header value (``Bearer <key>`` when ``bearer``), or None when blank."""
    if value is None or not value.strip():
        return None
    if not bearer:
        return value.strip()
    scheme, _, key = value.strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def presented_key(request: Request, settings: SandboxSettings) -> str | None:
    """The API key the request carries: ``auth_header`` first, then ``extra_auth_headers``."""
    headers = [(settings.auth_header, settings.bearer)]
    headers += [(name, False) for name in settings.extra_auth_headers]
    for name, bearer in headers:
        key = _header_key(request.headers.get(name), bearer)
        if key is not None:
            return key
    return None


def error_response(error: ApiError) -> JSONResponse:
    """The error envelope, with Retry-After when there is one."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return JSONResponse(envelope(error.code, error.msg), status_code=error.code, headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 otherwise."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError(400, "body: must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body: must be a JSON object")
    return body


def get_sandbox(request: Request) -> Sandbox:
    """The Sandbox of the app serving this request (``app.state.sandbox``)."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]


async def authorised(request: Request, sandbox: SandboxDep) -> None:
    """401 unless the request carries the right key (compared in constant time)."""
    settings = sandbox.settings
    key = presented_key(request, settings)
    if key is None:
        raise ApiError(401, f"Missing API key (send it in the {settings.auth_header} header).")
    if not hmac.compare_digest(key.encode(), settings.api_key.encode()):
        raise ApiError(401, "Invalid API key.")


async def within_rate(_: Annotated[None, Depends(authorised)], sandbox: SandboxDep) -> None:
    """429 past the per-minute request limit (only authorised requests count)."""
    sandbox.check_rate()


GUARDED = [Depends(within_rate)]
TaskIdQuery = Annotated[str | None, Query(alias="taskId")]

router = APIRouter()


@router.post(CREATE_PATH, dependencies=GUARDED)
async def create_task(request: Request, sandbox: SandboxDep) -> JSONResponse:
    """Create a task; it runs in the background."""
    try:
        task = parse_request(await json_body(request))
    except InvalidRequest as exc:
        raise ApiError(400, str(exc)) from None
    record = sandbox.create(task, base_url(request))
    return JSONResponse(envelope(200, "success", {"taskId": record.task_id}))


@router.get(STATUS_PATH, dependencies=GUARDED)
async def task_status(
    request: Request, sandbox: SandboxDep, task_id: TaskIdQuery = None
) -> JSONResponse:
    """The status of a task."""
    task_id = (task_id or "").strip()
    if not task_id:
        raise ApiError(400, "taskId: is required")
    data = sandbox.status(task_id, base_url(request))
    if data is None:
        raise ApiError(400, f"taskId {task_id!r} not found")
    return JSONResponse(envelope(200, "success", data))


@router.get("/files/{token}/{name}")
def result_file(token: str, name: str, sandbox: SandboxDep) -> FileResponse:
    """A result PNG, until it expires."""
    return FileResponse(sandbox.result_file(token, name), media_type="image/png")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with the API's envelope."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        return error_response(exc)  # type: ignore[arg-type]

    async def on_invalid(_: Request, exc: Exception) -> JSONResponse:
        return error_response(ApiError(400, "request: invalid parameters"))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        code = getattr(exc, "status_code", 500)
        return error_response(ApiError(code, str(getattr(exc, "detail", "error"))))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)


def create_app(settings: SandboxSettings) -> FastAPI:
    """The sandbox provider as an ASGI app (its Sandbox is ``app.state.sandbox``)."""
    sandbox = Sandbox(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        sandbox.close()

    app = FastAPI(
        title="MJ Studio sandbox",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.sandbox = sandbox
    install_error_handlers(app)
    app.include_router(router)
    return app
