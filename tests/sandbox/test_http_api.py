"""The sandbox's HTTP contract: auth, validation, limits, states, URLs."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from mjstudio.api.contract import CREATE_PATH, STATUS_PATH
from mjstudio.sandbox import create_app
from tests.sandbox import helpers
from tests.sandbox.server import running_sandbox, serve_app
from tests.waiting import wait_for

T2I = {"mode": "text-to-image", "prompt": "a quiet lake"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": helpers.API_KEY}],
    ids=["missing", "wrong", "no-bearer-scheme"],
)
def test_bad_or_missing_key_is_401(sandbox_url: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=sandbox_url, headers=headers) as client:
        created = client.post(CREATE_PATH, json={"input": T2I})
        polled = client.get(STATUS_PATH, params={"taskId": "x"})
    for resp in (created, polled):
        assert resp.status_code == 401
        assert resp.json()["code"] == 401
        assert helpers.API_KEY not in resp.text


def test_alternate_auth_header_takes_the_raw_key(tmp_path) -> None:
    with running_sandbox(helpers.settings(auth_header="x-api-key", data_dir=tmp_path)) as url:
        with helpers.api_client(url, {"x-api-key": helpers.API_KEY}) as client:
            assert helpers.create(client, T2I)
        with helpers.api_client(url, helpers.AUTH) as client:
            resp = client.post(CREATE_PATH, json={"input": T2I})
    assert resp.status_code == 401
    assert "x-api-key" in resp.json()["msg"]


def test_extra_auth_headers_also_take_the_bare_key(tmp_path) -> None:
    key = helpers.API_KEY
    config = helpers.settings(extra_auth_headers=("x-api-key",), data_dir=tmp_path)
    cases = {
        "extra header": ({"x-api-key": key}, 200),
        "auth header still works": (helpers.AUTH, 200),
        "wrong key in extra header": ({"x-api-key": "wrong-key"}, 401),
        "extra header takes no Bearer": ({"x-api-key": f"Bearer {key}"}, 401),
        "auth header is checked first": (
            {"Authorization": "Bearer wrong-key", "x-api-key": key},
            401,
        ),
        "unlisted header": ({"x-other-key": key}, 401),
    }
    with running_sandbox(config) as url:
        got = {}
        for name, (headers, _) in cases.items():
            with helpers.api_client(url, headers) as client:
                got[name] = client.post(CREATE_PATH, json={"input": T2I}).status_code
    assert got == {name: code for name, (_, code) in cases.items()}


def test_extra_auth_headers_may_not_repeat_the_auth_header() -> None:
    with pytest.raises(ValueError, match="auth_header"):
        helpers.settings(extra_auth_headers=(" authorization ",))
    assert helpers.settings(extra_auth_headers=" x-api-key ").extra_auth_headers == ("x-api-key",)


@pytest.mark.parametrize(
    ("task_input", "field", "hint"),
    [
        ({**T2I, "chaos": 101}, "chaos", "0 to 100"),
        ({**T2I, "aspect": "wide"}, "aspect", "W:H"),
        ({**T2I, "version": "v5"}, "version", "niji 7"),
        ({"mode": "paint", "prompt": "x"}, "mode", "upload-paint"),
        ({"mode": "upscale", "taskId": "abc", "imageIndex": 0, "type": 4}, "type", "0 to 3"),
    ],
)
def test_invalid_input_is_400_naming_the_field(
    api: httpx.Client, task_input: dict, field: str, hint: str
) -> None:
    resp = api.post(CREATE_PATH, json={"input": task_input})
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == 400
    assert body["msg"].startswith(field)
    assert hint in body["msg"]


def test_body_that_is_not_an_object_is_400(api: httpx.Client) -> None:
    resp = api.post(CREATE_PATH, content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json() == {"code": 400, "msg": "body: must be a JSON object"}


def test_unknown_task_id_is_400(api: httpx.Client) -> None:
    resp = api.get(STATUS_PATH, params={"taskId": "no-such-task"})
    assert resp.status_code == 400
    assert resp.json()["code"] == 400
    assert "not found" in resp.json()["msg"]


def test_per_minute_limit_is_429_with_retry_after(tmp_path) -> None:
    config = helpers.settings(rate_limit_per_minute=3, data_dir=tmp_path)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        task_id = helpers.create(client, T2I)
        helpers.status(client, task_id)
        helpers.status(client, task_id)
        limited = [
            client.get(STATUS_PATH, params={"taskId": task_id}),
            client.post(CREATE_PATH, json={"input": T2I}),
        ]
    for resp in limited:
        assert resp.status_code == 429
        assert resp.json()["code"] == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 60


def test_concurrent_task_limit_is_429_until_one_finishes(tmp_path) -> None:
    config = helpers.settings(max_concurrent=2, latency_s=1.0, data_dir=tmp_path)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        first = helpers.create(client, T2I)
        helpers.create(client, T2I)
        refused = client.post(CREATE_PATH, json={"input": T2I})
        assert refused.status_code == 429
        assert refused.json()["code"] == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 2
        helpers.wait_final(client, first)
        assert helpers.create(client, T2I)


def test_task_goes_pending_processing_success_with_times(tmp_path) -> None:
    config = helpers.settings(latency_s=1.0, data_dir=tmp_path)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        task_id = helpers.create(client, T2I)
        first = helpers.status(client, task_id)
        seen = [first["state"]]

        def final() -> bool:
            seen.append(helpers.status(client, task_id)["state"])
            return seen[-1] in helpers.FINAL

        wait_for(final, timeout=60, message=lambda: f"task {task_id} went {seen}")
        final = helpers.status(client, task_id)
    assert first["state"] == "pending"
    assert first["resultJson"] is None and first["completeTime"] is None
    assert "processing" in seen and seen[-1] == "success"
    assert final["taskId"] == task_id
    assert final["costTime"] == final["completeTime"] - final["createTime"] >= 1000
    assert final["failCode"] is None and final["failMsg"] is None
    assert len(helpers.result_urls(final)) == 4


def test_result_urls_carry_the_mount_prefix(tmp_path) -> None:
    outer = FastAPI()
    outer.mount("/sandbox", create_app(helpers.settings(data_dir=tmp_path)))
    with serve_app(outer) as url, helpers.api_client(url + "/sandbox") as client:
        urls = helpers.result_urls(helpers.run(client, T2I))
        assert all(u.startswith(url + "/sandbox/files/") for u in urls)
        assert helpers.download(urls[0]).size == (1024, 1024)


def test_public_base_url_setting_is_used_for_results(tmp_path) -> None:
    config = helpers.settings(public_base_url="https://cdn.example/mj/", data_dir=tmp_path)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        urls = helpers.result_urls(helpers.run(client, T2I))
    assert all(u.startswith("https://cdn.example/mj/files/") for u in urls)


def test_tasks_are_counted_once_in_the_data_dir(tmp_path) -> None:
    with running_sandbox(helpers.settings(data_dir=tmp_path)) as url, helpers.api_client(url) as c:
        ids = {helpers.create(c, T2I) for _ in range(3)}
        c.post(CREATE_PATH, json={"input": {**T2I, "chaos": -1}})
    assert {p.stem for p in (tmp_path / "tasks").glob("*.json")} == ids
