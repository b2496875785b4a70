"""The client against a misbehaving provider: safe retries only, typed errors, no key leaks."""

import logging
import socket

import httpx
import pytest

from mjstudio.api.client import MJClient, PollSchedule
from mjstudio.api.contract import build_request
from mjstudio.api.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    CreateOutcomeUnknown,
    MJError,
    RateLimitError,
    RedirectRefused,
    ServerError,
    TaskFailed,
    WaitTimeout,
)
from tests.faulty import faulty_server

KEY = "sk-very-secret-key-123456"
OK_CREATE = ("json", 200, {"code": 200, "msg": "success", "data": {"taskId": "t-1"}})
REQUEST = build_request("text-to-image", prompt="a red fox")


def running(state="processing"):
    return ("json", 200, {"code": 200, "msg": "success", "data": {"taskId": "t-1", "state": state}})


def done():
    data = {"taskId": "t-1", "state": "success", "resultJson": '{"resultUrls": ["u1"]}'}
    return ("json", 200, {"code": 200, "msg": "success", "data": data})


def client(base_url, sleeps=None, **kw):
    record = sleeps if sleeps is not None else []
    return MJClient(KEY, base_url, sleep=record.append, **kw)


def test_create_sends_bearer_key_and_body():
    with faulty_server([OK_CREATE]) as (url, script):
        assert client(url).create(REQUEST) == "t-1"
    sent = script.requests[0]
    assert sent["path"] == "/api/v1/generateTask/midjourney"
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"


def test_auth_header_name_is_configurable():
    with faulty_server([OK_CREATE]) as (url, script):
        client(url, auth_header="x-api-key").create(REQUEST)
    assert script.requests[0]["headers"]["x-api-key"] == KEY
    assert "Authorization" not in script.requests[0]["headers"]


def test_create_is_retried_after_429_honouring_retry_after():
    limited = ("json", 429, {"code": 429, "msg": "slow down"}, {"Retry-After": "2"})
    sleeps = []
    with faulty_server([limited, OK_CREATE]) as (url, script):
        assert client(url, sleeps).create(REQUEST) == "t-1"
    assert len(script.requests) == 2 and sleeps == [2.0]


def test_create_timeout_is_unknown_and_never_repeated():
    with faulty_server([("sleep", 1.5), OK_CREATE]) as (url, script):
        with pytest.raises(CreateOutcomeUnknown) as err:
            client(url, timeout=0.5).create(REQUEST)
    assert len(script.requests) == 1
    assert "not sent again" in err.value.hint


def test_create_dropped_connection_is_unknown_and_never_repeated():
    with faulty_server([("drop",), OK_CREATE]) as (url, script):
        with pytest.raises(CreateOutcomeUnknown):
            client(url).create(REQUEST)
    assert len(script.requests) == 1


def test_create_5xx_is_unknown_and_never_repeated():
    with faulty_server([("json", 502, {"code": 502, "msg": "bad gateway"}), OK_CREATE]) as (u, s):
        with pytest.raises(CreateOutcomeUnknown):
            client(u).create(REQUEST)
    assert len(s.requests) == 1


def test_create_retried_when_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there: the request surely created nothing
    sleeps = []
    with pytest.raises(APIConnectionError):
        client(f"http://127.0.0.1:{port}", sleeps, max_retries=2).create(REQUEST)
    assert len(sleeps) == 2


def test_status_retries_5xx_timeouts_and_drops():
    answers = [("json", 503, {"code": 503, "msg": "busy"}), ("drop",), ("sleep", 1.0), done()]
    sleeps = []
    with faulty_server(answers) as (url, script):
        status = client(url, sleeps, timeout=0.5).status("t-1")
    assert status.state == "success" and status.result_urls == ["u1"]
    assert len(script.requests) == 4 and len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2]  # exponential backoff


def test_status_gives_up_with_a_typed_error():
    with faulty_server([("json", 500, {"code": 500, "msg": "boom"})] * 4) as (url, _):
        with pytest.raises(ServerError):
            client(url, max_retries=3).status("t-1")


PARAMS_HINT = "Check the parameters named in the message; nothing was created."
KEY_HINT = "Check the API key (Settings page, MJ_API_KEY or .streamlit/secrets.toml)."


@pytest.mark.parametrize(
    ("answer", "error", "hint"),
    [
        (("json", 400, {"code": 400, "msg": "chaos out of range"}), BadRequestError, PARAMS_HINT),
        (("json", 401, {"code": 401, "msg": "bad key"}), AuthenticationError, KEY_HINT),
        (("json", 200, {"code": 401, "msg": "bad key in body"}), AuthenticationError, KEY_HINT),
        (("json", 200, {"code": 400, "msg": "bad in body"}), BadRequestError, PARAMS_HINT),
    ],
    ids=["http-400", "http-401", "body-401", "body-400"],
)
def test_status_codes_map_to_one_error_each(answer, error, hint):
    with faulty_server([answer]) as (url, script), pytest.raises(error) as err:
        client(url).create(REQUEST)
    assert len(script.requests) == 1
    body = answer[2]
    assert type(err.value) is error
    assert (err.value.status_code, err.value.message) == (body["code"], body["msg"])
    assert err.value.hint == hint


def test_rate_limit_exhausted_raises_rate_limit_error():
    limited = ("json", 429, {"code": 429, "msg": "too many"}, {"Retry-After": "1"})
    with faulty_server([limited] * 3) as (url, _), pytest.raises(RateLimitError) as err:
        client(url, max_retries=2).create(REQUEST)
    assert err.value.retry_after == 1.0


def test_key_never_appears_in_errors_repr_or_logs(caplog):
    echo = ("json", 401, {"code": 401, "msg": f"key {KEY} is not valid"})
    caplog.set_level(logging.DEBUG)
    with faulty_server([echo]) as (url, _):
        c = client(url)
        with pytest.raises(AuthenticationError) as err:
            c.create(REQUEST)
    assert KEY not in str(err.value) and KEY not in repr(err.value.message)
    assert KEY not in repr(c) and KEY not in caplog.text


def test_no_raw_httpx_exception_escapes():
    with pytest.raises(MJError):
        MJClient(KEY, "http://[::1", sleep=lambda s: None, max_retries=0).status("t")
    with faulty_server([("json", 200, b"<html>not json</html>")] * 2) as (url, _):
        status = client(url).status("t-1")  # a non-JSON 200 is tolerated: still running
    assert not status.is_final
    assert not issubclass(MJError, httpx.HTTPError)


def test_wait_follows_the_schedule_and_reports_progress():
    plan = PollSchedule(first_s=20, every_s=3, expected_s=40, deadline_s=600)
    sleeps, seen = [], []
    with faulty_server([running("pending"), running(), done()]) as (url, _):
        status = client(url, sleeps).wait(
            "t-1", schedule=plan, on_progress=lambda s, _e: seen.append(s.state)
        )
    assert status.result_urls == ["u1"]
    assert sleeps == [20, 3, 3] and seen == ["pending", "processing", "success"]


def test_wait_raises_task_failed_with_explanation():
    failed = (
        "json",
        200,
        {
            "code": 200,
            "data": {
                "taskId": "t-1",
                "state": "failed",
                "failCode": "INVALID_TASK_ID",
                "failMsg": "?",
            },
        },
    )
    with faulty_server([failed]) as (url, _), pytest.raises(TaskFailed) as err:
        client(url).wait("t-1", speed="turbo")
    assert err.value.fail_code == "INVALID_TASK_ID" and "parent task" in err.value.explanation


def test_wait_stops_at_its_deadline():
    plan = PollSchedule(first_s=0, every_s=0.01, expected_s=1, deadline_s=0.2)
    with faulty_server([running()] * 200) as (url, _):
        c = MJClient(KEY, url)
        with pytest.raises(WaitTimeout):
            c.wait("t-1", schedule=plan)


# --------------------------------------------------------------------------- redirects and the key


@pytest.mark.parametrize("header", ["Authorization", "x-api-key"])
@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_api_calls_do_not_follow_a_redirect_to_another_origin(header, code):
    """The key never reaches a second host, (httpx strips only Authorization)."""
    with faulty_server([]) as (other, other_script):
        moved_create = ("json", code, {}, {"Location": f"{other}/api/v1/generateTask/midjourney"})
        moved_status = ("json", code, {}, {"Location": f"{other}/api/v1/recordInfo?taskId=t-1"})
        with faulty_server([moved_create, moved_status]) as (url, script):
            c = client(url, auth_header=header)
            with pytest.raises(RedirectRefused) as create_err:
                c.create(REQUEST)
            with pytest.raises(RedirectRefused) as status_err:
                c.status("t-1")
    leaked = [r["headers"] for r in other_script.requests if KEY in str(r["headers"])]
    assert leaked == []  # the key never reached the second server...
    assert other_script.requests == []  # ...which saw no request at all
    assert len(script.requests) == 2  # one each: neither was retried nor followed
    assert not isinstance(create_err.value, CreateOutcomeUnknown)  # a redirect created nothing
    assert "127.0.0.1" in create_err.value.message and status_err.value.status_code == code
    assert KEY not in str(create_err.value)


@pytest.mark.parametrize("header", ["Authorization", "x-api-key"])
def test_api_calls_follow_a_redirect_on_the_same_origin(header):
    moved = ("json", 307, {}, {"Location": "/api/v2/generateTask/midjourney"})
    with faulty_server([moved, OK_CREATE]) as (url, script):
        assert client(url, auth_header=header).create(REQUEST) == "t-1"
    assert script.requests[1]["path"] == "/api/v2/generateTask/midjourney"
    assert KEY in script.requests[1]["headers"][header]


def test_api_calls_follow_at_most_three_redirects():
    loop = ("json", 302, {}, {"Location": "/api/v1/recordInfo?taskId=t-1"})
    with faulty_server([loop] * 5) as (url, script), pytest.raises(RedirectRefused):
        client(url, max_retries=0).status("t-1")
    assert len(script.requests) == 4
