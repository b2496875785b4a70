"""History export and import: one zip holding the tasks of a data folder, their images, uploads.

The format, ``FORMAT`` version ``VERSION``:

- ``tasks.jsonl`` (deflated): one JSON object per task, oldest first, with every field of
  :class:`TaskRecord` as the store keeps it (mode, prompt, request, state, task id, parent,
  times, result URLs, files, thumbs, polls, errors, submission, cost_s ...);
- ``results/...`` (stored: images are compressed already): each image and thumbnail at the path
  its record keeps in ``files``/``thumbs``;
- ``uploads/<token>.<ext>`` (stored): the uploads an exported request refers to
  (``upload:<token>`` references and ``/api/uploads/<token>`` links);
- ``links.jsonl`` (deflated): ``{"path", "same_as"}`` for a file that is a hard link of one
  stored earlier (as a synthetic history links four images into every task): stored once;
- ``manifest.json`` (deflated): ``format``, ``version``, ``exported_at``, the source
  ``workspaces``, ``counts`` and the ``missing`` files (listed by a record, gone from disk).

The import (:mod:`mjstudio.tasks.archive_import`) checks the whole archive first, loses
nothing, adds nothing the second time, and resumes the tasks that were running.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mjstudio.tasks.archive_checks import (
    FORMAT,
    LINKS,
    MANIFEST,
    PATH_FIELDS,
    TASKS,
    UPLOAD_NAME_RE,
    UPLOADS,
    VERSION,
    ArchiveRefused,
    is_result_path,
)
from mjstudio.tasks.archive_import import (
    RESUMED_WHILE_SENDING,
    ImportReport,
    import_history,
    remap_id,
    resume,
)
from mjstudio.tasks.downloads import PART_SUFFIX
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.uploads import UPLOAD_REF

__all__ = [
    "FORMAT",
    "RESUMED_WHILE_SENDING",
    "VERSION",
    "ArchiveRefused",
    "ExportReport",
    "ImportReport",
    "export_history",
    "import_history",
    "remap_id",
    "resume",
]

_UPLOAD_LINK = re.compile(r'(?:/api/uploads/|"' + re.escape(UPLOAD_REF) + r")([A-Za-z0-9_-]+)")


@dataclass
class ExportReport:
    """What an export wrote."""

    tasks: int = 0
    files: int = 0  # images and thumbnails stored in the zip
    links: int = 0  # files listed as hard links of one stored earlier
    uploads: int = 0
    missing: list[str] = field(default_factory=list)  # listed by a record, not on disk
    workspaces: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- export


def export_history(store: TaskStore, out: Path | str, workspace: str | None = None) -> ExportReport:
    """Write one workspace's tasks (default: every workspace) and their files to ``out``."""
    out = Path(out)
    workspaces = [workspace] if workspace is not None else store.workspaces()
    records: list[TaskRecord] = []
    for name in workspaces:
        records.extend(reversed(store.list(name, limit=None)))  # oldest first
    records.sort(key=lambda r: r.created_at)  # stable: equal times keep the store's order
    report = ExportReport(tasks=len(records), workspaces=workspaces)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=PART_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
            _write_lines(zf, TASKS, (json.dumps(asdict(r)) for r in records))
            links = _write_results(zf, store, records, report)
            _write_uploads(zf, store, records, report)
            _write_lines(zf, LINKS, links)
            _write_lines(zf, MANIFEST, [json.dumps(_manifest(report), indent=1)])
        os.replace(tmp, out)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    return report


def _manifest(report: ExportReport) -> dict[str, Any]:
    counts = {"tasks": report.tasks, "files": report.files, "links": report.links}
    counts |= {"uploads": report.uploads, "missing": len(report.missing)}
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workspaces": report.workspaces,
        "counts": counts,
        "missing": report.missing,
    }


def _write_lines(zf: zipfile.ZipFile, name: str, lines: Iterable[str]) -> None:
    """A deflated text entry written a thousand lines at a time (never whole in memory)."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    with zf.open(info, "w", force_zip64=True) as out:
        buffer: list[str] = []
        for line in lines:
            buffer.append(line + "\n")
            if len(buffer) >= 1000:
                out.write("".join(buffer).encode())
                buffer = []
        out.write("".join(buffer).encode())


def _write_results(
    zf: zipfile.ZipFile, store: TaskStore, records: list[TaskRecord], report: ExportReport
) -> list[str]:
    """Store each record's files once, file by file (not deflated); the hard-link lines."""
    first_of: dict[tuple[int, int], str] = {}  # (device, inode) of a linked file -> its entry
    done: set[str] = set()
    folders: dict[str, Path | None] = {}
    links: list[str] = []
    for rel in (p for r in records for name in PATH_FIELDS for p in getattr(r, name)):
        if rel in done:
            continue
        done.add(rel)
        found = _existing(store, rel, folders)
        if found is None:
            report.missing.append(rel)
            continue
        source, info = found
        key = (info.st_dev, info.st_ino)
        if info.st_nlink > 1 and key in first_of:
            links.append(json.dumps({"path": rel, "same_as": first_of[key]}))
            report.links += 1
            continue
        if info.st_nlink > 1:
            first_of[key] = rel
        zf.write(source, rel, compress_type=zipfile.ZIP_STORED)
        report.files += 1
    return links


def _existing(
    store: TaskStore, rel: str, folders: dict[str, Path | None]
) -> tuple[Path, os.stat_result] | None:
    """The file a stored path names and its stat, if it is a plain file inside the data folder."""
    if not is_result_path(rel):
        return None
    folder_rel, _, name = rel.rpartition("/")
    if folder_rel not in folders:  # each task folder resolved once
        try:
            folders[folder_rel] = store.abspath(folder_rel)
        except ValueError:
            folders[folder_rel] = None
    folder = folders[folder_rel]
    if folder is None:
        return None
    path = folder / name
    try:
        if path.is_symlink():  # where it leads must be inside the data folder too
            path = store.abspath(rel)
        info = path.stat()
    except (OSError, ValueError):
        return None
    return (path, info) if stat.S_ISREG(info.st_mode) else None


def _write_uploads(
    zf: zipfile.ZipFile, store: TaskStore, records: list[TaskRecord], report: ExportReport
) -> None:
    """Store the uploads the records' requests refer to (a gone one is listed as missing)."""
    tokens = {m.group(1) for r in records for m in _UPLOAD_LINK.finditer(json.dumps(r.request))}
    root = store.data_dir / UPLOADS
    for token in sorted(tokens):
        found = [p for p in root.glob(f"{token}.*") if UPLOAD_NAME_RE.fullmatch(p.name)]
        found = [p for p in found if p.is_file()]
        if not found:
            report.missing.append(f"{UPLOADS}/{token}")
        for path in found:
            zf.write(path, f"{UPLOADS}/{path.name}", compress_type=zipfile.ZIP_STORED)
            report.uploads += 1
