"""Uploaded reference images against a real data folder and a real task store."""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from mjstudio.api.contract import build_request
from mjstudio.config import DAY_S, Settings
from mjstudio.images import to_data_url
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.service import Studio
from mjstudio.tasks.store import TaskStore
from mjstudio.tasks.uploads import (
    UploadRegistry,
    prune_unreferenced,
    restore_data_urls,
    stash_data_urls,
)
from tests.waiting import wait_for

BASE = "https://studio.example/"
MAX_AGE_S = 7 * DAY_S
OLD_S = 30 * DAY_S  # well past MAX_AGE_S


def image(fmt: str = "PNG", colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def registry(tmp_path: Path) -> UploadRegistry:
    return UploadRegistry(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> TaskStore:
    return TaskStore.open(tmp_path)  # the same data folder as the registry


def upload(registry: UploadRegistry, age_s: float = 0.0, mime: str = "image/png") -> str:
    """Store an upload whose file was last written ``age_s`` seconds ago; returns its token."""
    token = registry.put(image("JPEG" if mime == "image/jpeg" else "PNG"), mime)
    if age_s:
        path, when = next(registry.root.glob(f"{token}.*")), time.time() - age_s
        os.utime(path, (when, when))
    return token


def submit(store: TaskStore, *urls: str, workspace: str = "ws-one") -> TaskRecord:
    """Store a task whose request is what the studio sends: image-to-image with these URLs."""
    if urls:
        request = build_request("image-to-image", prompt="a fox", image_urls=list(urls))
    else:
        request = build_request("text-to-image", prompt="a fox")
    return store.add(TaskRecord.new(workspace, request.to_api()))


def exists(registry: UploadRegistry, token: str) -> bool:
    return registry.get(token) is not None


# --------------------------------------------------------------------------- pruning


def test_old_unreferenced_upload_is_deleted(registry: UploadRegistry, store: TaskStore) -> None:
    old = upload(registry, OLD_S)
    submit(store)  # a task, but none that links the upload
    assert prune_unreferenced(registry, store, MAX_AGE_S) == 1
    assert not exists(registry, old)
    assert list(registry.root.iterdir()) == []


def test_old_referenced_upload_is_kept(registry: UploadRegistry, store: TaskStore) -> None:
    kept, dropped = upload(registry, OLD_S), upload(registry, OLD_S)
    submit(store, registry.public_url(BASE, kept))
    assert prune_unreferenced(registry, store, MAX_AGE_S) == 1
    assert exists(registry, kept)
    assert not exists(registry, dropped)  # pruning did run


def test_new_unreferenced_upload_is_kept(registry: UploadRegistry, store: TaskStore) -> None:
    new, old = upload(registry, 60.0), upload(registry, OLD_S)
    assert prune_unreferenced(registry, store, MAX_AGE_S) == 1
    assert exists(registry, new)
    assert not exists(registry, old)  # pruning did run


def test_references_in_any_workspace_and_image_keep_uploads(
    registry: UploadRegistry, store: TaskStore
) -> None:
    first, second, third = (upload(registry, OLD_S, "image/jpeg") for _ in range(3))
    urls = [registry.public_url(BASE, t) for t in (first, second, third)]
    submit(store, urls[0], urls[1])
    submit(store, urls[2], workspace="ws-two")
    assert prune_unreferenced(registry, store, MAX_AGE_S) == 0
    assert all(exists(registry, t) for t in (first, second, third))


def test_the_studio_prunes_at_start_up_with_its_setting(tmp_path: Path) -> None:
    registry, store = UploadRegistry(tmp_path), TaskStore.open(tmp_path)
    stale, young, used = (
        upload(registry, 3 * DAY_S),
        upload(registry, DAY_S),
        upload(registry, 9 * DAY_S),
    )
    submit(store, f"https://studio.example/api/uploads/{used}.png")
    conf = Settings.load(environ={"MJSTUDIO_UPLOAD_MAX_AGE_DAYS": "2"}, data_dir=tmp_path)
    Studio.shared(conf)
    try:
        wait_for(lambda: not exists(registry, stale), timeout=10, message="stale upload kept")
        assert exists(registry, young) and exists(registry, used)
    finally:
        Studio.forget(tmp_path)


def test_prune_removes_old_leftover_partial_writes(registry: UploadRegistry) -> None:
    token = upload(registry)
    partial = registry.root / f".{token}.partial"
    partial.write_bytes(b"half an image")
    when = time.time() - OLD_S
    os.utime(partial, (when, when))
    assert registry.prune(MAX_AGE_S, keep={token}) == 1
    assert not partial.exists() and exists(registry, token)


def test_prune_of_a_folder_without_uploads(tmp_path: Path) -> None:
    assert UploadRegistry(tmp_path / "empty").prune(0, keep=set()) == 0


# --------------------------------------------------------------------------- upload_tokens


def test_upload_tokens_are_read_from_stored_requests(
    registry: UploadRegistry, store: TaskStore
) -> None:
    assert store.upload_tokens() == set()
    png, jpg = upload(registry), upload(registry, mime="image/jpeg")
    submit(store)
    submit(store, "https://elsewhere.example/photo.png")
    submit(store, "data:image/png;base64,iVBORw0KGgo=")
    submit(store, registry.public_url(BASE, png), registry.public_url("http://h:8501/", jpg))
    submit(store, registry.public_url("https://tunnel.example/mj", png), workspace="ws-two")
    assert store.upload_tokens() == {png, jpg}


def test_upload_references_in_stored_requests_keep_uploads(
    registry: UploadRegistry, store: TaskStore
) -> None:
    kept, mask, dropped = (upload(registry, OLD_S) for _ in range(3))
    request = {
        "input": {
            "mode": "upload-paint",
            "prompt": "upload: is also a word a prompt may hold",
            "image_urls": [registry.reference(kept)],
            "mask": {"url": registry.reference(mask)},
        }
    }
    store.add(TaskRecord.new("ws-one", request))
    assert store.upload_tokens() == {kept, mask}
    assert prune_unreferenced(registry, store, MAX_AGE_S) == 1
    assert exists(registry, kept) and exists(registry, mask) and not exists(registry, dropped)


def test_stashed_data_urls_round_trip(registry: UploadRegistry) -> None:
    jpeg, png = image("JPEG"), image()
    body = build_request(
        "upload-paint",
        prompt="p",
        image_urls=[to_data_url(jpeg, "image/jpeg")],
        mask={"url": to_data_url(png, "image/png")},
    ).to_api()
    stored, tokens = stash_data_urls(body, registry)
    assert len(tokens) == 2 and "base64" not in json.dumps(stored)
    assert stored["input"]["image_urls"] == [f"upload:{tokens[0]}.jpg"]
    assert stored["input"]["mask"]["url"] == f"upload:{tokens[1]}.png"
    assert restore_data_urls(stored, registry) == body
    assert body["input"]["image_urls"][0].startswith("data:")  # the original is untouched
    registry.remove(tokens[0])
    with pytest.raises(KeyError):
        restore_data_urls(stored, registry)


# --------------------------------------------------------------------------- the registry


def test_upload_registry_round_trip_survives_restart(tmp_path: Path) -> None:
    data = image()
    token = UploadRegistry(tmp_path).put(data, "image/png")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)
    again = UploadRegistry(tmp_path)  # a restart: a new registry over the same folder
    assert again.get(token) == (data, "image/png")
    assert again.get(f"{token}.png") == (data, "image/png")
    assert again.get(f"{token}.jpg") is None
    assert (tmp_path / "uploads" / f"{token}.png").read_bytes() == data
    url = again.public_url("https://studio.example/", token)
    assert url == f"https://studio.example/api/uploads/{token}.png"


def test_upload_tokens_are_unguessable_and_typed(registry: UploadRegistry) -> None:
    jpeg = image("JPEG")
    tokens = {registry.put(jpeg, "image/jpeg") for _ in range(20)}
    assert len(tokens) == 20
    token = tokens.pop()
    assert registry.get(token) == (jpeg, "image/jpeg")
    assert registry.public_url("http://h:8501", token).endswith(f"/api/uploads/{token}.jpg")
    with pytest.raises(ValueError):
        registry.put(b"GIF89a", "image/gif")
    with pytest.raises(KeyError):
        registry.public_url("http://h", "A" * 32)


@pytest.mark.parametrize(
    "token",
    [
        "../history.sqlite3",
        "..",
        "../../etc/passwd",
        "/etc/passwd",
        "%2e%2e%2fhistory",
        "abcdefghijklmnopqrstu/../../secret",
        "abcdefghijklmnopqrstuvwx\x00.png",
        "",
        "short",
        "abcdefghijklmnopqrstuvwxyz.png/../../x",
    ],
)
def test_upload_registry_refuses_traversal(tmp_path: Path, token: str) -> None:
    (tmp_path / "history.sqlite3").write_bytes(b"secret")
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / ("abcdefghijklmnopqrstuvwxyz.png")).write_bytes(b"real")
    registry = UploadRegistry(tmp_path)
    assert registry.get("abcdefghijklmnopqrstuvwxyz") == (b"real", "image/png")  # control
    assert registry.get(token) is None
    assert registry.remove(token) is False


def test_upload_remove(registry: UploadRegistry) -> None:
    kept, gone = upload(registry), upload(registry)
    assert registry.remove(gone) and registry.get(gone) is None
    assert registry.remove(gone) is False
    assert exists(registry, kept)
