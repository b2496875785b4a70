"""components/favourites.py: the star on a task and on an image, and History's filters by
starred tasks and by batch."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components.favourites import STAR, UNSTAR
from mjstudio.tasks.record import RecordState
from tests.pages.conftest import add_task, with_files

pytestmark = pytest.mark.usefixtures("data_dir")

MATRIX = "a {red, blue} bird"


def _stars(record_id: str) -> None:
    """A task's star and its third image's star, as a page draws them."""
    import streamlit as st

    from components import favourites, services

    record = services.studio().store.get(record_id)
    if record is None:
        st.text("the task is gone")
        return
    favourites.star_button(record, where="t")
    favourites.star_button(record, 2, where="t")


def test_the_task_star_and_an_image_star_toggle_in_the_store(store, workspace):
    record = add_task(store, workspace, state=RecordState.SUCCESS, task_id="t-1")
    record = with_files(store, record, 4)
    at = AppTest.from_function(_stars, args=(record.id,), default_timeout=30).run()
    task_star, image_star = (
        at.button(key=f"t:{record.id}:star"),
        at.button(key=f"t:{record.id}:star2"),
    )
    assert (task_star.proto.icon, image_star.proto.icon) == (UNSTAR, UNSTAR)
    assert task_star.help == "Star this task" and image_star.help == "Star image 3"

    task_star.click().run()
    starred = store.get(record.id)
    assert (starred.favourite, starred.favourite_images, starred.is_starred) == (True, [], True)
    assert at.button(key=f"t:{record.id}:star").proto.icon == STAR  # drawn starred at once

    at.button(key=f"t:{record.id}:star2").click().run()
    assert store.get(record.id).favourite_images == [2]
    at.button(key=f"t:{record.id}:star").click().run()
    unstarred = store.get(record.id)
    assert (unstarred.favourite, unstarred.favourite_images) == (False, [2])
    assert at.button(key=f"t:{record.id}:star").help == "Star this task"
    at.button(key=f"t:{record.id}:star2").click().run()
    assert store.get(record.id).is_starred is False


def test_a_star_on_a_task_deleted_meanwhile_does_nothing(store, workspace):
    record = add_task(store, workspace, state=RecordState.SUCCESS, task_id="t-gone")
    at = AppTest.from_function(_stars, args=(record.id,), default_timeout=30).run()
    store.delete(record.id)
    at.button(key=f"t:{record.id}:star").click().run()
    assert not at.exception
    assert [t.value for t in at.text] == ["the task is gone"]


def _filtered() -> None:
    """History's filters over the workspace's tasks: the prompts they let through."""
    import streamlit as st

    from components import favourites, services, session

    session.init()
    chosen = favourites.history_filters()
    st.session_state["chosen"] = chosen
    store, workspace = services.studio().store, services.connection().workspace
    for record in store.list(workspace, limit=None, **chosen):
        st.text(record.prompt)


def test_history_filters_by_starred_tasks_and_by_batch(store, workspace):
    add_task(store, workspace, "a plain fox")
    starred = add_task(store, workspace, "a starred fox")
    store.set_favourite(starred.id)
    image_starred = add_task(store, workspace, "a fox with a starred image")
    store.set_image_favourite(image_starred.id, 1)
    for colour in ("red", "blue"):
        add_task(
            store, workspace, f"a {colour} bird", batch_id="b-1", batch_label="a {red, blue} bird"
        )
    at = AppTest.from_function(_filtered, default_timeout=30).run()
    assert at.session_state["chosen"] == {"favourites": False, "batch": None}
    assert len(at.text) == 5

    at.toggle(key="favourites:only").set_value(True).run()
    assert at.session_state["chosen"] == {"favourites": True, "batch": None}
    assert sorted(t.value for t in at.text) == ["a fox with a starred image", "a starred fox"]

    at.toggle(key="favourites:only").set_value(False).run()
    picker = at.selectbox(key="favourites:batch")
    assert picker.options[0] == "All tasks" and "a {red, blue} bird" in picker.options[1]
    assert "2 tasks" in picker.options[1]
    picker.set_value("b-1").run()
    assert at.session_state["chosen"] == {"favourites": False, "batch": "b-1"}
    assert sorted(t.value for t in at.text) == ["a blue bird", "a red bird"]

    store.delete_batch(workspace, "b-1")  # gone meanwhile: the filter falls back to all tasks
    at.run()
    assert at.session_state["chosen"] == {"favourites": False, "batch": None}
    assert len(at.text) == 3


def test_a_star_given_on_the_history_page_filters_it(app, store, workspace):
    """On History: star one task from its row, turn on "Starred only": only that task is left."""
    plain_task = add_task(store, workspace, "a plain fox", state=RecordState.SUCCESS)
    liked = add_task(store, workspace, "a fox to keep", state=RecordState.SUCCESS)
    at = app("pages/history.py")
    assert {f"card-history-{plain_task.id}", f"card-history-{liked.id}"} <= _cards(at)

    at.button(key=f"history:{liked.id}:star").click().run()
    assert store.get(liked.id).favourite is True
    at.toggle(key="favourites:only").set_value(True).run()
    assert not at.exception
    assert f"card-history-{liked.id}" in _cards(at)
    assert f"card-history-{plain_task.id}" not in _cards(at)


def _cards(at: AppTest) -> set[str]:
    """The keys of the task rows drawn."""
    found = set()
    for node in at.main.children.values() if hasattr(at.main, "children") else []:
        found |= _keys(node)
    return found


def _keys(node) -> set[str]:
    keys = set()
    key = getattr(getattr(node, "proto", None), "id", "") or ""
    if "card-history-" in key:
        keys.add(key[key.index("card-history-") :])
    for child in getattr(node, "children", {}).values():
        keys |= _keys(child)
    return keys
