"""Tasks that end as failed: blocked words, unusable images, bad parent tasks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mjstudio.api.fence import FencePolicy
from mjstudio.sandbox.fetch import ImageFetchError, load_image
from tests.api import servers
from tests.sandbox import helpers
from tests.sandbox.conftest import TEN_MB, Parent
from tests.sandbox.server import free_port


@dataclass(frozen=True)
class Hosts:
    """What a case's input may point at: the image host and a finished parent task."""

    image_host: str
    parent: Parent

    def file(self, name: str) -> str:
        """The URL of a file on the image host."""
        return f"{self.image_host}/files/{name}"


METADATA_URL = "http://169.254.169.254/latest/meta-data/"


def _i2i(url: str) -> dict[str, Any]:
    return {"mode": "image-to-image", "prompt": "a bright room", "image_urls": [url]}


def _gif_data_url() -> str:
    return helpers.data_url(helpers.encode(helpers.photo((32, 32)), "GIF"), "image/gif")


def _huge_png_data_url() -> str:
    return helpers.data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * TEN_MB)


def _bad_mask(h: Hosts) -> dict[str, Any]:
    return {
        "mode": "upload-paint",
        "prompt": "a door",
        "image_urls": [h.file("photo.png")],
        "mask": {"url": h.file("notes.txt")},
    }


# The one list of failing cases: name -> (the task input, built when the hosts are up; the
# failCode it must end with). Every entry is submitted and checked by the tests below.
CASES: dict[str, tuple[Callable[[Hosts], dict[str, Any]], str]] = {
    "blocked word": (
        lambda h: {"mode": "text-to-image", "prompt": "A scene full of GORE"},
        "CONTENT_VIOLATION",
    ),
    "blocked i2i": (
        lambda h: {**_i2i(h.file("photo.png")), "prompt": "nsfw poster"},
        "CONTENT_VIOLATION",
    ),
    "blocked remix": (
        lambda h: {
            "mode": "vary",
            "taskId": h.parent.task_id,
            "imageIndex": 0,
            "prompt": "more blood",
        },
        "CONTENT_VIOLATION",
    ),
    "closed port": (
        lambda h: _i2i(f"http://127.0.0.1:{free_port()}/x.png"),
        "INVALID_IMAGE_URL",
    ),
    "http 404": (lambda h: _i2i(h.file("missing.png")), "INVALID_IMAGE_URL"),
    "metadata url": (lambda h: _i2i(METADATA_URL), "INVALID_IMAGE_URL"),
    "private url": (lambda h: _i2i("http://10.11.12.13/x.png"), "INVALID_IMAGE_URL"),
    "not an image": (lambda h: _i2i(h.file("notes.txt")), "INVALID_IMAGE_URL"),
    "gif": (lambda h: _i2i(h.file("anim.gif")), "INVALID_IMAGE_URL"),
    "gif data url": (lambda h: _i2i(_gif_data_url()), "INVALID_IMAGE_URL"),
    "over 10 MB": (lambda h: _i2i(h.file("huge.png")), "INVALID_IMAGE_URL"),
    "over 10 MB streamed": (
        lambda h: _i2i(f"{h.image_host}/stream/huge.png"),
        "INVALID_IMAGE_URL",
    ),
    "over 10 MB data url": (lambda h: _i2i(_huge_png_data_url()), "INVALID_IMAGE_URL"),
    "bad mask url": (_bad_mask, "INVALID_IMAGE_URL"),
    "unknown parent": (
        lambda h: {"mode": "upscale", "taskId": "no-such-task", "imageIndex": 0},
        "INVALID_TASK_ID",
    ),
}


@pytest.fixture(scope="module")
def outcomes(
    api: httpx.Client, image_host: str, parent: Parent
) -> dict[str, tuple[dict[str, Any], str]]:
    """Every case of CASES, submitted together; the final status and expected code of each."""
    hosts = Hosts(image_host, parent)
    ids = {name: helpers.create(api, build(hosts)) for name, (build, _) in CASES.items()}
    return {name: (helpers.wait_final(api, ids[name]), CASES[name][1]) for name in CASES}


def assert_failed(data: dict[str, Any], code: str) -> None:
    """A failed status with this code, a human message, times and no results."""
    assert data["state"] == "failed"
    assert data["failCode"] == code
    assert data["failMsg"] and data["failMsg"].endswith(".")
    assert data["resultJson"] is None
    assert data["costTime"] == data["completeTime"] - data["createTime"] >= 300


@pytest.mark.parametrize("case", list(CASES))
def test_task_fails_with_the_right_code(outcomes: dict, case: str) -> None:
    data, code = outcomes[case]
    assert_failed(data, code)


def test_messages_say_what_went_wrong(outcomes: dict) -> None:
    assert "gore" in outcomes["blocked word"][0]["failMsg"]
    assert "GIF" in outcomes["gif"][0]["failMsg"]
    assert "10 MB" in outcomes["over 10 MB"][0]["failMsg"]
    assert "Mask" in outcomes["bad mask url"][0]["failMsg"]
    assert "does not exist" in outcomes["unknown parent"][0]["failMsg"]


def test_reference_urls_are_fenced(outcomes: dict) -> None:
    """The sandbox never fetches a metadata or private address, even behind a redirect."""
    assert "metadata address refused" in outcomes["metadata url"][0]["failMsg"]
    assert "private address refused" in outcomes["private url"][0]["failMsg"]


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


# --------------------------------------------------------------------------- the fetch itself


def _load_fails(url: str, timeout_s: float = 5.0) -> str:
    with pytest.raises(ImageFetchError) as err:
        load_image(url, TEN_MB, timeout_s)
    return str(err.value)


def test_a_redirect_to_a_refused_address_is_not_followed() -> None:
    routes = {
        "/to-metadata": lambda h: servers.redirect(h, METADATA_URL),
        "/to-private": lambda h: servers.redirect(h, "http://10.11.12.13/x.png"),
        "/to-file": lambda h: servers.redirect(h, "file:///etc/passwd"),
    }
    with servers.serve(routes) as (url, _):
        assert "metadata address refused" in _load_fails(f"{url}/to-metadata")
        assert "private address refused" in _load_fails(f"{url}/to-private")
        assert "only http and https" in _load_fails(f"{url}/to-file")


def test_redirects_are_limited_and_the_deadline_is_total() -> None:
    png = helpers.encode(helpers.photo((32, 32)))

    def hops(h) -> None:
        left = int(h.path.rsplit("/", 1)[1])
        if left:
            servers.redirect(h, f"/hop/{left - 1}")
        else:
            servers.send(h, 200, png)

    with servers.serve({"/hop/": hops, "/drip": servers.drip}) as (url, _):
        assert load_image(f"{url}/hop/3", TEN_MB).size == (32, 32)
        assert "too many redirects" in _load_fails(f"{url}/hop/4")
        assert "timed out" in _load_fails(f"{url}/drip", timeout_s=1.0)


def test_a_policy_can_refuse_even_the_loopback() -> None:
    strict = FencePolicy()
    with servers.serve({}) as (url, seen), pytest.raises(ImageFetchError, match="private"):
        load_image(f"{url}/x.png", TEN_MB, 5.0, fence=strict)
    assert seen.requests == []
