"""Signed links to a data folder's result files and zips, and the routes that serve them.

A page that shows a task links its thumbnails and downloads here instead of handing the bytes
to Streamlit on every run: the link carries the data folder's signature of the file's path and
version (``Studio.sign``), so only a page that could show the file can make one, and a browser
keeps the file for as long as that version lives (the version is in the link). A zip of a
task's images is made only when its link is followed.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from mjstudio.tasks.service import Studio

FILE_PATH = "/api/mjstudio/file/{rel:path}"
ZIP_PATH = "/api/mjstudio/zip/{record_id}"
KEPT = "private, max-age=31536000, immutable"  # a link names one version of one file
MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))


def file_url(studio: Studio, rel: str, version: str, *, download: bool = False) -> str:
    """A link to a data-folder file (``rel``) at one version (its mtime); ``download``: saved
    under the studio's file name instead of shown."""
    query = {"v": version, "sig": studio.sign("file", f"{rel}\0{version}")}
    if download:
        query["download"] = "1"
    return f"/api/mjstudio/file/{quote(rel)}?{urlencode(query)}"


def zip_url(studio: Studio, record_id: str) -> str:
    """A link to one zip of a task's result images, made when it is followed."""
    return f"/api/mjstudio/zip/{quote(record_id)}?sig={studio.sign('zip', record_id)}"


def download_name(rel: str) -> str:
    """The name a result file is saved under: mjstudio-<task id prefix>-<file name>."""
    path = PurePosixPath(rel)
    return f"mjstudio-{path.parent.name[:8]}-{path.name}"


def content_type(blob: bytes, rel: str) -> str:
    """An image's type from its first bytes (an older release's thumbnail is WebP whatever its
    name says), else from its name."""
    if blob[:4] == b"RIFF" and blob[8:12] == b"WEBP":
        return "image/webp"
    found = next((mime for magic, mime in MAGIC if blob.startswith(magic)), None)
    return found or mimetypes.guess_type(rel)[0] or "application/octet-stream"


def _read(studio: Studio, rel: str) -> bytes | None:
    try:
        return studio.store.abspath(rel).read_bytes()
    except (OSError, ValueError):
        return None


def zipped(studio: Studio, record_id: str) -> bytes | None:
    """The zip of a task's result files that are on disk; None when there is no such task."""
    from mjstudio import images  # Pillow: not imported with the server's routes

    record = studio.store.get(record_id)
    if record is None:
        return None
    found = [(download_name(rel), _read(studio, rel)) for rel in record.files]
    present = [(name, blob) for name, blob in found if blob is not None]
    return images.zip_images(present) if present else None


def _attachment(name: str) -> str:
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"


def file_routes(get_studio: Callable[[], Studio]) -> list[Route]:
    """The routes, each resolving the Studio when called (it is made in the lifespan)."""

    async def file(request: Request) -> Response:
        """One result file or thumbnail, when the link's signature is the data folder's."""
        studio, rel = get_studio(), request.path_params["rel"]
        version, sig = request.query_params.get("v", ""), request.query_params.get("sig", "")
        if not studio.signed("file", f"{rel}\0{version}", sig):
            return Response(status_code=403)
        blob = await run_in_threadpool(_read, studio, rel)
        if blob is None:
            return Response(status_code=404)
        headers = {"Cache-Control": KEPT}
        if request.query_params.get("download"):
            headers["Content-Disposition"] = _attachment(download_name(rel))
        return Response(blob, media_type=content_type(blob, rel), headers=headers)

    async def zip_(request: Request) -> Response:
        """A task's images as one zip, when the link's signature is the data folder's."""
        studio, record_id = get_studio(), request.path_params["record_id"]
        if not studio.signed("zip", record_id, request.query_params.get("sig", "")):
            return Response(status_code=403)
        blob = await run_in_threadpool(zipped, studio, record_id)
        if blob is None:
            return Response(status_code=404)
        headers = {"Cache-Control": "private, no-store"}
        headers["Content-Disposition"] = _attachment(f"mjstudio-{record_id[:8]}.zip")
        return Response(blob, media_type="application/zip", headers=headers)

    return [
        Route(FILE_PATH, file, methods=["GET", "HEAD"]),
        Route(ZIP_PATH, zip_, methods=["GET"]),
    ]
