"""Shared pieces of the tracker fault tests: a sandbox, fast retries, records in each state."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

from PIL import Image

from mjstudio.api.contract import build_request
from mjstudio.config import Connection, Settings
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore
from tests import waiting

KEY = "tracker-fault-key"
FAST = (0.1, 0.1)  # poll every 0.1 s
REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- helpers


def settings_for(folder: Path) -> Settings:
    """Settings for a data folder, none of them from this machine's environment."""
    return Settings.load(environ={}, data_dir=folder)


def provider_creates(tmp_path: Path) -> int:
    """How many tasks the sandbox provider was asked to create."""
    return len(list((tmp_path / "provider" / "tasks").glob("*.json")))


def wait_record(store: TaskStore, record_id: str, pred, timeout: float = 20.0) -> TaskRecord:
    def matching():
        record = store.get(record_id)
        return record if record is not None and pred(record) else None

    return waiting.wait_for(
        matching, timeout=timeout, message=lambda: f"record {store.get(record_id)}"
    )


def finished(record: TaskRecord) -> bool:
    return record.is_final and (record.downloaded or record.state is not RecordState.SUCCESS)


def png(colour=(200, 40, 40), size=(64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A few hundred bytes that claim 400 million pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def succeeded(conn: Connection, urls: list[str], mode: str = "text-to-image") -> TaskRecord:
    """A task the provider finished, its results not downloaded yet."""
    now = time.time()
    return TaskRecord.new(
        conn.workspace,
        build_request(mode, prompt="x").to_api() if mode == "text-to-image" else {},
        mode=mode,
        task_id="done-1",
        state=RecordState.SUCCESS,
        result_urls=urls,
        submitted_at=now,
        finished_at=now,
        next_poll_at=now,
    )


def running(conn: Connection, task_id: str, state=RecordState.PROCESSING, **fields) -> TaskRecord:
    """A sent task still running at the provider."""
    request = build_request("text-to-image", prompt="x").to_api()
    fields.setdefault("next_poll_at", time.time())
    fields.setdefault("submitted_at", time.time())
    return TaskRecord.new(conn.workspace, request, task_id=task_id, state=state, **fields)


def queued(conn: Connection, state=RecordState.QUEUED) -> TaskRecord:
    """A task stored but not handed to the provider."""
    request = build_request("text-to-image", prompt="queued fox").to_api()
    return TaskRecord.new(conn.workspace, request, state=state)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
