"""The embedded sandbox fetches the studio's own upload links, and no other private address."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mjstudio.config import SANDBOX_PREFIX, Settings
from mjstudio.sandbox.callbacks import deliver
from mjstudio.sandbox.jobs import TaskFailure, fetch
from mjstudio.server import embedded
from tests.faulty import faulty_server


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 400), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


def test_only_the_studio_origin_is_trusted_on_loopback(tmp_path):
    settings = Settings.load(environ={}, data_dir=tmp_path)
    conf = embedded.sandbox_settings(settings)
    blob = png()
    with (
        faulty_server([("json", 200, blob)] * 2) as (studio, _),
        faulty_server([("json", 200, blob)] * 2) as (elsewhere, other_script),
    ):
        embedded.set_mounted(tmp_path, studio + SANDBOX_PREFIX)
        assert fetch(f"{studio}/api/uploads/a.png", conf, "Reference image 1").size == (600, 400)
        with pytest.raises(TaskFailure) as refused:
            fetch(f"{elsewhere}/secret.png", conf, "Reference image 1")
    assert refused.value.code == "INVALID_IMAGE_URL"
    assert other_script.requests == []  # never even asked


def test_a_private_address_is_fetched_when_the_setting_allows_it(tmp_path):
    settings = Settings.load(environ={"MJSTUDIO_ALLOW_PRIVATE_URLS": "1"}, data_dir=tmp_path)
    conf = embedded.sandbox_settings(settings)
    with faulty_server([("json", 200, png())]) as (elsewhere, _):
        assert fetch(f"{elsewhere}/ok.png", conf, "Reference image 1").size == (600, 400)


def test_the_sandbox_keeps_results_as_long_as_the_setting_says(tmp_path):
    settings = Settings.load(environ={"MJSTUDIO_SANDBOX_RESULT_DAYS": "3"}, data_dir=tmp_path)
    assert embedded.sandbox_settings(settings).result_ttl_s == 3 * 24 * 3600


def test_callbacks_go_only_to_the_studio_origin(tmp_path):
    settings = Settings.load(environ={}, data_dir=tmp_path)
    conf = embedded.sandbox_settings(settings)
    ok = ("json", 200, {"code": 200})
    with faulty_server([ok]) as (studio, studio_script), faulty_server([ok]) as (other, seen):
        embedded.set_mounted(tmp_path, studio + SANDBOX_PREFIX)
        to_studio, to_other = f"{studio}/api/callback/r1?sig=x", f"{other}/admin"
        assert deliver(to_studio, {"taskId": "t"}, 1, fence=conf.fence_for(to_studio))
        assert not deliver(to_other, {"taskId": "t"}, 1, fence=conf.fence_for(to_other))
    assert len(studio_script.requests) == 1 and seen.requests == []
