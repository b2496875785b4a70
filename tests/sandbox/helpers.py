"""Plain-httpx helpers for talking to the sandbox in tests, and test pictures."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import numpy as np
from PIL import Image, ImageDraw

from mjstudio.api.contract import CREATE_PATH, STATUS_PATH
from mjstudio.sandbox import SandboxSettings
from tests.waiting import wait_for

API_KEY = "sandbox-test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
FINAL = ("success", "failed")


def settings(**overrides: Any) -> SandboxSettings:
    """Fast sandbox settings for tests (latency 0.3 s)."""
    return SandboxSettings(**{"api_key": API_KEY, "latency_s": 0.3, **overrides})


def api_client(base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    """An httpx client for the sandbox with the test key."""
    return httpx.Client(base_url=base_url, headers=AUTH if headers is None else headers, timeout=30)


def create(client: httpx.Client, task_input: dict[str, Any], **top: Any) -> str:
    """Create a task; returns its id (asserts the 200 envelope)."""
    resp = client.post(CREATE_PATH, json={"input": task_input, **top})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["code"] == 200 and body["msg"] == "success"
    return body["data"]["taskId"]


def status(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """The status ``data`` of a task (asserts the 200 envelope)."""
    resp = client.get(STATUS_PATH, params={"taskId": task_id})
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def wait_final(client: httpx.Client, task_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Poll until the task is final; returns its status data."""

    def final() -> dict[str, Any] | None:
        data = status(client, task_id)
        return data if data["state"] in FINAL else None

    return wait_for(
        final,
        timeout=timeout_s,
        message=lambda: f"task {task_id} still {status(client, task_id)['state']}",
    )


def result_urls(data: dict[str, Any]) -> list[str]:
    """The result URLs of a successful status."""
    assert data["state"] == "success", data
    return json.loads(data["resultJson"])["resultUrls"]


def download(url: str) -> Image.Image:
    """GET a result URL as an RGB image."""
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(resp.content))
    assert img.format == "PNG"
    return img.convert("RGB")


def run(client: httpx.Client, task_input: dict[str, Any], **top: Any) -> dict[str, Any]:
    """Create a task and wait for it; returns the final status data."""
    return wait_final(client, create(client, task_input, **top))


def run_images(client: httpx.Client, task_input: dict[str, Any]) -> list[np.ndarray]:
    """Create a task, wait for success, download its images as arrays."""
    return [np.asarray(download(u)) for u in result_urls(run(client, task_input))]


def gather(client: httpx.Client, inputs: dict[str, dict[str, Any]]) -> dict[str, list[np.ndarray]]:
    """Run several tasks at once; images per name."""
    ids = {name: create(client, inp) for name, inp in inputs.items()}
    out = {}
    for name, task_id in ids.items():
        urls = result_urls(wait_final(client, task_id))
        out[name] = [np.asarray(download(u)) for u in urls]
    return out


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two same-size images (grey levels)."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def photo(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A deterministic test picture: a gradient with a few shapes."""
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    arr = np.stack([x + 0 * y, y + 0 * x, (255 - x) * 0.5 + y * 0.5], axis=2)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.ellipse((w * 0.1, h * 0.1, w * 0.45, h * 0.55), fill=(250, 240, 30))
    draw.rectangle((w * 0.55, h * 0.5, w * 0.9, h * 0.9), fill=(20, 30, 160))
    return img


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    """The image's bytes in a format."""
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    """A base64 data: URL of bytes."""
    return f"data:{mime};base64," + base64.b64encode(data).decode()
