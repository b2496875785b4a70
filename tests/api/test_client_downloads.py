"""Result downloads: fenced (the provider's own host allowed), capped in bytes, pixels and time."""

from __future__ import annotations

import pytest

from mjstudio.api import fence
from mjstudio.api.client import MAX_RESULT_PIXELS, MJClient
from mjstudio.api.errors import FetchRefused, MJError, ResultTooLarge
from mjstudio.config import Connection, Settings
from mjstudio.images import MAX_PIXELS
from tests.api import servers
from tests.api.servers import drip, flood, redirect, send, serve

KEY = "sk-download-key-123456"
PNG = servers.png()


def routes() -> dict:
    return {"/files/1.png": lambda h: send(h, 200, PNG, Content_Type="image/png")}


def provider(url: str, **fields) -> MJClient:
    """A client whose provider lives at ``url`` (its own host), built as the studio builds it."""
    return Connection(base_url=url, api_key=KEY, **fields).client()


def refused_download(client: MJClient, url: str) -> FetchRefused:
    with client, pytest.raises(FetchRefused) as err:
        client.download(url)
    assert isinstance(err.value, MJError)  # the tracker's `except MJError` handles it
    return err.value


def test_results_on_the_providers_own_host_are_downloaded() -> None:
    with serve(routes()) as (url, seen):
        with provider(url) as client:
            assert client.download(f"{url}/files/1.png") == PNG
    assert "Authorization" not in seen.requests[0]["headers"]  # no key to result hosts


def test_results_on_another_private_host_are_refused() -> None:
    with serve(routes()) as (cdn, cdn_seen), serve({}) as (api, _):
        other = cdn.replace("127.0.0.1", "localhost")  # not the provider's host, and loopback
        err = refused_download(provider(api), f"{other}/files/1.png")
        metadata = refused_download(provider(api), "http://169.254.169.254/latest/meta-data/")
    assert err.reason == fence.PRIVATE and metadata.reason == fence.METADATA
    assert cdn_seen.requests == []


def test_allow_private_urls_lets_a_studio_on_its_own_machine_download_anywhere_local() -> None:
    with serve(routes()) as (cdn, _), serve({}) as (api, _):
        other = cdn.replace("127.0.0.1", "localhost")
        with provider(api, allow_private_urls=True) as client:
            assert client.download(f"{other}/files/1.png") == PNG


def test_a_redirect_from_the_providers_host_to_another_private_host_is_refused() -> None:
    with serve(routes()) as (inner, inner_seen):
        elsewhere = inner.replace("127.0.0.1", "localhost")
        with serve({"/files/": lambda h: redirect(h, f"{elsewhere}/files/1.png")}) as (url, _):
            err = refused_download(provider(url), f"{url}/files/1.png")
    assert err.reason == fence.PRIVATE and inner_seen.requests == []


def test_more_than_three_redirects_are_refused() -> None:
    def hops(h) -> None:
        left = int(h.path.rsplit("/", 1)[1])
        if left:
            redirect(h, f"/hop/{left - 1}")
        else:
            send(h, 200, PNG)

    with serve({"/hop/": hops}) as (url, _):
        with provider(url) as client:
            assert client.download(f"{url}/hop/3") == PNG
        assert refused_download(provider(url), f"{url}/hop/4").reason == fence.TOO_MANY_REDIRECTS


def test_a_dripping_result_is_cut_at_the_deadline_and_not_retried() -> None:
    with serve({"/drip": drip}) as (url, seen):
        err = refused_download(provider(url, fetch_timeout_s=1.0), f"{url}/drip")
    assert err.reason == fence.TIMED_OUT
    assert seen.paths == ["/drip"]


@pytest.mark.parametrize("declare", [True, False])
def test_a_result_over_the_byte_cap_is_refused_while_streaming(declare: bool) -> None:
    # 64 MB on offer, 1 MB allowed: the download stops at the cap.
    with serve({"/big": lambda h: flood(h, declare=declare)}) as (url, _):
        err = refused_download(provider(url, max_result_mb=1), f"{url}/big")
    assert isinstance(err, ResultTooLarge) and not err.retryable


def test_the_byte_cap_defaults_to_the_setting(tmp_path) -> None:
    conf = Settings.load(environ={"MJSTUDIO_MAX_RESULT_MB": "2"}, data_dir=tmp_path)
    conn = conf.sandbox_connection("http://127.0.0.1:9", "k")
    assert (conn.max_result_mb, conn.fetch_timeout_s, conn.allow_private_urls) == (2, 15, False)
    with conn.client() as client:
        assert client._files.policy.max_bytes == 2_000_000
        assert client._files.policy.own_hosts == {"127.0.0.1"}


def test_an_image_over_the_pixel_cap_is_refused_before_decoding() -> None:
    bomb = servers.bomb_png()  # 9000 x 9500 pixels in a few KB
    assert len(bomb) < 100_000
    with serve({"/bomb.png": lambda h: send(h, 200, bomb)}) as (url, _):
        err = refused_download(provider(url), f"{url}/bomb.png")
        small = refused_download(MJClient(KEY, url, max_pixels=1000), f"{url}/bomb.png")
    assert isinstance(err, ResultTooLarge) and "9000x9500" in err.reason
    assert isinstance(small, ResultTooLarge)


def test_the_pixel_cap_matches_the_image_helpers() -> None:
    assert MAX_RESULT_PIXELS == MAX_PIXELS
