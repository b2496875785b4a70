"""Callbacks, result expiry and a sandbox restarted on the same data_dir."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np

from tests.sandbox import helpers
from tests.sandbox.conftest import Receiver
from tests.sandbox.server import running_sandbox
from tests.waiting import wait_for

T2I = {"mode": "text-to-image", "prompt": "a lighthouse"}


def _wait_for(receiver: Receiver, name: str, timeout_s: float = 30.0) -> list[dict]:
    wait_for(lambda: receiver.received(name), timeout=timeout_s, message=f"no callback at {name}")
    time.sleep(0.3)  # a duplicate would arrive by now
    return receiver.received(name)


def test_callback_posts_the_final_status_once(api: httpx.Client, receiver: Receiver) -> None:
    hooks = {"ok": T2I, "flaky": T2I, "refused": {**T2I, "prompt": "nsfw lighthouse"}}
    ids = {
        name: helpers.create(
            api, task, request_type="callback", callback_url=f"{receiver.url}/hook/{name}"
        )
        for name, task in hooks.items()
    }
    for name, task_id in ids.items():
        bodies = _wait_for(receiver, name)
        assert len(bodies) == 1
        assert bodies[0] == helpers.status(api, task_id)
    assert receiver.calls["flaky"] == 2, "retried after a 503"
    assert len(json.loads(receiver.received("ok")[0]["resultJson"])["resultUrls"]) == 4
    assert receiver.received("refused")[0]["failCode"] == "CONTENT_VIOLATION"


def test_result_urls_expire_after_the_ttl(tmp_path) -> None:
    config = helpers.settings(latency_s=0.1, result_ttl_s=1.5, data_dir=tmp_path)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        data = helpers.run(client, T2I)
        first = helpers.result_urls(data)[0]
        assert httpx.get(first).status_code == 200
        time.sleep(max(0.0, data["completeTime"] / 1000 + 1.7 - time.time()))
        gone = httpx.get(first)
        vary = {"mode": "vary", "taskId": data["taskId"], "imageIndex": 0}
        child = helpers.run(client, vary)
    assert gone.status_code == 410
    assert gone.json() == {"code": 410, "msg": "expired"}
    assert child["failCode"] == "INVALID_TASK_ID"


def test_restarted_sandbox_answers_and_finishes_old_tasks(tmp_path) -> None:
    config = helpers.settings(data_dir=tmp_path, workers=1)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        done = helpers.run(client, T2I)
        before = np.asarray(helpers.download(helpers.result_urls(done)[1]))
        unfinished = [helpers.create(client, {**T2I, "chaos": c}) for c in (10, 20)]
    records = [json.loads(p.read_text()) for p in (tmp_path / "tasks").glob("*.json")]
    assert len(records) == 3
    assert any(r["done_ms"] is None for r in records), "some work was cut off by the stop"

    with running_sandbox(config) as url, helpers.api_client(url) as client:
        again = helpers.status(client, done["taskId"])
        assert again == {**done, "resultJson": again["resultJson"]}
        after = np.asarray(helpers.download(helpers.result_urls(again)[1]))
        finished = [helpers.wait_final(client, task_id) for task_id in unfinished]
    assert np.array_equal(before, after)
    assert [f["state"] for f in finished] == ["success", "success"]
    assert len(list((tmp_path / "tasks").glob("*.json"))) == 3, "nothing created twice"
