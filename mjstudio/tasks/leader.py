"""One tracker per data folder: an exclusive lock on ``<data_dir>/tracker.lock``.

The process holding the lock sends, polls and downloads; any other process (a second server on
the same folder) serves pages only and changes nothing at start. The lock is an ``flock`` on an
open file, so it goes away with the process that held it, however it ended.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process per folder is up to the user
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "tracker.lock"


class FolderLock:
    """The exclusive, non-blocking lock of a data folder's tracker."""

    def __init__(self, data_dir: Path | str) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it (idempotent); False when another holder has it."""
        with self._mutex:
            if self._fd is not None:
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who tracks, for a curious reader
            self._fd = fd
            return True

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        with self._mutex:
            fd, self._fd = self._fd, None
        if fd is not None:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
