"""History import: an export's tasks and files added to a data folder, safely and only once.

The archive is checked whole first (:mod:`mjstudio.tasks.archive_checks`); then each file is
written atomically inside the data folder and the records are added in batches, files first.
Importing again adds nothing: ids are kept, or, into another workspace, derived from the target
workspace and the old id (:func:`remap_id`, parents with them), and a record stored already is
skipped with its files. Running tasks resume (:func:`resume`).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import time
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mjstudio.tasks.archive_checks import (
    LINKS,
    MANIFEST,
    MAX_FILE_BYTES,
    PATH_FIELDS,
    RESULTS,
    TASKS,
    UPLOADS,
    ArchiveRefused,
    check_manifest,
    check_name,
    checked_entries,
    is_upload_path,
    link_pair,
    record_from,
    shown,
)
from mjstudio.tasks.downloads import PART_SUFFIX, write_atomic
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.sqlite import private_folder
from mjstudio.tasks.store import TaskStore

BATCH = 500  # records added per transaction (their files are written before)
RESUMED_WHILE_SENDING = (
    "Imported while it was being sent: it may have reached the provider, so it is not sent again."
)
_ID_SPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mjstudio.invalid/history-import")
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, UnicodeDecodeError)
Planned = tuple[TaskRecord, list[tuple[str, str]]]  # a record to add, (archive path, its path)


@dataclass
class ImportReport:
    """What an import did."""

    added: int = 0
    already: int = 0  # stored already (same id): skipped with their files
    files_written: int = 0  # images and thumbnails of the added tasks
    uploads_written: int = 0
    missing: int = 0  # files an added task lists that the archive does not hold
    resumed: int = 0  # added tasks the tracker follows from now
    workspaces: list[str] = field(default_factory=list)


def remap_id(workspace: str, old_id: str) -> str:
    """The id a task gets when imported into another workspace (the same every time)."""
    return uuid.uuid5(_ID_SPACE, f"{workspace}/{old_id}").hex


def resume(record: TaskRecord, now: float) -> bool:
    """Make an imported record resumable; True when the tracker must follow it from now."""
    if record.state is RecordState.CREATING:
        record.state, record.error = RecordState.UNKNOWN, RESUMED_WHILE_SENDING
        return False
    if record.needs_work and not record.state.is_unsent:
        record.next_poll_at = now
        return True
    return False


def import_history(
    store: TaskStore,
    archive: Path | str,
    workspace: str | None = None,
    *,
    now: float | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    owner: str | None = None,
) -> ImportReport:
    """Add an export's tasks and files to a data folder (into ``workspace``, default their own).

    ``owner``: file every task under this signed-in designer (moving a local history into
    one's account on a team server); None keeps each task's own. Importing again adds nothing.
    ArchiveRefused, before anything is written, for an archive
    that is not a history export or holds anything unsafe.
    """
    if workspace is not None:
        check_name(workspace)
    try:
        with zipfile.ZipFile(archive) as zf:
            job = _Import(store, zf, workspace, max_file_bytes)
            job.owner = owner
            return job.run(time.time() if now is None else now)
    except _UNREADABLE as exc:
        raise ArchiveRefused(f"the archive is damaged or unreadable ({exc})") from None


class _Import:
    """One import: the archive checked whole first, then files and records added in batches."""

    def __init__(
        self, store: TaskStore, zf: zipfile.ZipFile, workspace: str | None, max_file_bytes: int
    ) -> None:
        self.store, self.zf, self.workspace = store, zf, workspace
        self.entries = checked_entries(zf, max_file_bytes)
        check_manifest(self._json(MANIFEST, self._read(MANIFEST)))
        self.links = dict(link_pair(data, self.entries) for data in self._lines(LINKS))
        self.records = [record_from(data) for data in self._lines(TASKS)]
        self.path_of: dict[str, str] = {}  # archive path -> where this import puts it
        self.folders: dict[str, Path] = {}  # relative folder -> resolved, checked inside
        self.made: set[Path] = set()  # folders made (or found) by this import
        self.owner: str | None = None  # whose tasks they become (None: as exported)

    def run(self, now: float) -> ImportReport:
        """Uploads first (a queued task needs its own), then tasks with their files."""
        report = ImportReport(uploads_written=self._write_uploads())
        planned = [self._planned(record) for record in self.records]
        report.workspaces = sorted({record.workspace for record, _ in planned})
        for start in range(0, len(planned), BATCH):
            self._add(planned[start : start + BATCH], now, report)
        return report

    # -------------------------------------------------------------- reading

    def _read(self, name: str) -> bytes:
        info = self.entries[name]
        with self.zf.open(info) as entry:
            data = entry.read(info.file_size + 1)
        if len(data) != info.file_size:
            raise ArchiveRefused(f"entry {shown(name)} is not the size it declares")
        return data

    @staticmethod
    def _json(name: str, text: bytes | str, line: int = 1) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            raise ArchiveRefused(f"{name} line {line} is not JSON") from None

    def _lines(self, name: str) -> Iterator[Any]:
        if name not in self.entries:
            return
        with self.zf.open(self.entries[name]) as raw:
            for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), start=1):
                if line.strip():
                    yield self._json(name, line, number)

    # -------------------------------------------------------------- writing

    def _planned(self, record: TaskRecord) -> Planned:
        """The record as it will be stored (moved to the target workspace) and its files."""
        target = self.workspace or record.workspace
        if self.owner is not None:
            record.owner = self.owner
        old_dir = f"{RESULTS}/{record.workspace}/{record.id}/"
        if target != record.workspace:
            record.id = remap_id(target, record.id)
            record.parent_id = remap_id(target, record.parent_id) if record.parent_id else None
            record.workspace = target
        new_dir = f"{RESULTS}/{record.workspace}/{record.id}/"
        pairs: list[tuple[str, str]] = []
        for name in PATH_FIELDS:
            old = getattr(record, name)
            new = [new_dir + p.removeprefix(old_dir) for p in old]  # checked: all under it
            setattr(record, name, new)
            pairs.extend(zip(old, new, strict=True))
        self.path_of.update(pairs)
        return record, pairs

    def _add(self, batch: list[Planned], now: float, report: ImportReport) -> None:
        """Write the files of the records not stored yet, then add those records."""
        fresh = [(record, pairs) for record, pairs in batch if self.store.get(record.id) is None]
        written: list[Path] = []
        try:
            for record, pairs in fresh:
                for source, target in pairs:
                    path = self._put(source, target)
                    written += [path] if path else []
                    report.missing += path is None
                report.resumed += resume(record, now)
            # it cannot add more than it was given (a count that includes trigger writes would)
            added = min(self.store.add_many([r for r, _ in fresh]), len(fresh)) if fresh else 0
        except BaseException:  # a bad entry, a full disk: no file left without its record
            for path in written:
                with suppress(OSError):
                    path.unlink()
            raise
        report.files_written += len(written)
        report.added += added
        report.already += len(batch) - added

    def _resolved(self, rel: str) -> Path:
        """Where a checked relative path lies; its folder resolved once, inside the data folder."""
        folder_rel, _, name = rel.rpartition("/")
        folder = self.folders.get(folder_rel)
        if folder is None:
            try:
                folder = self.folders[folder_rel] = self.store.abspath(folder_rel)
            except ValueError:
                raise ArchiveRefused(f"{shown(rel)} lies outside the data folder") from None
        return folder / name  # a symlink there is replaced by write_atomic, never followed

    def _destination(self, rel: str) -> Path:
        path = self._resolved(rel)
        if path.parent not in self.made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(path.parent)
        return path

    def _put(self, source: str, target: str) -> Path | None:
        """Write one file from the archive; where, or None when the archive lacks it."""
        same = self.links.get(source)
        if source not in self.entries and same is None:
            return None
        if source in self.entries:
            data = self._read(source)  # read (and CRC-checked) before any folder is made
            path = self._destination(target)
            write_atomic(path, data)
            return path
        path = self._destination(target)
        if not self._link(self.path_of.get(same), path, self.entries[same].file_size):
            write_atomic(path, self._read(same))
        return path

    def _link(self, existing: str | None, path: Path, size: int) -> bool:
        """Hard-link an already written file of the same content into place; False if not."""
        if existing is None:
            return False
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{PART_SUFFIX}")
        try:
            source = self._resolved(existing)
            found = source.lstat()
            if not stat.S_ISREG(found.st_mode) or found.st_size != size:
                return False
            os.link(source, tmp, follow_symlinks=False)
            os.replace(tmp, path)
        except (OSError, ArchiveRefused):
            with suppress(OSError):
                tmp.unlink()
            return False
        return True

    def _write_uploads(self) -> int:
        """Write the archive's uploads that this data folder lacks; how many."""
        names = [name for name in self.entries if is_upload_path(name)]
        if names:
            private_folder(self.store.data_dir / UPLOADS)
        written = 0
        for name in names:
            path = self._destination(name)
            if path.is_file() and path.stat().st_size == self.entries[name].file_size:
                continue
            write_atomic(path, self._read(name))
            written += 1
        return written
