"""The provider callback route: verify, record, wake the tracker; never stall the server.

Every test talks HTTP to the studio's routes served on loopback (uvicorn in a thread, as the
studio's server runs them), with the signed URL the studio gives the provider.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from mjstudio.server.routes import HEALTH_PATH, MAX_CALLBACK_BYTES
from mjstudio.tasks.record import RecordState
from tests.server.conftest import result_server
from tests.waiting import wait_for

ANSWER_S = 5.0  # a route that does not answer within this is stuck
CLOSED = "http://127.0.0.1:9"  # nothing listens there


def final(state: str, *urls: str, task_id: str = "t-1") -> dict:
    """A provider's status object as a callback body."""
    body = {"taskId": task_id, "state": state}
    if urls:
        body["resultJson"] = json.dumps({"resultUrls": list(urls)})
    if state == "failed":
        body.update(failCode="X", failMsg="refused")
    return body


def raw_post(url: str, headers: dict[str, str], body: bytes) -> int:
    """POST over a plain socket (headers and body as given); the answer's status code."""
    parts = urlsplit(url)
    lines = [f"POST {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_S) as sock:
        sock.sendall(head + body)
        try:
            answer = sock.recv(1024)
        except TimeoutError:
            raise AssertionError(f"no answer in {ANSWER_S:g} s: it waits for the body") from None
    return int(answer.split()[1])


# --------------------------------------------------------------------------- item 1


def test_a_hanging_result_url_leaves_the_callback_and_the_server_answering(serve):
    with result_server(delay_s=None) as hang:  # accepts the download, never answers it
        served = serve(hang.url)
        record = served.record()
        body = final("success", hang.url + "/r.png")
        answer = httpx.post(served.callback_url(record), json=body, timeout=ANSWER_S)
        assert answer.status_code == 200, answer.text
        wait_for(lambda: hang.gets, timeout=20, message="the tracker never started the download")
        health = httpx.get(served.url + HEALTH_PATH, timeout=ANSWER_S)  # download still pending
        found = health.json()
        assert found["tracker"] is True and found["database"] == {"engine": "sqlite", "ok": True}
        assert found["leases"] in (0, 1) and found["server"]  # the hanging download holds one
        stored = served.studio.store.get(record.id)
        assert stored.state is RecordState.SUCCESS and not stored.downloaded


def test_a_callback_result_is_downloaded_once_by_the_tracker(serve):
    with result_server(delay_s=1.0) as slow:
        served = serve(slow.url)
        record = served.record()
        body = final("success", slow.url + "/r.png")
        answer = httpx.post(served.callback_url(record), json=body, timeout=ANSWER_S)
        assert answer.status_code == 200, answer.text
        done = wait_for(
            lambda: (r := served.studio.store.get(record.id)).downloaded and r,
            timeout=30,
            message=lambda: f"never downloaded: {served.studio.store.get(record.id)}",
        )
        assert len(done.files) == 4
        assert slow.gets == ["/r.png"]  # the handler did not download it as well


# --------------------------------------------------------------------------- item 2


@pytest.mark.parametrize("signed", [False, True])
def test_a_huge_body_is_refused_before_it_is_read(serve, signed):
    served = serve(CLOSED)
    url = served.callback_url(served.record())
    if not signed:
        url = url.replace("sig=", "sig=0")
    declared = {"Content-Type": "application/json", "Content-Length": str(400 * 2**20)}
    code = raw_post(url, declared, b"{" + b" " * 1023)  # 1 KB of a declared 400 MB
    assert code == (413 if signed else 403)


def test_a_streamed_body_past_the_cap_is_refused(serve):
    served = serve(CLOSED)
    record = served.record(RecordState.PROCESSING)
    padded = final("failed") | {"pad": "x" * MAX_CALLBACK_BYTES}
    data = json.dumps(padded).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(data[i : i + 16384]), data[i : i + 16384])
        for i in range(0, len(data), 16384)
    )
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    assert raw_post(served.callback_url(record), headers, chunks + b"0\r\n\r\n") == 413
    assert served.studio.store.get(record.id).state is RecordState.PROCESSING


@pytest.mark.parametrize(
    "sig", ["é" * 32, "\u2603", "", "0" * 32], ids=["accents", "snowman", "empty", "wrong"]
)
def test_a_bad_or_non_ascii_signature_is_a_client_error(serve, sig):
    served = serve(CLOSED)
    record = served.record()
    url = served.callback_url(record).split("?")[0]
    answer = httpx.post(url, params={"sig": sig}, json=final("failed"), timeout=ANSWER_S)
    assert answer.status_code == 403, answer.text
    assert served.studio.store.get(record.id).state is RecordState.PENDING


def test_a_final_status_is_accepted_once(serve):
    served = serve(CLOSED)
    record = served.record()
    url = served.callback_url(record)
    assert httpx.post(url, json=final("failed"), timeout=ANSWER_S).status_code == 200
    failed = served.studio.store.get(record.id)
    assert failed.state is RecordState.FAILED and failed.fail_msg == "refused"
    replay = httpx.post(url, json=final("success", CLOSED + "/r.png"), timeout=ANSWER_S)
    assert replay.status_code == 409, replay.text  # a signature is no licence to flip it
    again = httpx.post(url, json=final("failed"), timeout=ANSWER_S)
    assert again.status_code == 200  # the provider retrying its own callback: ignored
    assert served.studio.store.get(record.id) == failed


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"success"',
        b"null",
        b"not json",
        b'{"data": [1]}',
        b"[" * 100_000,
        json.dumps(final("processing")).encode(),
        json.dumps({"state": "failed"}).encode(),  # no task id
        json.dumps(final("failed", task_id="someone-else")).encode(),
    ],
    ids=["list", "string", "null", "text", "data-list", "deep", "not-final", "no-id", "other-id"],
)
def test_a_body_that_is_not_this_tasks_final_status_changes_nothing(serve, body):
    served = serve(CLOSED)
    record = served.record(RecordState.PROCESSING)
    headers = {"Content-Type": "application/json"}
    answer = httpx.post(served.callback_url(record), content=body, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text
    assert served.studio.store.get(record.id) == record


@pytest.mark.parametrize("state", [RecordState.UNKNOWN, RecordState.CREATING])
def test_a_record_without_a_task_id_refuses_callbacks(serve, state):
    served = serve(CLOSED)
    record = served.record(state, task_id=None)
    body = final("success", CLOSED + "/r.png", task_id="any-id")
    answer = httpx.post(served.callback_url(record), json=body, timeout=ANSWER_S)
    assert answer.status_code == 409, answer.text
    assert served.studio.store.get(record.id) == record


def test_a_callback_for_no_record_is_refused(serve):
    served = serve(CLOSED)
    url = served.studio.callback_url(served.conn, "no-such-record")
    answer = httpx.post(url, json=final("failed"), timeout=ANSWER_S)
    assert answer.status_code == 409, answer.text


# --------------------------------------------------------------------------- uploads


def test_uploads_are_served_by_name_and_nothing_else(serve):
    served = serve(CLOSED)
    token = served.studio.uploads.put(b"\x89PNG-ish", "image/png")
    answer = httpx.get(f"{served.url}/api/uploads/{token}.png", timeout=ANSWER_S)
    assert answer.status_code == 200 and answer.content == b"\x89PNG-ish"
    assert answer.headers["content-type"] == "image/png"
    for name in ("unknown-token-0000000000", "..%2Fhistory.sqlite3", f"{token}.jpg"):
        assert httpx.get(f"{served.url}/api/uploads/{name}", timeout=ANSWER_S).status_code == 404
