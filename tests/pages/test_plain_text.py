"""Prompts, provider messages and settings are shown as plain text (issue 8, item 15)."""

from __future__ import annotations

import re

import pytest

from mjstudio.tasks.record import RecordState
from tests.pages.conftest import SCRIPT, add_task, shown_text
from tests.pages.conftest import button as _button

pytestmark = pytest.mark.usefixtures("framed")  # every page inside the frame, as served

HOSTILE = "**bold** :red[x] $x^2$ ![](http://127.0.0.1:9/x.png)"
FAIL_MSG = "**boom** :blue[alarm] ![](http://127.0.0.1:9/y.png)"
MARKERS = ("**bold**", ":red[", "$x^2$", "![](", "**boom**", ":blue[")
LINK = re.compile(r"(https?\\?:|www\\?\.|\w\\?@)")  # what GitHub Markdown turns into a link


def _texts(at) -> list[str]:
    """Every Markdown-rendered value on the page (where formatting would take effect)."""
    kinds = (at.markdown, at.caption, at.error, at.warning, at.info, at.success, at.toast)
    return [e.value for kind in kinds for e in kind]


def _formatted(values: list[str]) -> list[str]:
    """The values that Markdown would format: emphasis, colour, LaTeX, an image, a link."""
    return [v for v in values if any(m in v for m in MARKERS) or LINK.search(v)]


def test_prompts_and_provider_messages_are_plain_text(app, store, workspace):
    parent = add_task(
        store,
        workspace,
        HOSTILE,
        state=RecordState.FAILED,
        task_id="t-hostile",
        fail_code="`BAD_*CODE*`",
        fail_msg=FAIL_MSG,
    )
    add_task(
        store,
        workspace,
        "",
        mode="vary",
        state=RecordState.REJECTED,
        error=FAIL_MSG,
        parent_id=parent.id,
        parent_index=0,
    )
    for page in (None, SCRIPT["history"]):
        at = app(page)
        assert not _formatted(_texts(at)), _texts(at)
        assert HOSTILE in [t.value for t in at.text]  # the prompt, as typed
        assert any(HOSTILE in t.value for t in at.text if t.value != HOSTILE)  # the vary's title
        assert any(FAIL_MSG in shown_text(e.value) for e in at.error)
        assert any("`BAD_*CODE*`" in shown_text(e.value) for e in at.error)
        assert any(HOSTILE in shown_text(c.value) for c in at.caption)  # the lineage


def test_settings_values_are_plain_text(app):
    at = app(SCRIPT["settings"])
    inputs = {t.label: t for t in at.text_input}
    inputs["Provider URL (MJ_BASE_URL)"].set_value(
        "http://127.0.0.1:9/![](http://127.0.0.1:9/u.png)"
    )
    inputs["API key"].set_value("sk-plain-text-1234")
    inputs["provider"].set_value(HOSTILE)
    _button(at, "Use this key").click().run()
    assert not at.exception
    cells = [str(v) for v in at.table[0].value["Value"]]
    assert not _formatted(cells), cells
    assert HOSTILE in [shown_text(c) for c in cells]
    assert not _formatted(_texts(at))  # the sidebar's provider caption
