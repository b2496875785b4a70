"""The request models (defaults, ranges, one clear error) and tolerant status parsing."""

import json

import pytest

from mjstudio.api.contract import (
    InvalidRequest,
    TaskState,
    TaskStatus,
    body_code,
    build_request,
    explain_fail_code,
    parse_request,
    result_urls,
)

PNG_URL = "https://example.com/a.png"
AREA = {"width": 600, "height": 600, "points": [0, 0, 100, 0, 100, 100]}


def test_text_to_image_defaults_follow_the_seed():
    body = build_request("text-to-image", prompt="a red fox").to_api()
    assert body["request_type"] == "async" and body["provider"] == "auto"
    assert body["input"] == {
        "mode": "text-to-image",
        "prompt": "a red fox",
        "version": "v6.1",
        "speed": "fast",
        "aspect": "1:1",
        "chaos": 0,
        "stylize": 100,
        "weird": 0,
        "enableTranslation": False,
    }


@pytest.mark.parametrize(
    ("mode", "params", "field", "allowed"),
    [
        ("text-to-image", {"prompt": "x", "chaos": 101}, "chaos", "0 to 100"),
        ("text-to-image", {"prompt": "x", "chaos": -1}, "chaos", "0 to 100"),
        ("text-to-image", {"prompt": "x", "stylize": 1001}, "stylize", "0 to 1000"),
        ("text-to-image", {"prompt": "x", "weird": 3001}, "weird", "0 to 3000"),
        ("text-to-image", {"prompt": "x", "chaos": "high"}, "chaos", "0 to 100"),
        ("text-to-image", {"prompt": "x", "chaos": 2.5}, "chaos", "0 to 100"),
        ("text-to-image", {"prompt": "x", "aspect": "16x9"}, "aspect", "W:H"),
        ("text-to-image", {"prompt": "x", "aspect": "0:9"}, "aspect", "W:H"),
        ("text-to-image", {"prompt": "x", "aspect": "-1:2"}, "aspect", "W:H"),
        ("text-to-image", {"prompt": "x", "version": "v5"}, "version", "v6, v6.1, v7, niji 6"),
        ("text-to-image", {"prompt": "x", "speed": "slow"}, "speed", "fast, turbo, relax"),
        ("text-to-image", {"prompt": "   "}, "prompt", "required"),
        ("text-to-image", {}, "prompt", "required"),
        ("image-to-image", {"prompt": "x", "image_urls": []}, "image_urls", ""),
        ("image-to-image", {"prompt": "x", "image_urls": ["ftp://a/b.png"]}, "image_urls", "http"),
        ("vary", {"taskId": "t", "imageIndex": 4}, "imageIndex", "0 to 3"),
        ("vary", {"taskId": "t", "type": 2}, "type", "0 to 1"),
        ("upscale", {"taskId": "t", "type": 4}, "type", "0 to 3"),
        ("upscale", {"imageIndex": 0}, "taskId", "required"),
        ("upload-paint", {"prompt": "x", "image_urls": [PNG_URL], "mask": {}}, "mask", "areas"),
        ("text-to-image", {"prompt": "x", "colour": "red"}, "colour", "not a parameter"),
    ],
)
def test_invalid_values_name_the_field_and_what_is_allowed(mode, params, field, allowed):
    with pytest.raises(InvalidRequest) as err:
        build_request(mode, **params)
    assert err.value.field == field
    assert allowed in str(err.value)


def test_unknown_mode_lists_the_modes():
    with pytest.raises(InvalidRequest, match="text-to-image, image-to-image") as err:
        build_request("outpaint", prompt="x")
    assert err.value.field == "mode"


def test_callback_request_needs_a_url():
    with pytest.raises(InvalidRequest, match="callback_url"):
        build_request("text-to-image", prompt="x", request_type="callback")
    body = build_request(
        "text-to-image", prompt="x", request_type="callback", callback_url="https://me.example/cb"
    ).to_api()
    assert body["callback_url"] == "https://me.example/cb"


def test_every_mode_builds_with_its_parameters():
    data_url = "data:image/png;base64,iVBORw0KGgo="
    paint = build_request(
        "upload-paint",
        prompt="a hat",
        image_urls=[data_url],
        mask={"areas": [AREA]},
        canvas={"width": 600, "height": 600},
        imgPos={"x": 0, "y": 0, "width": 600, "height": 600},
    ).to_api()["input"]
    assert paint["mask"]["areas"][0]["points"] == AREA["points"]
    vary = build_request("vary", taskId="t1", imageIndex=2, type=1, prompt="in snow").to_api()
    assert vary["input"] == {
        "mode": "vary",
        "taskId": "t1",
        "imageIndex": 2,
        "type": 1,
        "prompt": "in snow",
        "version": "v6.1",
        "speed": "fast",
    }
    up = build_request("upscale", taskId="t1", imageIndex=3, type=3).to_api()["input"]
    assert up == {
        "mode": "upscale",
        "taskId": "t1",
        "imageIndex": 3,
        "type": 3,
        "version": "v6.1",
        "speed": "fast",
    }


def test_parse_request_round_trips_and_validates():
    body = build_request("text-to-image", prompt="x", aspect="16:9", chaos=5).to_api()
    assert parse_request(json.loads(json.dumps(body))).to_api() == body
    with pytest.raises(InvalidRequest, match="input"):
        parse_request({"request_type": "async"})


# ------------------------------------------------------------------ tolerance


def test_result_json_as_string_or_object():
    urls = ["https://cdn/1.png", "https://cdn/2.png"]
    as_string = TaskStatus.from_data(
        {"state": "success", "resultJson": json.dumps({"resultUrls": urls})}
    )
    as_object = TaskStatus.from_data({"state": "success", "resultJson": {"resultUrls": urls}})
    assert as_string.result_urls == as_object.result_urls == urls


@pytest.mark.parametrize("raw", ["SUCCESS", "Success", "success", " success "])
def test_state_case_does_not_matter(raw):
    status = TaskStatus.from_data({"state": raw, "resultJson": {"resultUrls": ["u"]}})
    assert status.state is TaskState.SUCCESS and status.is_final


def test_unknown_state_means_still_running():
    status = TaskStatus.from_data({"taskId": "t", "state": "upscaling-in-gpu-farm"})
    assert status.state is TaskState.PROCESSING and not status.is_final


def test_missing_and_null_fields_do_not_crash():
    status = TaskStatus.from_data({"state": None, "resultJson": None, "costTime": "n/a"}, "t9")
    assert status.task_id == "t9" and status.state is TaskState.PENDING
    assert status.result_urls == [] and status.cost_time is None
    assert TaskStatus.from_data(None, "x").state is TaskState.PENDING
    assert TaskStatus.from_data({"state": "success", "extra": {"a": 1}}).state is TaskState.FAILED


def test_failed_task_keeps_code_and_message():
    data = {"taskId": "t", "state": "failed", "failCode": "CONTENT_VIOLATION", "failMsg": "no"}
    status = TaskStatus.from_data(data)
    assert (status.fail_code, status.fail_msg) == ("CONTENT_VIOLATION", "no")
    assert "content rules" in status.explanation


def test_one_grid_url_is_kept_for_splitting():
    assert result_urls('{"resultUrls": ["https://cdn/grid.png"]}') == ["https://cdn/grid.png"]
    assert result_urls("not json") == [] and result_urls(42) == []


def test_status_round_trips_through_the_wire_format():
    status = TaskStatus.from_data(
        {"taskId": "a", "state": "success", "resultJson": {"resultUrls": ["u1"]}, "costTime": 5}
    )
    assert TaskStatus.from_data(status.to_data()) == status


def test_body_code_wins_over_http_200():
    assert body_code(200, {"code": 401, "msg": "bad key"}) == 401
    assert body_code(200, {"code": 200}) == 200
    assert body_code(500, {"code": 200}) == 500
    assert body_code(200, {"code": "oops"}) == 200 and body_code(404, None) == 404


def test_every_seed_fail_code_has_an_explanation():
    for code in ("CONTENT_VIOLATION", "INVALID_IMAGE_URL", "INVALID_TASK_ID"):
        assert explain_fail_code(code) != explain_fail_code("SOMETHING_NEW")
