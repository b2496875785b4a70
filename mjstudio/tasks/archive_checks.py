"""What a history import accepts (see :mod:`mjstudio.tasks.archive` for the format).

Every entry of the zip and every task line is checked before anything is written: only the
format's names, relative paths without ``..``, no symlink, no encrypted entry, nothing above the
size limits, task fields of the declared types, workspaces and ids that are plain names.
"""

from __future__ import annotations

import re
import stat
import types
import typing
import zipfile
from typing import Any

from mjstudio.images import EXTENSIONS
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.uploads import TOKEN_RE

FORMAT = "mjstudio-history"
VERSION = 1
MANIFEST, TASKS, LINKS = "manifest.json", "tasks.jsonl", "links.jsonl"
RESULTS, UPLOADS = "results", "uploads"
PATH_FIELDS = ("files", "thumbs")  # record fields holding paths under the data folder
MAX_FILE_BYTES = 256 * 2**20  # an image or upload entry larger than this is refused
MAX_JSON_BYTES = 2**30  # tasks.jsonl, links.jsonl, manifest.json
META = frozenset({MANIFEST, TASKS, LINKS})
UPLOAD_NAME_RE = re.compile(
    TOKEN_RE.pattern + r"\.(?:" + "|".join(sorted(set(EXTENSIONS.values()))) + ")"
)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # a workspace or a task id
_HINTS = typing.get_type_hints(TaskRecord)


class ArchiveRefused(Exception):
    """The archive is not a history export this version can import safely."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_safe(name: str) -> bool:
    """A relative path with forward slashes, no ``..``/``.``/empty part, no drive, no NUL."""
    if not name or name.startswith("/") or "\\" in name or "\0" in name:
        return False
    parts = name.split("/")
    return ":" not in parts[0] and all(part not in ("", ".", "..") for part in parts)


def is_result_path(name: str) -> bool:
    """A safe path under ``results/``."""
    return is_safe(name) and name.startswith(RESULTS + "/")


def is_upload_path(name: str) -> bool:
    """``uploads/<token>.<ext>`` as the upload registry names its files."""
    folder, _, rest = name.partition("/")
    return folder == UPLOADS and UPLOAD_NAME_RE.fullmatch(rest) is not None


def shown(name: str) -> str:
    """A name quoted for a message, cut short."""
    return repr(name if len(name) <= 80 else name[:77] + "...")


def check_name(text: str, what: str = "workspace") -> None:
    """Refuse a workspace or task id that could not be one folder of ``results/``."""
    if not _NAME_RE.fullmatch(text):
        raise ArchiveRefused(f"{what} {shown(text)} is not a plain name")


def _check_entry(info: zipfile.ZipInfo, max_file_bytes: int) -> None:
    """Refuse an entry that is not one of the format's, a symlink, encrypted or too big."""
    name = info.filename
    if name in META:
        cap = MAX_JSON_BYTES
    elif is_result_path(name) or is_upload_path(name):
        cap = max_file_bytes
    else:
        raise ArchiveRefused(f"unexpected entry {shown(name)} (outside results/ and uploads/)")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveRefused(f"entry {shown(name)} is a symbolic link")
    if info.flag_bits & 0x1:
        raise ArchiveRefused(f"entry {shown(name)} is encrypted")
    if info.file_size > cap:
        raise ArchiveRefused(f"entry {shown(name)} is too large ({info.file_size} bytes)")


def checked_entries(zf: zipfile.ZipFile, max_file_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """The archive's file entries by name, every one checked first."""
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.is_dir():
            if not is_safe(info.filename.rstrip("/")):
                raise ArchiveRefused(f"unexpected folder {shown(info.filename)}")
            continue
        _check_entry(info, max_file_bytes)
        if info.filename in entries:
            raise ArchiveRefused(f"entry {shown(info.filename)} appears twice")
        entries[info.filename] = info
    if TASKS not in entries or MANIFEST not in entries:
        raise ArchiveRefused(f"not a history export (no {TASKS} or {MANIFEST})")
    return entries


def _fits_one(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint) or hint
    if hint is type(None):
        return value is None
    if origin is list:  # list[str] (paths, URLs) or list[int] (starred image indexes)
        (item,) = typing.get_args(hint) or (str,)
        return isinstance(value, list) and all(_fits_one(v, item) for v in value)
    if origin is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(origin, type):
        return isinstance(value, str if issubclass(origin, str) else origin)
    return True


def _fits(value: Any, hint: Any) -> bool:
    """True when a JSON value has the type a TaskRecord field declares."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return any(_fits_one(value, option) for option in options)


def record_from(data: Any) -> TaskRecord:
    """The record of one ``tasks.jsonl`` object; ArchiveRefused for anything unsafe or wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ArchiveRefused("a task line is not a task (an object with an id)")
    values = {k: v for k, v in data.items() if k in _HINTS}  # a newer version's extras dropped
    wrong = sorted(k for k, v in values.items() if not _fits(v, _HINTS[k]))
    try:
        if wrong:
            raise TypeError(", ".join(wrong))
        record = TaskRecord(**values)
    except (TypeError, ValueError) as exc:
        raise ArchiveRefused(f"task {shown(data['id'])} has wrong fields: {exc}") from None
    check_name(record.id, "task id")
    check_name(record.workspace, "workspace")
    own = f"{RESULTS}/{record.workspace}/{record.id}/"  # where the store keeps its files
    for rel in (p for name in PATH_FIELDS for p in getattr(record, name)):
        if not (is_safe(rel) and rel.startswith(own)):
            raise ArchiveRefused(f"task {record.id} names a file not its own: {shown(rel)}")
    return record


def check_manifest(data: Any) -> None:
    """Refuse a manifest that is not this format's, or of a newer version."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveRefused(f"not a history export ({MANIFEST} does not name {FORMAT})")
    version = data.get("version")
    if not isinstance(version, int) or not 1 <= version <= VERSION:
        raise ArchiveRefused(f"format version {version!r}: this studio reads 1 to {VERSION}")


def link_pair(data: Any, entries: dict[str, zipfile.ZipInfo]) -> tuple[str, str]:
    """(path, same_as) of one ``links.jsonl`` line: a result path and a file the zip holds."""
    path, same = (data.get("path"), data.get("same_as")) if isinstance(data, dict) else ("", "")
    if not (isinstance(path, str) and is_result_path(path)):
        raise ArchiveRefused(f"{LINKS} names a path outside results/")
    if not (isinstance(same, str) and is_result_path(same) and same in entries):
        raise ArchiveRefused(f"{LINKS} names a file the archive does not hold")
    return path, same
