"""Every page renders, submits a task to the store, and refuses bad values with a message."""

from __future__ import annotations

import pytest

from components.sitemap import PAGES, PageSpec
from mjstudio.tasks.uploads import UPLOAD_REF
from tests.pages import probes
from tests.pages.conftest import shown_text, wait_done

SCRIPT = {p.script.removeprefix("pages/").removesuffix(".py"): p.script for p in PAGES}


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _generate(at, prompt: str | None = None):
    if prompt is not None:
        at.text_area(key="text-to-image:prompt").set_value(prompt)
    _button(at, "Generate").click()
    at.run()
    return at


def test_the_sandbox_banner_shows_without_a_key(app):
    at = app()
    assert any("Sandbox provider" in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.title)
def test_every_page_renders_under_its_own_title(app, page: PageSpec):
    at = app(page.script)
    assert [t.value for t in at.title][:1] == [page.title]


def test_imagine_shows_every_seed_parameter_with_defaults(app):
    at = app()
    assert at.selectbox(key="text-to-image:version").value == "v6.1"
    assert at.selectbox(key="text-to-image:speed").value == "fast"
    assert at.selectbox(key="text-to-image:aspect_preset").value == "1:1"
    options = " ".join(at.selectbox(key="text-to-image:aspect_preset").options)
    assert all(p in options for p in ("1:1", "4:3", "3:2", "16:9", "9:16", "Custom W:H"))
    chaos = at.slider(key="text-to-image:chaos")
    assert (chaos.value, chaos.min, chaos.max) == (0, 0, 100)
    stylize = at.slider(key="text-to-image:stylize")
    assert (stylize.value, stylize.min, stylize.max) == (100, 0, 1000)
    weird = at.slider(key="text-to-image:weird")
    assert (weird.value, weird.min, weird.max) == (0, 0, 3000)
    assert at.checkbox(key="text-to-image:enableTranslation").value is False
    assert "0-30" in chaos.help.replace("–", "-")


def test_generate_stores_the_task_and_it_finishes(app, store):
    at = _generate(app(), "a lighthouse at dusk --ar 16:9 --s 250 --turbo")
    assert not at.exception and not at.error
    records = wait_done(store)
    assert len(records) == 1
    task = records[0]
    assert task.prompt == "a lighthouse at dusk"
    assert task.params["aspect"] == "16:9" and task.params["stylize"] == 250
    assert task.params["speed"] == "turbo"
    assert task.state == "success" and len(task.files) == 4


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("a cat --chaos 150", "chaos must be from 0 to 100"),
        ("a cat --v 5", "version must be one of"),
        ("   ", "prompt"),
    ],
)
def test_bad_values_get_a_message_and_no_request(app, store, prompt, message):
    at = _generate(app(), prompt)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert store.workspaces() == []


def test_custom_aspect_is_validated(app, store):
    at = app()
    at.selectbox(key="text-to-image:aspect_preset").set_value("custom")
    at.text_input(key="text-to-image:aspect_custom").set_value("16x9")
    at = _generate(at, "a cat")
    assert any("aspect" in e.value for e in at.error)
    assert store.workspaces() == []


def test_unknown_flags_stay_in_the_prompt(app, store):
    _generate(app(), "a cat --no dogs --seed 7 --c 10")
    task = wait_done(store)[0]
    assert task.prompt == "a cat --no dogs --seed 7"
    assert task.params["chaos"] == 10


def _one_finished_task(app, store):
    _generate(app(), "a red fox")
    return wait_done(store)[0]


def test_vary_page_sends_a_vary_of_the_picked_image(app, store):
    parent = _one_finished_task(app, store)
    at = app(SCRIPT["vary"])
    at.radio(key=f"vary:index:{parent.task_id}").set_value(2)
    at.radio(key="vary:type").set_value(1)
    at.text_area(key="vary:prompt").set_value("in the snow")
    _button(at, "Generate").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    child = next(r for r in wait_done(store) if r.mode == "vary")
    assert child.parent_id == parent.id and child.parent_index == 2
    assert child.params["taskId"] == parent.task_id and child.params["type"] == 1
    assert child.prompt == "in the snow" and len(child.files) == 4


def test_upscale_page_sends_an_upscale(app, store):
    parent = _one_finished_task(app, store)
    at = app(SCRIPT["upscale"])
    at.radio(key="upscale:type").set_value(3)
    _button(at, "Generate").click()
    at.run()
    child = next(r for r in wait_done(store) if r.mode == "upscale")
    assert child.params == {**child.params, "taskId": parent.task_id, "imageIndex": 0, "type": 3}
    assert len(child.files) == 1


def test_vary_by_unknown_task_id_fails_with_the_explanation(app, store):
    at = app(SCRIPT["vary"])
    at.segmented_control(key="vary:how").set_value("Paste a task id")
    at.run()
    at.text_input(key="vary:task-id").set_value("no-such-task")
    at.run()
    _button(at, "Generate").click()
    at.run()
    task = wait_done(store)[0]
    assert task.state == "failed" and task.fail_code == "INVALID_TASK_ID"
    at = app(SCRIPT["vary"])  # the card in the feed explains the failure
    shown = [shown_text(e.value) for e in at.error]
    assert any("INVALID_TASK_ID" in e and "parent task" in e for e in shown), shown


def test_image_to_image_from_an_earlier_result(app, store):
    _one_finished_task(app, store)
    at = app(SCRIPT["image_to_image"])
    at.segmented_control(key="i2i-1:source").set_value("Earlier result")
    at.run()
    at.text_area(key="image-to-image:prompt").set_value("a fox made of paper")
    _button(at, "Generate").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    task = next(r for r in wait_done(store) if r.mode == "image-to-image")
    assert task.state == "success", task.fail_msg
    # sent as a data: URL (the sandbox made the task from it); stored as a reference to the
    # studio's uploads, never as image bytes in the task row
    assert task.params["image_urls"][0].startswith(UPLOAD_REF)
    at = app(SCRIPT["history"])
    probes.click_row(at, probes.block(at, f"card-history-{task.id}"), "rerun")  # the same image
    assert not at.exception and not at.error, [e.value for e in at.error]
    again = [r for r in wait_done(store) if r.mode == "image-to-image"]
    assert [r.state for r in again] == ["success", "success"], again[0].fail_msg


def test_image_to_image_warns_about_edit_instructions(app, store):
    at = app(SCRIPT["image_to_image"])
    at.segmented_control(key="i2i-1:source").set_value("URL")
    at.run()
    at.text_input(key="i2i-1:url").set_value("http://127.0.0.1:9/none.png")
    at.text_area(key="image-to-image:prompt").set_value("change the background to a park")
    _button(at, "Generate").click()
    at.run()
    assert any("edit instruction" in w.value for w in at.warning)


def test_history_lists_searches_and_filters(app, store):
    _generate(app(), "a red fox")
    _generate(app(), "a blue whale")
    wait_done(store)
    at = app(SCRIPT["history"])
    assert any("2 task(s)" in c.value for c in at.caption)
    at.text_input(key="history:q").set_value("WHALE")
    at.run()
    assert any("1 task(s)" in c.value for c in at.caption)
    at.text_input(key="history:q").set_value("")
    at.multiselect(key="history:states").set_value(["failed"])
    at.run()
    assert any("0 task(s)" in c.value for c in at.caption)


def test_settings_shows_the_masked_key_and_takes_a_session_key(app, data_dir):
    at = app(SCRIPT["settings"])
    secret = "sk-settings-page-secret-9876"
    inputs = {t.label: t for t in at.text_input}
    inputs["Provider URL (MJ_BASE_URL)"].set_value("http://127.0.0.1:9")
    inputs["API key"].set_value(secret)
    _button(at, "Use this key").click()
    at.run()
    assert not at.exception
    shown = [e for e in at.main if type(e).__name__ != "TextInput"]  # the typed field itself
    page_text = str([getattr(e, "value", "") for e in shown]) + str(at.table[0].value)
    assert secret not in page_text
    assert "••••••••9876" in str(at.table[0].value.to_dict())
