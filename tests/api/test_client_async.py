"""The async status client: the sync client's answers and errors, paced, 429 handed back."""

from __future__ import annotations

import asyncio

import pytest

from mjstudio.api.contract import TaskState
from mjstudio.api.errors import (
    APIConnectionError,
    AuthenticationError,
    RateLimitError,
    RedirectRefused,
    ServerError,
)
from mjstudio.api.status_client import LANE_SIZE, AsyncStatusClient, lane_sizes
from tests.faulty import faulty_server

KEY = "sk-very-secret-key-123456"


def status(state: str = "processing", task_id: str = "t-1", **extra) -> tuple:
    data = {"taskId": task_id, "state": state, **extra}
    return ("json", 200, {"code": 200, "msg": "success", "data": data})


def ask(url: str, task_id: str = "t-1", **kw):
    """One status call on a fresh event loop; (status or error, paces, sleeps)."""
    paces: list[int] = []
    sleeps: list[float] = []

    async def pace() -> None:
        paces.append(1)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def run():
        client = AsyncStatusClient(KEY, url, sleep=sleep, **kw)
        try:
            return await client.status(task_id, pace)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            return exc
        finally:
            await client.aclose()

    return asyncio.run(run()), paces, sleeps


def test_a_status_is_read_like_the_sync_client_reads_it():
    answer = status("SUCCESS", resultJson='{"resultUrls": ["u1"]}', costTime=41000)
    with faulty_server([answer]) as (url, script):
        got, paces, _ = ask(url)
    assert got.state is TaskState.SUCCESS and got.result_urls == ["u1"]
    assert got.cost_time == 41000
    sent = script.requests[0]
    assert sent["path"] == "/api/v1/statusTask/midjourney?taskId=t-1"
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert paces == [1]  # the budget was asked before the call


def test_the_auth_header_name_is_configurable():
    with faulty_server([status()]) as (url, script):
        ask(url, auth_header="x-api-key")
    assert script.requests[0]["headers"]["x-api-key"] == KEY


def test_5xx_and_drops_are_tried_again_each_attempt_paced():
    answers = [("json", 503, {"code": 503}), ("drop",), status()]
    with faulty_server(answers) as (url, script):
        got, paces, sleeps = ask(url)
    assert got.state is TaskState.PROCESSING
    assert len(script.requests) == 3 and len(paces) == 3 and len(sleeps) == 2


def test_5xx_gives_up_with_a_typed_error():
    with faulty_server([("json", 500, {"code": 500})] * 4) as (url, _):
        got, paces, _ = ask(url)
    assert isinstance(got, ServerError) and len(paces) == 4


def test_a_429_is_handed_back_at_once_with_its_retry_after():
    limited = ("json", 429, {"code": 429, "msg": "slow down"}, {"Retry-After": "30"})
    with faulty_server([limited, status()]) as (url, script):
        got, _, sleeps = ask(url)
    assert isinstance(got, RateLimitError) and got.retry_after == 30
    assert len(script.requests) == 1 and sleeps == []


def test_the_body_code_counts_and_the_key_is_never_shown():
    answer = ("json", 200, {"code": 401, "msg": f"bad key {KEY}"})
    with faulty_server([answer]) as (url, _):
        got, _, _ = ask(url)
    assert isinstance(got, AuthenticationError)
    assert KEY not in str(got) and KEY not in repr(got)
    assert KEY not in repr(AsyncStatusClient(KEY, "http://127.0.0.1:9"))


def test_a_redirect_to_another_origin_is_not_followed():
    moved = ("json", 302, {}, {"Location": "http://203.0.113.9/steal"})
    with faulty_server([moved]) as (url, script):
        got, _, _ = ask(url)
    assert isinstance(got, RedirectRefused) and len(script.requests) == 1


def test_a_refused_connection_is_a_connection_error():
    got, paces, _ = ask("http://127.0.0.1:9", max_retries=1)
    assert isinstance(got, APIConnectionError) and len(paces) == 2


def test_an_invalid_url_is_said_plainly():
    with pytest.raises(APIConnectionError):
        AsyncStatusClient(KEY, "http://exa mple.com:abc")


def test_connections_are_shared_out_over_small_pools():
    for connections in (1, 7, 8, 9, 32, 33):
        sizes = lane_sizes(connections)
        assert sum(sizes) == connections and max(sizes) <= LANE_SIZE
        assert max(sizes) - min(sizes) <= 1
