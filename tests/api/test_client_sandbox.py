"""The typed client against the sandbox over real loopback HTTP: every mode, every error."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mjstudio.api.client import MJClient, PollSchedule
from mjstudio.api.contract import build_request
from mjstudio.api.errors import (
    AuthenticationError,
    BadRequestError,
    RateLimitError,
    TaskFailed,
)
from mjstudio.images import to_data_url
from mjstudio.sandbox import SandboxSettings
from tests.sandbox.server import running_sandbox

KEY = "sandbox-key-for-client-tests"
FAST = PollSchedule(first_s=0.1, every_s=0.1, expected_s=1, deadline_s=30)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    settings = SandboxSettings(api_key=KEY, latency_s=0.3, data_dir=tmp_path_factory.mktemp("sb"))
    with running_sandbox(settings) as base_url:
        yield base_url


@pytest.fixture
def client(sandbox):
    with MJClient(KEY, sandbox) as c:
        yield c


def run(client: MJClient, mode: str, **params):
    task_id = client.create(build_request(mode, **params))
    return task_id, client.wait(task_id, schedule=FAST)


def images_of(client: MJClient, status) -> list[Image.Image]:
    return [Image.open(io.BytesIO(client.download(u))) for u in status.result_urls]


def png(size=(600, 400), colour=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def test_text_to_image_gives_four_images_of_the_aspect(client):
    _, status = run(client, "text-to-image", prompt="a blue ocean at sunset", aspect="16:9")
    imgs = images_of(client, status)
    assert len(imgs) == 4 and all(i.size == (1024, 576) for i in imgs)
    assert len({i.tobytes() for i in imgs}) == 4


def test_image_to_image_from_a_data_url(client):
    url = to_data_url(png(), "image/png")
    _, status = run(client, "image-to-image", prompt="a red poster", image_urls=[url])
    assert len(images_of(client, status)) == 4


def test_upload_paint_keeps_unmasked_pixels(client):
    source = png((600, 600), (10, 120, 200))
    area = {"width": 600, "height": 600, "points": [100, 100, 300, 100, 300, 300, 100, 300]}
    _, status = run(
        client,
        "upload-paint",
        prompt="a yellow sun",
        image_urls=[to_data_url(source, "image/png")],
        mask={"areas": [area]},
    )
    original = Image.open(io.BytesIO(source)).convert("RGB")
    for img in images_of(client, status):
        assert img.size == (600, 600)
        rgb = img.convert("RGB")
        assert rgb.getpixel((500, 500)) == original.getpixel((500, 500))  # outside the mask
        assert rgb.getpixel((20, 580)) == original.getpixel((20, 580))
        assert rgb.getpixel((200, 200)) != original.getpixel((200, 200))  # inside: regenerated


def test_vary_and_upscale_of_a_parent(client):
    parent, status = run(client, "text-to-image", prompt="a green forest")
    grid = images_of(client, status)
    _, varied = run(client, "vary", taskId=parent, imageIndex=2, type=1)
    assert len(varied.result_urls) == 4
    _, up = run(client, "upscale", taskId=parent, imageIndex=1, type=0)
    (big,) = images_of(client, up)
    assert big.size == (grid[1].width * 2, grid[1].height * 2)
    _, up4 = run(client, "upscale", taskId=parent, imageIndex=1, type=3)
    assert images_of(client, up4)[0].size == (grid[1].width * 4, grid[1].height * 4)


def test_wrong_or_missing_key_is_authentication_error(sandbox):
    request = build_request("text-to-image", prompt="x")
    for key in ("wrong-key", ""):
        with MJClient(key, sandbox) as c, pytest.raises(AuthenticationError) as err:
            c.create(request)
        assert "API key" in err.value.hint


def test_invalid_input_reaches_the_provider_as_400(client):
    # The client validates first; a hand-made body shows the provider's own check.
    with pytest.raises(BadRequestError, match="chaos"):
        client._send(
            "POST",
            "/api/v1/generateTask/midjourney",
            json={"input": {"mode": "text-to-image", "prompt": "x", "chaos": 500}},
        )


def test_rate_limit_is_retried_then_reported(tmp_path):
    settings = SandboxSettings(api_key=KEY, latency_s=5, rate_limit_per_minute=2, data_dir=tmp_path)
    sleeps: list[float] = []
    with (
        running_sandbox(settings) as url,
        MJClient(KEY, url, sleep=sleeps.append, max_retries=2) as c,
    ):
        c.create(build_request("text-to-image", prompt="one"))
        c.create(build_request("text-to-image", prompt="two"))
        with pytest.raises(RateLimitError) as err:
            c.create(build_request("text-to-image", prompt="three"))
    assert len(sleeps) == 2 and err.value.retry_after is not None


def test_concurrent_task_limit_is_rate_limit(tmp_path):
    settings = SandboxSettings(api_key=KEY, latency_s=5, max_concurrent=1, data_dir=tmp_path)
    with (
        running_sandbox(settings) as url,
        MJClient(KEY, url, sleep=lambda s: None, max_retries=1) as c,
    ):
        c.create(build_request("text-to-image", prompt="one"))
        with pytest.raises(RateLimitError):
            c.create(build_request("text-to-image", prompt="two"))


@pytest.mark.parametrize(
    ("mode", "params", "code"),
    [
        ("text-to-image", {"prompt": "a scene full of gore"}, "CONTENT_VIOLATION"),
        (
            "image-to-image",
            {"prompt": "x", "image_urls": ["http://127.0.0.1:9/a.png"]},
            "INVALID_IMAGE_URL",
        ),
        ("vary", {"taskId": "does-not-exist", "imageIndex": 0}, "INVALID_TASK_ID"),
    ],
)
def test_task_failures_carry_code_and_explanation(client, mode, params, code):
    task_id = client.create(build_request(mode, **params))
    with pytest.raises(TaskFailed) as err:
        client.wait(task_id, schedule=FAST)
    assert err.value.fail_code == code
    assert err.value.fail_msg and err.value.explanation


def test_upscale_has_only_image_zero(client):
    parent, _ = run(client, "text-to-image", prompt="a lone tree")
    up, _ = run(client, "upscale", taskId=parent, imageIndex=0)
    task_id = client.create(build_request("upscale", taskId=up, imageIndex=1))
    with pytest.raises(TaskFailed) as err:
        client.wait(task_id, schedule=FAST)
    assert err.value.fail_code == "INVALID_TASK_ID"


def test_status_progress_goes_pending_processing_success(client):
    task_id = client.create(build_request("text-to-image", prompt="a kite"))
    seen: list[str] = []
    client.wait(
        task_id,
        schedule=PollSchedule(0.01, 0.02, 1, 30),
        on_progress=lambda s, _e: seen.append(s.state.value),
    )
    assert seen[0] == "pending" and seen[-1] == "success"
    assert "processing" in seen
