"""The sandbox's real answers have exactly the shape of the golden fixtures.

The fixtures (``tests/fixtures/api/``, hand-written from the seed and api-notes.md) are what the
client is tested against; the client is tolerant, so a sandbox that drifted (a renamed key,
resultJson sent as an object, a number sent as a string) would still pass the client's tests.
Here every sandbox answer must have the same keys at every level and the same JSON types as
its fixture, with resultJson a string holding ``{"resultUrls": [string, ...]}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjstudio.api.contract import CREATE_PATH, STATUS_PATH
from tests.sandbox import helpers
from tests.sandbox.server import free_port, running_sandbox

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "api"
T2I = {"mode": "text-to-image", "prompt": "a lighthouse at dusk"}


def golden(name: str) -> dict[str, Any]:
    """The ``response`` of one golden fixture: status, headers, body."""
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))["response"]


def shape(value: Any) -> Any:
    """The JSON type of a value, recursively: keys kept, values replaced by their types.

    A string ``resultJson`` is replaced by the shape of the JSON it holds, marked as a string,
    so an object sent in its place (or a change inside it) shows as a difference.
    """
    if isinstance(value, dict):
        return {k: _field_shape(k, v) for k, v in value.items()}
    if isinstance(value, list):
        items = {json.dumps(shape(v), sort_keys=True) for v in value}
        return ["array", *(json.loads(i) for i in sorted(items))]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    assert isinstance(value, str), f"not a JSON value: {value!r}"
    return "string"


def _field_shape(key: str, value: Any) -> Any:
    if key == "resultJson" and isinstance(value, str):
        return {"string holding": shape(json.loads(value))}
    return shape(value)


def assert_like(resp: httpx.Response, name: str) -> dict[str, Any]:
    """The answer has the golden fixture's HTTP status, headers and body shape; returns the body."""
    want = golden(name)
    body = resp.json()
    assert resp.status_code == want["status"], resp.text
    assert resp.headers["content-type"].startswith("application/json")
    for header in want.get("headers") or {}:
        assert header in resp.headers, f"{name}: the sandbox sent no {header} header"
    assert shape(body) == shape(want["body"]), f"{name}: {body}"
    assert body["code"] == want["body"]["code"]
    return body


def status_of(client: httpx.Client, task_id: str) -> httpx.Response:
    """The whole status answer (envelope included) of a task."""
    return client.get(STATUS_PATH, params={"taskId": task_id})


def final_answer(client: httpx.Client, task_input: dict[str, Any]) -> httpx.Response:
    """Create a task, wait until it ends, return its final status answer."""
    task_id = helpers.create(client, task_input)
    helpers.wait_final(client, task_id)
    return status_of(client, task_id)


# ---------------------------------------------------------------- the fixtures hold the seed


def test_shape_tells_a_string_resultjson_from_an_object() -> None:
    as_string = golden("status_success_string_resultjson")["body"]["data"]
    as_object = golden("status_success_object_resultjson")["body"]["data"]
    assert shape(as_string)["resultJson"] == {"string holding": {"resultUrls": ["array", "string"]}}
    assert shape(as_string) != shape(as_object)
    assert shape({"n": 1}) != shape({"n": "1"}) != shape({"n": None})
    assert shape({"a": True}) != shape({"a": 1})


# ---------------------------------------------------------------- the shared sandbox


def test_create_answer_is_golden(api: httpx.Client) -> None:
    body = assert_like(api.post(CREATE_PATH, json={"input": T2I}), "create_success")
    assert body["msg"] == "success" and body["data"]["taskId"]


def test_success_answer_is_golden(api: httpx.Client) -> None:
    body = assert_like(final_answer(api, T2I), "status_success_string_resultjson")
    data = body["data"]
    assert data["state"] == "success"
    assert isinstance(data["resultJson"], str)
    assert len(json.loads(data["resultJson"])["resultUrls"]) == 4  # a grid: four images
    assert data["completeTime"] - data["createTime"] == data["costTime"]


@pytest.mark.parametrize("code", ["CONTENT_VIOLATION", "INVALID_IMAGE_URL", "INVALID_TASK_ID"])
def test_failed_answer_is_golden(api: httpx.Client, code: str) -> None:
    task_input = {
        "CONTENT_VIOLATION": {"mode": "text-to-image", "prompt": "a scene full of gore"},
        "INVALID_IMAGE_URL": {
            "mode": "image-to-image",
            "prompt": "a bright room",
            "image_urls": [f"http://127.0.0.1:{free_port()}/nothing.png"],
        },
        "INVALID_TASK_ID": {"mode": "upscale", "taskId": "no-such-task", "imageIndex": 0},
    }[code]
    body = assert_like(final_answer(api, task_input), f"status_failed_{code}")
    assert body["data"]["state"] == "failed" and body["data"]["failCode"] == code
    assert body["data"]["failMsg"]


def test_bad_parameters_answer_is_golden(api: httpx.Client) -> None:
    resp = api.post(CREATE_PATH, json={"input": {**T2I, "chaos": 101}})
    assert_like(resp, "error_400")


def test_unknown_task_answer_is_golden(api: httpx.Client) -> None:
    assert_like(status_of(api, "no-such-task"), "error_400_status")


def test_missing_key_answers_are_golden(sandbox_url: str) -> None:
    with httpx.Client(base_url=sandbox_url, timeout=30) as anonymous:
        assert_like(anonymous.post(CREATE_PATH, json={"input": T2I}), "error_401")
        assert_like(status_of(anonymous, "any-task"), "error_401_status")
    with helpers.api_client(sandbox_url, {"Authorization": "Bearer wrong-key"}) as wrong:
        assert_like(wrong.post(CREATE_PATH, json={"input": T2I}), "error_401")


# ---------------------------------------------------------------- sandboxes with odd settings


@pytest.fixture(scope="module")
def slow_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A sandbox whose tasks stay pending ~1 s, then processing ~4 s."""
    settings = helpers.settings(latency_s=5.0, data_dir=tmp_path_factory.mktemp("slow"))
    with running_sandbox(settings) as url, helpers.api_client(url) as client:
        yield client


def test_pending_and_processing_answers_are_golden(slow_api: httpx.Client) -> None:
    task_id = helpers.create(slow_api, T2I)
    body = assert_like(status_of(slow_api, task_id), "status_pending")
    assert body["data"]["state"] == "pending"
    deadline = time.monotonic() + 4.0
    while True:
        resp = status_of(slow_api, task_id)
        if resp.json()["data"]["state"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    body = assert_like(resp, "status_processing")
    assert body["data"]["state"] == "processing"


def test_rate_limited_answer_is_golden(tmp_path: Path) -> None:
    settings = helpers.settings(rate_limit_per_minute=1, data_dir=tmp_path)
    with running_sandbox(settings) as url, helpers.api_client(url) as client:
        helpers.create(client, T2I)
        resp = client.post(CREATE_PATH, json={"input": T2I})
    assert_like(resp, "error_429")
    assert float(resp.headers["Retry-After"]) > 0
