"""The sandbox deletes tasks whose results expired (records and files): at start and daily."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from mjstudio.api.contract import STATUS_PATH
from tests.sandbox import helpers
from tests.sandbox.server import running_sandbox
from tests.waiting import wait_for

T2I = {"mode": "text-to-image", "prompt": "a lighthouse", "aspect": "16:9"}
DAY_MS = 24 * 3600 * 1000


def _backdate(data_dir: Path, task_id: str, days: float, *, unfinish: bool = False) -> None:
    """Move a stored task's times ``days`` into the past (as if the sandbox had been off)."""
    path = data_dir / "tasks" / f"{task_id}.json"
    record = json.loads(path.read_text("utf-8"))
    for name in ("created_ms", "ready_ms", "done_ms"):
        record[name] -= round(days * DAY_MS)
    if unfinish:
        record |= {"done_ms": None, "files": []}
    path.write_text(json.dumps(record), "utf-8")


def _kept(data_dir: Path, task_id: str, token_of: dict[str, str]) -> tuple[bool, bool]:
    """Whether a task's record and its result folder are still on disk."""
    record = (data_dir / "tasks" / f"{task_id}.json").exists()
    return record, (data_dir / "files" / token_of[task_id]).is_dir()


def _tokens(data_dir: Path) -> dict[str, str]:
    records = [json.loads(p.read_text("utf-8")) for p in (data_dir / "tasks").glob("*.json")]
    return {r["task_id"]: r["token"] for r in records}


def test_a_restarted_sandbox_deletes_expired_tasks_and_keeps_the_rest(tmp_path: Path) -> None:
    with running_sandbox(helpers.settings(data_dir=tmp_path)) as url:
        with helpers.api_client(url) as client:
            old, fresh, cut = (helpers.create(client, T2I | {"chaos": c}) for c in (1, 2, 3))
            for task_id in (old, fresh, cut):
                helpers.wait_final(client, task_id)
    token_of = _tokens(tmp_path)
    _backdate(tmp_path, old, 2)  # finished two days ago
    _backdate(tmp_path, cut, 2, unfinish=True)  # created two days ago, never finished

    config = helpers.settings(data_dir=tmp_path, result_ttl_s=24 * 3600)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        assert _kept(tmp_path, old, token_of) == (False, False), "expired: deleted at start"
        assert _kept(tmp_path, fresh, token_of) == (True, True)
        gone = client.get(STATUS_PATH, params={"taskId": old})
        assert gone.status_code == 400 and "not found" in gone.json()["msg"]
        assert helpers.download(helpers.result_urls(helpers.status(client, fresh))[0])
        finished = helpers.wait_final(client, cut)
    assert finished["state"] == "success", "an unfinished task is finished, not deleted"
    assert _kept(tmp_path, cut, token_of) == (True, True)


def test_a_running_sandbox_deletes_expired_tasks_each_prune_period(tmp_path: Path) -> None:
    config = helpers.settings(data_dir=tmp_path, latency_s=0.1, result_ttl_s=1.0, prune_every_s=0.5)
    with running_sandbox(config) as url, helpers.api_client(url) as client:
        first = helpers.run(client, T2I)["taskId"]
        token_of = _tokens(tmp_path)
        assert _kept(tmp_path, first, token_of) == (True, True)

        def deleted() -> bool:
            client.get(STATUS_PATH, params={"taskId": "poke"})  # any request
            return _kept(tmp_path, first, token_of) == (False, False)

        wait_for(deleted, timeout=20, interval=0.2, message="the expired task was not deleted")
        second = helpers.run(client, T2I | {"chaos": 5})
        assert httpx.get(helpers.result_urls(second)[0]).status_code == 200
    assert _kept(tmp_path, second["taskId"], _tokens(tmp_path)) == (True, True)
