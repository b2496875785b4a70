"""Tasks that end as failed: blocked words, unusable images, bad parent tasks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox import helpers
from tests.sandbox.conftest import TEN_MB, Parent
from tests.sandbox.server import free_port


def _i2i(url: str) -> dict[str, Any]:
    return {"mode": "image-to-image", "prompt": "a bright room", "image_urls": [url]}


def _cases(image_host: str, parent: Parent) -> dict[str, tuple[dict[str, Any], str]]:
    photo_url = f"{image_host}/files/photo.png"
    huge_png = helpers.data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * TEN_MB)
    gif = helpers.data_url(helpers.encode(helpers.photo((32, 32)), "GIF"), "image/gif")
    paint = {
        "mode": "upload-paint",
        "prompt": "a door",
        "image_urls": [photo_url],
        "mask": {"url": f"{image_host}/files/notes.txt"},
    }
    return {
        "blocked word": (
            {"mode": "text-to-image", "prompt": "A scene full of GORE"},
            "CONTENT_VIOLATION",
        ),
        "blocked i2i": ({**_i2i(photo_url), "prompt": "nsfw poster"}, "CONTENT_VIOLATION"),
        "blocked remix": (
            {"mode": "vary", "taskId": parent.task_id, "imageIndex": 0, "prompt": "more blood"},
            "CONTENT_VIOLATION",
        ),
        "closed port": (_i2i(f"http://127.0.0.1:{free_port()}/x.png"), "INVALID_IMAGE_URL"),
        "http 404": (_i2i(f"{image_host}/files/missing.png"), "INVALID_IMAGE_URL"),
        "not an image": (_i2i(f"{image_host}/files/notes.txt"), "INVALID_IMAGE_URL"),
        "gif": (_i2i(f"{image_host}/files/anim.gif"), "INVALID_IMAGE_URL"),
        "gif data url": (_i2i(gif), "INVALID_IMAGE_URL"),
        "over 10 MB": (_i2i(f"{image_host}/files/huge.png"), "INVALID_IMAGE_URL"),
        "over 10 MB streamed": (_i2i(f"{image_host}/stream/huge.png"), "INVALID_IMAGE_URL"),
        "over 10 MB data url": (_i2i(huge_png), "INVALID_IMAGE_URL"),
        "bad mask url": (paint, "INVALID_IMAGE_URL"),
        "unknown parent": (
            {"mode": "upscale", "taskId": "no-such-task", "imageIndex": 0},
            "INVALID_TASK_ID",
        ),
    }


@pytest.fixture(scope="module")
def outcomes(
    api: httpx.Client, image_host: str, parent: Parent
) -> dict[str, tuple[dict[str, Any], str]]:
    """Every failing case, submitted together; the final status and expected code of each."""
    cases = _cases(image_host, parent)
    ids = {name: helpers.create(api, task) for name, (task, _) in cases.items()}
    return {name: (helpers.wait_final(api, ids[name]), cases[name][1]) for name in cases}


CASES = [
    "blocked word",
    "blocked i2i",
    "blocked remix",
    "closed port",
    "http 404",
    "not an image",
    "gif",
    "gif data url",
    "over 10 MB",
    "over 10 MB streamed",
    "over 10 MB data url",
    "bad mask url",
    "unknown parent",
]


def assert_failed(data: dict[str, Any], code: str) -> None:
    """A failed status with this code, a human message, times and no results."""
    assert data["state"] == "failed"
    assert data["failCode"] == code
    assert data["failMsg"] and data["failMsg"].endswith(".")
    assert data["resultJson"] is None
    assert data["costTime"] == data["completeTime"] - data["createTime"] >= 300


@pytest.mark.parametrize("case", CASES)
def test_task_fails_with_the_right_code(outcomes: dict, case: str) -> None:
    data, code = outcomes[case]
    assert_failed(data, code)


def test_messages_say_what_went_wrong(outcomes: dict) -> None:
    assert "gore" in outcomes["blocked word"][0]["failMsg"]
    assert "GIF" in outcomes["gif"][0]["failMsg"]
    assert "10 MB" in outcomes["over 10 MB"][0]["failMsg"]
    assert "Mask" in outcomes["bad mask url"][0]["failMsg"]
    assert "does not exist" in outcomes["unknown parent"][0]["failMsg"]


def test_blocked_words_match_whole_words_only(api: httpx.Client) -> None:
    data = helpers.run(api, {"mode": "text-to-image", "prompt": "a bloodhound in the snow"})
    assert data["state"] == "success"


def test_upscale_result_has_only_image_zero(api: httpx.Client, parent: Parent) -> None:
    up = helpers.run(api, {"mode": "upscale", "taskId": parent.task_id, "imageIndex": 0, "type": 2})
    assert len(helpers.result_urls(up)) == 1
    again = {"mode": "upscale", "taskId": up["taskId"], "type": 0}
    assert_failed(helpers.run(api, {**again, "imageIndex": 1}), "INVALID_TASK_ID")
    assert helpers.run(api, {**again, "imageIndex": 0})["state"] == "success"


def test_failed_parent_is_an_invalid_task_id(api: httpx.Client, outcomes: dict) -> None:
    failed_id = outcomes["blocked word"][0]["taskId"]
    data = helpers.run(api, {"mode": "vary", "taskId": failed_id, "imageIndex": 0, "type": 1})
    assert_failed(data, "INVALID_TASK_ID")
    assert "failed" in data["failMsg"]
