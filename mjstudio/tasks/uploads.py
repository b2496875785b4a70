"""Uploaded reference images: kept under the data folder, served at unguessable addresses."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Set
from pathlib import Path

from mjstudio.images import ACCEPTED_TEXT, EXTENSIONS
from mjstudio.tasks.store import TaskStore

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_PARTIAL = ".partial"


class UploadRegistry:
    """Uploaded images kept under ``<data_dir>/uploads`` and served at unguessable addresses."""

    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir) / "uploads"

    def put(self, data: bytes, mime: str) -> str:
        """Store an image and return its token (ValueError for a type we do not serve)."""
        if mime not in EXTENSIONS:
            raise ValueError(f"{mime} is not accepted: {ACCEPTED_TEXT}")
        self.root.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(24)
        final = self.root / f"{token}.{EXTENSIONS[mime]}"
        partial = self.root / f".{token}{_PARTIAL}"
        partial.write_bytes(data)
        os.replace(partial, final)
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
