"""The Sweeps page and components/batch_send.py: a sweep or a prompt matrix sent as one batch
(counted, confirmed past the limit, never sent twice), its labelled board live, its contact
sheet, Delete batch with starred tasks protected."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import streamlit.testing.v1.app_test as app_test_module
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from components import services
from mjstudio.tasks.batches import board_of
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.sheet import PLACEHOLDER_FILL, sheet_layout
from mjstudio.tasks.store import TaskStore
from tests.pages import probes
from tests.pages.conftest import SCRIPT, add_task, button, shown_text, wait_done, with_files

pytestmark = pytest.mark.usefixtures("framed")  # every page inside the frame, as served

MATRIX = "a {red, blue} bird --ar {1:1, 16:9}"
MATRIX_TASKS = [
    ("a red bird", "1:1"),
    ("a red bird", "16:9"),
    ("a blue bird", "1:1"),
    ("a blue bird", "16:9"),
]
SEND = "Send batch"
BATCH_WAIT_S = 90.0  # six sandbox tasks rendered on two cores


# --------------------------------------------------------------------------- helpers


def provider_creates(data_dir: Path) -> list[dict]:
    """Every create request the embedded sandbox received (its ledger, one file per task)."""
    found = sorted((data_dir / "sandbox" / "tasks").glob("*.json"))
    return [json.loads(path.read_text("utf-8"))["request"]["input"] for path in found]


def sweeps(app) -> AppTest:
    return app(SCRIPT["sweeps"])


def typed(at: AppTest, prompt: str) -> AppTest:
    at.text_area(key="sweeps:prompt").set_value(prompt)
    return at.run()


def captions(at: AppTest) -> list[str]:
    return [shown_text(c.value) for c in at.caption]


def bold(at: AppTest) -> list[str]:
    """The labels drawn in bold (the board's row and column labels and its title)."""
    found = [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]
    return [shown_text(value[2:-2]) for value in found]


@contextmanager
def media_managers() -> Iterator[list[MediaFileManager]]:
    """The media file manager of every AppTest run (it holds a run's deferred downloads)."""
    made: list[MediaFileManager] = []

    class Kept(MediaFileManager):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    original = app_test_module.MediaFileManager
    app_test_module.MediaFileManager = Kept
    try:
        yield made
    finally:
        app_test_module.MediaFileManager = original


def download(at: AppTest, managers: list[MediaFileManager], label: str) -> tuple[bytes, str]:
    """Click a deferred download button as the browser does: (bytes, mimetype) it gets."""
    found = next(b for b in at.get("download_button") if b.proto.label == label)
    manager = managers[-1]
    url = manager.execute_deferred(found.proto.deferred_file_id)
    served = manager.read_file(url.rsplit("/", 1)[-1].split(".", 1)[0])
    return bytes(served.content), served.mimetype


def fake_batch(store: TaskStore, workspace: str, running: int = 0) -> list[TaskRecord]:
    """A 2x3 stylize x chaos batch stored as finished (the last ``running`` still processing)."""
    made = []
    for n in range(6):
        row, col = divmod(n, 3)
        cell = {"row": row, "col": col, "row_label": f"stylize {100 + 400 * row}"}
        cell |= {"col_label": f"chaos {50 * col}", "copy": 0, "kind": "sweep"}
        cell |= {"row_axis": "stylize", "col_axis": "chaos"}
        live = n >= 6 - running
        record = add_task(
            store,
            workspace,
            "a lighthouse",
            state=RecordState.PROCESSING if live else RecordState.SUCCESS,
            task_id=f"t-{n}",
            submitted_at=time.time(),
            batch_id="b-fake",
            batch_label="stylize × chaos: a lighthouse",
            cell=cell,
        )
        made.append(record if live else with_files(store, record, 4))
    return made


# --------------------------------------------------------------------------- a sweep


def test_a_two_by_three_sweep_makes_six_tasks_on_a_labelled_board(app, store, workspace, data_dir):
    at = typed(sweeps(app), "a lighthouse at dusk")  # rows stylize 100, 500; columns chaos 0..100
    assert "This makes 6 tasks." in captions(at)
    button(at, SEND).click().run()
    assert not at.exception and not at.error
    done = wait_done(store, timeout=BATCH_WAIT_S)
    batch = store.batch(workspace, done[0].batch_id)
    assert len(done) == 6 and len(batch) == 6
    placed = [(r.cell["row"], r.cell["col"], r.params["stylize"], r.params["chaos"]) for r in batch]
    assert placed == [(0, 0, 100, 0), (0, 1, 100, 50), (0, 2, 100, 100)] + [
        (1, 0, 500, 0),
        (1, 1, 500, 50),
        (1, 2, 500, 100),
    ]
    assert {r.prompt for r in batch} == {"a lighthouse at dusk"}
    assert all(r.state == "success" and len(r.files) == 4 for r in batch)
    assert len(provider_creates(data_dir)) == 6

    with media_managers() as managers:
        at.run()
        png, mime = download(at, managers, "Download contact sheet")
    labels = bold(at)
    for label in ("stylize 100", "stylize 500", "chaos 0", "chaos 50", "chaos 100"):
        assert label in labels, labels
    assert len(probes.image_urls(at.main)) == 24  # every cell: its task's four thumbnails
    board = board_of(batch)
    layout = sheet_layout(board.rows, board.cols, board.common_prompt)
    assert mime == "image/png"
    with Image.open(io.BytesIO(png)) as sheet:
        assert sheet.format == "PNG" and sheet.size == (layout.width, layout.height)
        for line in layout.cell_boxes:  # every cell shows images, no grey placeholder
            for box in line:
                area = (box[2] - box[0]) * (box[3] - box[1])
                colours = {rgb: n for n, rgb in sheet.convert("RGB").crop(box).getcolors(area)}
                assert colours.get(PLACEHOLDER_FILL, 0) < area // 2


def test_a_matrix_from_the_page_is_four_creates_at_the_provider(app, store, data_dir):
    at = typed(sweeps(app), MATRIX)
    assert "This makes 4 tasks." in captions(at)
    assert at.selectbox(key="sweeps:rows:param").disabled  # the prompt's options make the board
    button(at, SEND).click().run()
    wait_done(store, timeout=BATCH_WAIT_S)
    creates = provider_creates(data_dir)
    assert sorted((c["prompt"], c["aspect"]) for c in creates) == sorted(MATRIX_TASKS)
    at.run()
    assert {"red", "blue", "1:1", "16:9"} <= set(bold(at))


def _send_the_matrix_each_run() -> None:
    """A page that plans the matrix anew on every run and sends it with one token (a double
    click: both runs carry the render's token)."""
    from components import batch_send, session
    from mjstudio.tasks.batches import plan_matrix

    session.init()
    plan = plan_matrix("a {red, blue} bird --ar {1:1, 16:9}", base={"version": "v7"})
    batch_send.send_batch(plan, "the-render-token")


def test_a_second_click_with_the_same_token_sends_nothing_more(data_dir, store):
    at = AppTest.from_function(_send_the_matrix_each_run, default_timeout=30)
    at.run()
    at.run()
    assert not at.exception
    done = wait_done(store, timeout=BATCH_WAIT_S)
    assert len(done) == 4 and len({r.batch_id for r in done}) == 1
    creates = provider_creates(data_dir)
    assert sorted((c["prompt"], c["aspect"]) for c in creates) == sorted(MATRIX_TASKS)
    assert {c["version"] for c in creates} == {"v7"}


def test_past_the_limit_the_batch_waits_for_a_confirmation(app, store, monkeypatch):
    monkeypatch.setenv("MJSTUDIO_BATCH_CONFIRM", "4")
    services.settings.clear()
    at = typed(sweeps(app), "a lighthouse")
    assert any("This makes 6 tasks, more than the 4" in shown_text(w.value) for w in at.warning)
    assert button(at, SEND).disabled
    assert store.workspaces() == []
    at.checkbox[-1].check().run()
    assert at.checkbox[-1].label == "Yes, send all 6 tasks"
    assert not button(at, SEND).disabled
    button(at, SEND).click().run()
    assert not at.exception
    stored = [r for ws in store.workspaces() for r in store.list(ws, limit=None)]
    assert len(stored) == 6
    assert not at.checkbox[-1].value  # the next batch asks again


def test_a_prompt_fragment_axis_needs_no_common_prompt(app, store):
    at = sweeps(app)
    assert "Type a prompt to see the tasks it makes." in captions(at)
    at.selectbox(key="sweeps:rows:param").set_value("prompt")
    at.text_input(key="sweeps:rows:values").set_value('a red fox, "a fox, blue"')
    at.selectbox(key="sweeps:cols:param").set_value("(none)").run()
    assert "This makes 2 tasks." in captions(at)
    assert at.text_input(key="sweeps:cols:values").disabled
    assert store.workspaces() == []


def test_a_malformed_prompt_is_explained_plainly_and_nothing_is_sent(app, store):
    at = typed(sweeps(app), "a {red, **blue** bird")
    assert [shown_text(e.value) for e in at.error] == [
        "'{' at character 3 is never closed (add a '}')"
    ]
    assert at.code[0].value == "a {red, **blue** bird\n  ^"
    assert not [b for b in at.button if b.label == SEND]
    assert store.workspaces() == []


# --------------------------------------------------------------------------- the form hook


def _imagine_like_form() -> None:
    """Imagine's form with the hook the lead adds: a matrix goes as a batch, else one task."""
    import streamlit as st

    from components import actions, batch_send, session

    session.init()
    with st.form("form"):
        text = st.text_area("Prompt", key="prompt")
        go = actions.generate_button("form", icon=":material/auto_awesome:")
    fields = {"aspect": "1:1", "stylize": 250, "version": "v7"}  # the form's own fields
    if go.clicked and not batch_send.send_matrix_from_form(go, "text-to-image", text, fields):
        st.text("a plain prompt: sent as one task")


def test_the_form_hook_sends_a_matrix_once_and_asks_past_the_limit(data_dir, store, monkeypatch):
    at = AppTest.from_function(_imagine_like_form, default_timeout=30)
    at.run()
    at.text_area(key="prompt").set_value("a plain bird")
    button(at, "Generate").click().run()
    assert [t.value for t in at.text] == ["a plain prompt: sent as one task"]
    monkeypatch.setenv("MJSTUDIO_BATCH_CONFIRM", "3")
    services.settings.clear()
    at.text_area(key="prompt").set_value(MATRIX)
    button(at, "Generate").click().run()
    assert any("makes 4 tasks, more than the 3" in w.value for w in at.warning)
    assert store.workspaces() == []
    button(at, "Send all 4 tasks").click().run()
    assert not at.exception and not at.text
    done = wait_done(store, timeout=BATCH_WAIT_S)
    assert sorted((r.prompt, r.params["aspect"]) for r in done) == sorted(MATRIX_TASKS)
    assert {(r.params["stylize"], r.params["version"]) for r in done} == {(250, "v7")}


# --------------------------------------------------------------------------- the board


def test_the_board_refreshes_only_while_a_cell_runs(app, store, workspace):
    made = fake_batch(store, workspace, running=1)
    at = sweeps(app)  # (the start page's feed has its own timer)
    with probes.fragments() as seen:
        at.run()
        assert [round(interval, 3) for _, interval in seen.timers] == [0.5]
        assert len(probes.image_urls(at.main)) == 20  # five finished cells
        fragment = seen.timers[0][0]
        probes.tick(at, fragment)
        assert not at.get("image")  # the timer redraws the running cell only
        assert any(p.proto.text.startswith("Processing") for p in at.get("progress"))
        with_files(store, store.update(made[-1].id, state=RecordState.SUCCESS), 4)
        seen.timers.clear()
        probes.tick(at, fragment)  # notices the change and asks for one full run
    assert seen.timers == []  # everything finished: no timer left
    assert len(probes.image_urls(at.main)) == 24


def test_stars_on_the_board_and_delete_keeps_starred_tasks(app, store, workspace):
    made = fake_batch(store, workspace)
    at = sweeps(app)
    at.button(key=f"sweeps:{made[0].id}:star0").click().run()
    assert store.get(made[0].id).favourite_images == [0]
    at.button(key=f"sweeps:{made[1].id}:star").click().run()
    assert store.get(made[1].id).favourite is True
    button(at, "Delete").click().run()
    assert "Deleted 4 tasks; kept 2 starred." in [shown_text(s.value) for s in at.success]
    assert {r.id for r in store.batch(workspace, "b-fake")} == {made[0].id, made[1].id}
    at.checkbox(key="sweeps:delete-starred:b-fake").check().run()
    button(at, "Delete").click().run()
    assert "Deleted 2 tasks." in [shown_text(s.value) for s in at.success]
    assert store.batch(workspace, "b-fake") == []
    assert "Send a sweep or a prompt matrix: its board appears here, live." in captions(at)


def test_labels_and_titles_from_prompts_are_plain_text(app, store, workspace):
    hostile = "**bold** :red[x] $x^2$ ![](http://127.0.0.1:9/x.png)"
    add_task(
        store,
        workspace,
        "a bird",
        batch_id="b-hostile",
        batch_label=hostile,
        cell={"row": 0, "col": 0, "row_label": hostile, "col_label": hostile, "copy": 0},
    )
    at = sweeps(app)
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert not [v for v in shown if "**bold**" in v or ":red[" in v or "![](" in v]
    assert bold(at).count(hostile) == 3  # the title, the row label and the column label
    assert hostile in at.selectbox(key="sweeps:pick").options[0]  # options are plain text
