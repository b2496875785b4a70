"""One submission makes one task, however often it is clicked (issue 8, item 8).

A double click sends the same widget states twice: the second click is on the render the
first one was made on. ``button.click().run()`` on an element of an earlier render does that.
"""

from __future__ import annotations

import pytest
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from components import session
from mjstudio.tasks.service import Studio
from tests.pages import probes
from tests.pages.conftest import button as _button
from tests.pages.conftest import wait_done

pytestmark = pytest.mark.usefixtures("framed")  # every page inside the frame, as served


def test_a_double_click_on_generate_sends_one_task(app, store):
    at = app()
    at.text_area(key="text-to-image:prompt").set_value("a red fox")
    generate = _button(at, "Generate")
    generate.click().run()
    generate.click().run()  # the double click's second click: the same render, the same token
    assert not at.exception
    assert len(wait_done(store)) == 1
    _button(at, "Generate").click().run()  # a deliberate second Generate, on the new render
    assert len(wait_done(store)) == 2


def test_a_click_before_the_token_is_renewed_is_stored_once(app, store, monkeypatch):
    """A run cut short before it renewed the token: the next click carries the same token."""
    monkeypatch.setattr(session, "renew_nonce", lambda scope: None)
    at = app()
    at.text_area(key="text-to-image:prompt").set_value("a red fox")
    generate = _button(at, "Generate")
    generate.click().run()
    generate.click().run()  # its button is drawn again: only Studio.submit can tell
    assert not at.exception
    assert len(wait_done(store)) == 1


def _submit_buttons_drawn_so_far() -> list[tuple[str, bool]]:
    """(label, disabled) of the form submit buttons this script run has sent so far."""
    runner = get_script_run_ctx()._enqueue.__self__  # AppTest's LocalScriptRunner
    found = []
    for msg in runner.forward_msg_queue._queue:
        element = msg.delta.new_element if msg.HasField("delta") else None
        is_button = element is not None and element.WhichOneof("type") == "button"
        if is_button and element.button.is_form_submitter:
            found.append((element.button.label, element.button.disabled))
    return found


def test_generate_says_sending_while_the_task_is_stored(app, store, monkeypatch):
    seen = []
    submit = Studio.submit

    def watched(self, *args, **kwargs):
        seen.append(_submit_buttons_drawn_so_far())
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(Studio, "submit", watched)
    at = app()
    at.text_area(key="text-to-image:prompt").set_value("a red fox")
    _button(at, "Generate").click().run()
    assert seen and seen[0][-1] == ("Sending…", True), seen
    assert _button(at, "Generate").disabled is False  # then a fresh form


def test_a_double_click_on_v2_sends_one_variation(app, store):
    at = app()
    at.text_area(key="text-to-image:prompt").set_value("a red fox")
    _button(at, "Generate").click().run()
    parent = wait_done(store)[0]
    at = app()  # the finished task in the feed, with its U/V buttons
    row = probes.block(at, f"card-text-to-image-{parent.id}")
    probes.click_row(at, row, "V", 1)
    probes.click_row(at, row, "V", 1)  # the second click, on the same drawing of the row
    assert not at.exception
    wait_done(store)
    assert [(k.mode, k.parent_index) for k in store.children(parent.id)] == [("vary", 1)]
