"""The dense board, the actions on each image and the image viewer (issue 10), under AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import image_actions, session
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore
from tests.pages import probes
from tests.pages.conftest import SCRIPT, add_task, with_files
from tests.pages.conftest import button as _button

pytestmark = pytest.mark.usefixtures("framed")  # every page inside the frame, as served
FEED = "text-to-image"
HOSTILE = "**bold** :red[x] $x^2$ ![](http://127.0.0.1:9/x.png)"


def finished(store: TaskStore, workspace: str, prompt: str, n: int = 0, **fields) -> TaskRecord:
    """A finished grid with four (tiny) result files and thumbnails."""
    fields.setdefault("task_id", f"t-{prompt}-{n}")
    record = add_task(store, workspace, prompt, state=RecordState.SUCCESS, **fields)
    return with_files(store, record, 4)


def grids(store: TaskStore, workspace: str, count: int) -> list[TaskRecord]:
    """``count`` finished grids, newest last (the feed shows the newest first)."""
    return [finished(store, workspace, f"fox {n}", n, created_at=1_000 + n) for n in range(count)]


def labels(node) -> list[str]:
    """The labels of the buttons under a node, in page order."""
    return [n.label for n in probes.walk(node) if getattr(n, "type", "") == "button"]


def viewer_caption(at: AppTest) -> str:
    """The viewer's position line ("Image 2 of 4 · task 1 of 3 on this board")."""
    return next(c.value for c in at.caption if c.value.startswith("Image ") and " of " in c.value)


def card(at: AppTest, record: TaskRecord, where: str = FEED):
    """A task's card on the board (its row's container)."""
    return probes.block(at, f"card-{where}-{record.id}")


def open_image(at: AppTest, record: TaskRecord, index: int, where: str = FEED) -> AppTest:
    """Click the "⤢" under one thumbnail."""
    return probes.click_row(at, card(at, record, where), "open", index)


def children(store: TaskStore, parent: TaskRecord) -> list[tuple[str, int | None, int]]:
    """(mode, parent_index, type) of every task made from ``parent``."""
    return [(k.mode, k.parent_index, k.params.get("type")) for k in store.children(parent.id)]


# --------------------------------------------------------------------------- the board


def test_a_finished_task_is_one_row_with_controls_under_each_image(app, store, workspace):
    record = finished(store, workspace, "a red fox")
    at = app()
    row = card(at, record)
    assert len(probes.image_urls(row)) == 4
    shown = probes.row_labels(row)
    for n in range(1, 5):  # the Discord-style labels, one pair under each image
        assert shown.count(f"U{n}") == 1 and shown.count(f"V{n}") == 1
    assert shown.count("⤢") == 4 and shown.count("⋯") == 4
    assert shown[-3:] == ["☆", "Use these settings", "Re-run"]
    sent = probes.row_data(row)
    assert sent["menu"] == image_actions.menu_entries(record)
    assert (sent["title"], sent["state"], sent["mode"]) == ("a red fox", "success", "Imagine")
    assert (
        sent["details"].startswith("default parameters")
        and "task id t-a red fox" in sent["details"]
    )
    assert sent["download"]["label"] == "⬇ all"  # a link: the zip is made when followed
    assert sent["download"]["href"].startswith(f"/api/mjstudio/zip/{record.id}?sig=")
    assert probes.count_elements(at) < 40  # the whole page: the row is one element
    assert not [s for s in at.selectbox if s.label == "Upscale type"]  # the large card's


def test_settings_switches_to_large_cards_for_the_session(app, store, workspace):
    record = finished(store, workspace, "a red fox")
    at = app(SCRIPT["settings"])
    at.toggle(key=session.LARGE_CARDS_WIDGET).set_value(True).run()
    at.switch_page(SCRIPT["imagine"]).run()
    card = probes.block(at, f"card-{FEED}-{record.id}")
    assert "Upscale type" in [s.label for s in card.selectbox]
    assert labels(card).count("U2") == 1
    at.switch_page(SCRIPT["settings"]).run()
    assert at.toggle(key=session.LARGE_CARDS_WIDGET).value is True  # kept across pages
    at.toggle(key=session.LARGE_CARDS_WIDGET).set_value(False).run()
    at.switch_page(SCRIPT["imagine"]).run()
    assert not [s for s in at.selectbox if s.label == "Upscale type"]


def test_u_and_v_under_an_image_make_one_task_each_linked_to_it(app, store, workspace):
    parent = finished(store, workspace, "a red fox")
    at = app()
    drawn = probes.row_data(card(at, parent))["nonce"]
    at = probes.click_row(at, card(at, parent), "U", 2)
    probes.click_row(at, card(at, parent), "U", 2, nonce=drawn)  # a double click's second
    probes.click_row(at, card(at, parent), "V", 1)
    assert not at.exception
    assert sorted(children(store, parent)) == [("upscale", 2, 0), ("vary", 1, 0)]


def test_a_click_on_an_image_the_task_lacks_does_nothing(app, store, workspace):
    parent = finished(store, workspace, "a red fox")
    at = app()
    for index in (4, -1, "1", None):
        at = probes.click_row(at, card(at, parent), "U", index)
    probes.click_row(at, card(at, parent), "menu", 0, entry="Upscale · Nonsense")
    assert not at.exception and children(store, parent) == []


def test_the_menu_sends_every_type_and_opens_the_viewer(app, store, workspace):
    parent = finished(store, workspace, "a red fox")
    at = app()
    at = probes.click_row(at, card(at, parent), "menu", 1, entry=image_actions.upscale_label(1))
    at = probes.click_row(at, card(at, parent), "menu", 3, entry=image_actions.vary_label(1))
    assert not at.exception
    assert sorted(children(store, parent)) == [("upscale", 1, 1), ("vary", 3, 1)]
    at = probes.click_row(at, card(at, parent), "menu", 0, entry=image_actions.OPEN)
    assert viewer_caption(at).startswith("Image 1 of 4")


def test_the_rows_star_and_re_run(app, store, workspace):
    parent = finished(store, workspace, "a red fox")
    at = app()
    at = probes.click_row(at, card(at, parent), "star")
    assert store.get(parent.id).favourite
    assert probes.row_labels(card(at, parent))[-3] == "★"
    drawn = probes.row_data(card(at, parent))["nonce"]
    at = probes.click_row(at, card(at, parent), "rerun")
    probes.click_row(at, card(at, parent), "rerun", nonce=drawn)  # a double click: one task
    made = [r for r in store.list(workspace, limit=10) if r.id != parent.id]
    assert len(made) == 1 and made[0].prompt == "a red fox"


def test_a_click_is_done_when_its_row_moved_to_another_element_meanwhile(app, store, workspace):
    """The feed: [A] [X running] [B] is two elements of rows around X's slot. X finishes while
    a click on B's star is on its way: the run that takes the click draws A, X and B as one
    element. The click, sent through the board's bus, is still done once."""
    older = finished(store, workspace, "b fox", 0, created_at=1_000)
    running = add_task(
        store, workspace, "x fox", state=RecordState.PROCESSING, task_id="t-x", created_at=1_001
    )
    finished(store, workspace, "a fox", 2, created_at=1_002)
    at = app()
    drawn = card(at, older)  # the row as the click saw it: in the element below X's slot
    assert probes.row(drawn).element.proto.id.endswith(f"rows-{FEED}-1")
    with_files(store, store.update(running.id, state=RecordState.SUCCESS), 4)  # X finishes
    at = probes.click_row(at, drawn, "star")
    assert store.get(older.id).favourite
    assert probes.row(card(at, older)).element.proto.id.endswith(f"rows-{FEED}-0")
    assert probes.row_labels(card(at, older))[-3] == "★"


# --------------------------------------------------------------------------- the viewer


def test_the_viewer_steps_through_the_grid_and_on_through_the_board(app, store, workspace):
    older, newer = grids(store, workspace, 2)  # the feed: newer first
    at = open_image(app(), newer, 2)
    assert viewer_caption(at) == "Image 3 of 4 · task 1 of 2 on this board"
    assert "fox 1" in [c.value for c in at.code]  # the prompt, with a copy button
    at.button(key="viewer:next").click().run()
    assert viewer_caption(at) == "Image 4 of 4 · task 1 of 2 on this board"
    at.button(key="viewer:next").click().run()  # on to the next task on the board
    assert viewer_caption(at) == "Image 1 of 4 · task 2 of 2 on this board"
    assert "fox 0" in [c.value for c in at.code]
    at.button(key="viewer:prev").click().run()
    assert viewer_caption(at) == "Image 4 of 4 · task 1 of 2 on this board"
    assert at.button(key="viewer:next").proto.shortcut  # → and ← keys press them
    assert at.button(key="viewer:prev").proto.shortcut


def test_the_viewer_ends_at_the_boards_ends(app, store, workspace):
    (only,) = grids(store, workspace, 1)
    at = open_image(app(), only, 0)
    assert at.button(key="viewer:prev").disabled
    at = open_image(at, only, 3)
    assert at.button(key="viewer:next").disabled


def test_vary_strong_with_a_remix_prompt_and_upscales_from_the_viewer(app, store, workspace):
    parent = finished(store, workspace, "a red fox")
    at = open_image(app(), parent, 1)
    at.text_input(key="viewer:remix").set_value("in the snow")
    strong = _button(at, "Vary (strong)")
    strong.click().run()
    strong.click().run()  # a double click makes one task
    assert any("Sent: Vary (strong) of image 2" in s.value for s in at.success)
    _button(at, "4x HD").click().run()
    _button(at, "Creative HD").click().run()
    assert not at.exception
    assert sorted(children(store, parent)) == [
        ("upscale", 1, 1),
        ("upscale", 1, 3),
        ("vary", 1, 1),
    ]
    vary = next(k for k in store.children(parent.id) if k.mode == "vary")
    assert vary.prompt == "in the snow" and vary.params["taskId"] == parent.task_id
    assert viewer_caption(at).startswith("Image 2 of 4")  # the viewer stays open


def test_the_viewer_closes_when_dismissed_and_on_another_page(app, store, workspace):
    record = finished(store, workspace, "a red fox")
    at = open_image(app(), record, 0)
    assert at.session_state["viewer:at"] == (FEED, record.id, 0)
    at.switch_page(SCRIPT["history"]).run()
    assert "viewer:at" not in at.session_state
    assert not [b for b in at.button if b.key == "viewer:next"]


def test_paint_this_opens_paint_with_the_image_as_source(app, store, workspace):
    record = finished(store, workspace, "a red fox")
    at = open_image(app(), record, 2)
    _button(at, image_actions.PAINT).click().run()
    assert not at.exception
    assert [t.value for t in at.title][:1] == ["Paint"]
    assert at.segmented_control(key="paint:source").value == "Earlier result"
    assert at.selectbox(key="paint:result").value.id == record.id
    assert at.radio(key="paint:result-img").value == 2
    assert at.session_state["paint:picked"].label == f"{record.id[:8]}-3"
    assert "viewer:at" not in at.session_state


def test_use_as_reference_opens_image_to_image_with_it_even_when_older(app, store, workspace):
    old = finished(store, workspace, "an old owl", created_at=10.0)
    probes.fill_fast(store, workspace, 25, list(zip(old.files, old.thumbs, strict=True)))
    at = app(SCRIPT["history"])
    at.number_input(key="history:page").set_value(3).run()  # the oldest task is on page 3
    at = open_image(at, old, 1, where="history")
    _button(at, image_actions.REFERENCE).click().run()
    assert not at.exception
    assert [t.value for t in at.title][:1] == ["Image to image"]
    assert at.segmented_control(key="i2i-1:source").value == "Earlier result"
    assert at.selectbox(key="i2i-1:result").value.id == old.id
    assert at.radio(key="i2i-1:result-img").value == 1


def test_history_rows_carry_historys_actions(app, store, workspace):
    record = finished(store, workspace, "a red fox")
    at = app(SCRIPT["history"])
    row = card(at, record, "history")
    shown = probes.row_labels(row)
    assert {"Open", "Use these settings", "Re-run", "Delete", "U1", "⤢"} <= set(shown)
    at = open_image(at, record, 0, where="history")
    assert viewer_caption(at) == "Image 1 of 4 · task 1 of 1 on this board"


def test_a_running_task_shows_its_progress_in_its_row(app, store, workspace):
    record = add_task(
        store, workspace, "a fox on its way", state=RecordState.PROCESSING, task_id="t"
    )
    at = app()
    row = probes.block(at, f"card-{FEED}-{record.id}")
    bars = [n for n in probes.walk(row) if getattr(n, "type", "") == "progress"]
    assert len(bars) == 1 and bars[0].proto.text.startswith("Processing")
    assert "a fox on its way" in [t.value for t in row.text]
    assert probes.image_urls(row) == [] and "U1" not in labels(row)


def test_the_viewer_shows_a_prompt_as_plain_text(app, store, workspace):
    record = finished(store, workspace, HOSTILE)
    at = open_image(app(), record, 0)
    texts = [e.value for kind in (at.markdown, at.caption, at.success) for e in kind]
    assert not [v for v in texts if any(m in v for m in ("**bold**", ":red[", "$x^2$", "![]("))]
    assert [c.value for c in at.code] == [HOSTILE]  # a code block: never Markdown
