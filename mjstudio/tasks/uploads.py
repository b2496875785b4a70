"""Uploaded reference images: kept under the data folder, served at unguessable addresses.

A stored task request never holds image bytes: its ``data:`` URLs are kept here and the
request refers to them as ``upload:<token>.<ext>`` (see :func:`stash_data_urls`).
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import time
from collections.abc import Callable, Set
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mjstudio import images
from mjstudio.images import ACCEPTED_TEXT, EXTENSIONS
from mjstudio.tasks.sqlite import FILE_MODE, private_folder

if TYPE_CHECKING:
    from mjstudio.tasks.store import TaskStore

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
UPLOAD_REF = "upload:"  # a stored request's reference to an upload: upload:<token>.<ext>
_PARTIAL = ".partial"


class UploadRegistry:
    """Uploaded images kept under ``<data_dir>/uploads`` and served at unguessable addresses."""

    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir) / "uploads"

    def put(self, data: bytes, mime: str) -> str:
        """Store an image and return its token (ValueError for a type we do not serve)."""
        if mime not in EXTENSIONS:
            raise ValueError(f"{mime} is not accepted: {ACCEPTED_TEXT}")
        private_folder(self.root)
        token = secrets.token_urlsafe(24)
        final = self.root / f"{token}.{EXTENSIONS[mime]}"
        partial = self.root / f".{token}{_PARTIAL}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return token

    def _find(self, token: str) -> tuple[Path, str] | None:
        token, _, ext = token.partition(".")
        if not TOKEN_RE.fullmatch(token):
            return None
        for mime, known in EXTENSIONS.items():
            path = self.root / f"{token}.{known}"
            if (not ext or ext.lower() == known) and path.is_file():
                return path, mime
        return None

    def get(self, token: str) -> tuple[bytes, str] | None:
        """The bytes and MIME type of a token (``token`` or ``token.ext``), or None."""
        found = self._find(token)
        return (found[0].read_bytes(), found[1]) if found else None

    def public_url(self, base_url: str, token: str) -> str:
        """The address the provider fetches the upload from; KeyError for an unknown token."""
        found = self._find(token)
        if found is None:
            raise KeyError(token)
        return f"{base_url.rstrip('/')}/api/uploads/{found[0].name}"

    def reference(self, token: str) -> str:
        """The ``upload:<token>.<ext>`` a stored request keeps; KeyError for an unknown token."""
        found = self._find(token)
        if found is None:
            raise KeyError(token)
        return UPLOAD_REF + found[0].name

    def data_url(self, reference: str) -> str | None:
        """The ``data:`` URL of an ``upload:`` reference, or None when the upload is gone."""
        found = self.get(reference.removeprefix(UPLOAD_REF))
        return images.to_data_url(*found) if found else None

    def remove(self, token: str) -> bool:
        """Delete an upload; True if there was one."""
        found = self._find(token)
        if found:
            found[0].unlink(missing_ok=True)
        return found is not None

    def prune(self, max_age_s: float, keep: Set[str]) -> int:
        """Delete uploads older than ``max_age_s`` whose token is not in ``keep``; how many went."""
        if not self.root.is_dir():
            return 0
        cutoff, removed = time.time() - max_age_s, 0
        for path in self.root.iterdir():
            if _token_of(path) in keep or not _older_than(path, cutoff):
                continue
            try:
                path.unlink()
            except FileNotFoundError:  # removed meanwhile by someone else
                continue
            removed += 1
        return removed


def _token_of(path: Path) -> str:
    """The token a file in the uploads folder belongs to ('' for a leftover partial write)."""
    return "" if path.name.endswith(_PARTIAL) else path.name.partition(".")[0]


def _older_than(path: Path, cutoff: float) -> bool:
    """True for a plain file last modified before ``cutoff`` (False if it is gone)."""
    try:
        return path.is_file() and path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def prune_unreferenced(uploads: UploadRegistry, store: TaskStore, max_age_s: float) -> int:
    """Delete uploads older than ``max_age_s`` that no stored task request links to."""
    keep = store.upload_tokens()  # read before listing files: a newer upload is young anyway
    return uploads.prune(max_age_s, keep)


# ---------------------------------------------------------------------- stored requests


def _map_image_urls(request: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A deep copy of a create body with ``change`` applied to each image URL it holds."""
    result = copy.deepcopy(request)
    task_input = result.get("input")
    if not isinstance(task_input, dict):
        return result
    urls = task_input.get("image_urls")
    if isinstance(urls, list):
        task_input["image_urls"] = [change(u) if isinstance(u, str) else u for u in urls]
    mask = task_input.get("mask")
    if isinstance(mask, dict) and isinstance(mask.get("url"), str):
        mask["url"] = change(mask["url"])
    return result


def stash_data_urls(
    request: dict[str, Any], uploads: UploadRegistry
) -> tuple[dict[str, Any], list[str]]:
    """The request to store, its ``data:`` images kept as uploads; and the new tokens.

    Each ``data:`` URL becomes ``upload:<token>.<ext>``; ValueError for a type we do not keep.
    """
    tokens: list[str] = []

    def stash(url: str) -> str:
        if not url.lstrip().lower().startswith("data:"):
            return url
        data = images.data_url_bytes(url)
        tokens.append(uploads.put(data, images.sniff_mime(data)))
        return uploads.reference(tokens[-1])

    try:
        return _map_image_urls(request, stash), tokens
    except BaseException:
        for token in tokens:
            uploads.remove(token)
        raise


def restore_data_urls(request: dict[str, Any], uploads: UploadRegistry) -> dict[str, Any]:
    """A stored request made sendable again: ``upload:`` references back to ``data:`` URLs.

    KeyError naming the reference when an upload is gone.
    """

    def restore(url: str) -> str:
        if not url.startswith(UPLOAD_REF):
            return url
        found = uploads.data_url(url)
        if found is None:
            raise KeyError(url)
        return found

    return _map_image_urls(request, restore)
