"""Looking inside an AppTest run: media files, fragment timers and reruns, SQL, encodes.

Shared by the page-cost tests and bench/bench_pages.py. Each probe is a context manager that
patches one Streamlit (or sqlite3, or Pillow) entry point for its duration.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import streamlit.testing.v1.app_test as app_test_module
import streamlit.testing.v1.local_script_runner as runner_module
from PIL import Image
from starlette.applications import Starlette
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext, ThreadState
from streamlit.testing.v1 import AppTest

from mjstudio.server.files import file_routes
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore

ROOT = Path(__file__).resolve().parents[2]
PAGE_CODE = (ROOT / "components", ROOT / "pages", ROOT / "frame.py")


# --------------------------------------------------------------------------- the element tree


def walk(node) -> Iterator:
    """Every node under an AppTest node, depth first."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def block(at: AppTest, key: str):
    """The container with this key (a card is ``card-<where>-<record id>``); a finished task's
    board row has no container of its own (the browser draws it): then its ``Row``."""
    found = next((n for n in walk(at.main) if getattr(n, "key", None) == key), None)
    if found is not None:
        return found
    for element in (n for n in walk(at.main) if _is_rows(n)):
        for sent in _sent(element):
            if sent["card"] == key:
                return Row(element, sent["row"])
    raise LookupError(f"nothing on the page has the key {key!r}")


def image_urls(node) -> list[str]:
    """The URLs of every image shown under a node, in page order (board rows' included)."""
    if isinstance(node, Row):
        return [image["src"] for image in node.data["images"] if image["src"]]
    found = []
    for n in [node, *walk(node)]:
        if getattr(n, "type", "") == "image":
            found += n.value
        elif _is_rows(n):
            found += [url for sent in _sent(n) for url in image_urls(Row(n, sent["row"]))]
    return found


# --------------------------------------------------------------------------- board rows

ROWS_COMPONENT = "mjstudio.board_row"  # components/board_row.py
BUS_COMPONENT = "mjstudio.row_bus"  # its click bus


@dataclass(frozen=True)
class Row:
    """One finished task's board row: the element that draws it (with its neighbours) and the
    task's id. An older run's Row keeps what that run sent (a click on it is a click on it)."""

    element: Any
    id: str

    @property
    def data(self) -> dict:
        """What the row was sent to draw (components/board_row.py ``data``)."""
        return next(sent for sent in _sent(self.element) if sent["row"] == self.id)


def _is_rows(node) -> bool:
    proto = getattr(node, "proto", None)
    return getattr(node, "type", "") == "bidi_component" and (
        proto.component_name == ROWS_COMPONENT
    )


def _sent(element) -> list[dict]:
    return json.loads(element.proto.bytes)["rows"]


def row(node) -> Row:
    """The board row a node is, or the first one drawn under it."""
    if isinstance(node, Row):
        return node
    element = next(n for n in [node, *walk(node)] if _is_rows(n))
    return Row(element, _sent(element)[0]["row"])


def row_data(node) -> dict:
    """What a board row was sent to draw (components/board_row.py ``data``)."""
    return row(node).data


def row_labels(node) -> list[str]:
    """The buttons the browser draws for a row (board_row.js), in its order: under each image
    U<n> and V<n> (a grid) then "⤢" and "⋯" (when the image is there); then the row's actions."""
    sent = row_data(node)
    labels = []
    for image in sent["images"]:
        n = image["n"]
        labels += [f"U{n}", f"V{n}"] if image["derive"] else []
        labels += ["⤢", "⋯"] if image["src"] else []
    return labels + [action["label"] for action in sent["actions"]]


def click_row(at: AppTest, node, do: str, index: int | None = None, **extra) -> AppTest:
    """A click on a board row, as board_row.js sends it: the trigger of the board's click bus
    on the page now (else, with no bus, of the element that drew the row) naming the row, with
    its click token as drawn then (``nonce=`` sends another), and the run that follows."""
    found = row(node)
    where = json.loads(found.element.proto.bytes)["where"]
    value = {"do": do, "row": found.id, "nonce": found.data["nonce"], "where": where}
    value |= ({} if index is None else {"index": index}) | extra
    states = at._tree.get_widget_states()
    target = bus(at, where) or found.element
    trigger = WidgetState(id=_make_trigger_id(target.proto.id, "events"))
    trigger.json_trigger_value = json.dumps([{"event": "action", "value": value}])
    states.widgets.append(trigger)
    return at._run(states)


def bus(at: AppTest, where: str):
    """The board's click bus drawn on the page now (components/board_row.py ``bus``), or None."""
    name = f"rowbus-{where}"
    return next(
        (n for n in walk(at._tree) if getattr(n, "type", "") == "bidi_component"
         and getattr(n.proto, "component_name", "") == BUS_COMPONENT and n.proto.id.endswith(name)),
        None,
    )  # fmt: skip


def count_elements(at: AppTest) -> int:
    """How many elements and blocks the last run (or fragment run) sent."""
    return sum(1 for _ in walk(at.main)) + sum(1 for _ in walk(at.sidebar))


# --------------------------------------------------------------------------- media files


@dataclass
class Media:
    """The media file storages AppTest runs made; the last one holds the last run's files."""

    storages: list[MemoryMediaFileStorage] = field(default_factory=list)

    def content(self, url: str) -> tuple[bytes, str]:
        """(bytes, mimetype) the browser gets at an image URL of the last run: a media file
        Streamlit serves, or a signed link the studio's file route serves (asked through it)."""
        if url.startswith("/api/mjstudio/"):
            return served(url)
        file_id = url.rsplit("/", 1)[-1].split(".", 1)[0]
        found = self.storages[-1].get_file(file_id)
        return bytes(found.content), found.mimetype


def served(url: str) -> tuple[bytes, str]:
    """(bytes, mimetype) the studio's routes answer a link with (this process's Studio)."""
    from components import services

    async def get() -> httpx.Response:
        app = Starlette(routes=file_routes(services.studio))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
            return await client.get(url)

    answer = asyncio.run(get())
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.content, answer.headers["content-type"]


@contextmanager
def media() -> Iterator[Media]:
    """Keep hold of the media file storage each AppTest run makes."""
    seen = Media()

    class Kept(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            seen.storages.append(self)

    original = app_test_module.MemoryMediaFileStorage
    app_test_module.MemoryMediaFileStorage = Kept
    try:
        yield seen
    finally:
        app_test_module.MemoryMediaFileStorage = original


# --------------------------------------------------------------------------- fragments


@dataclass
class Fragments:
    """Fragment timers the runs asked for, and the fragment each drawn card was drawn in."""

    timers: list[tuple[str, float]] = field(default_factory=list)  # (fragment id, seconds)
    cards: list[tuple[str, str | None]] = field(default_factory=list)  # (record id, fragment)


@contextmanager
def fragments() -> Iterator[Fragments]:
    """Record every ``run_every`` timer sent and the fragment each task card is drawn in (a
    large card, a Streamlit-drawn row or a browser-drawn row: each task once per drawing)."""
    from components import board, board_row, task_card

    seen = Fragments()
    enqueue, drawing = ScriptRunContext.enqueue, threading.local()
    patched = {
        (task_card, "render"): lambda record, **kw: [record],
        (board, "row"): lambda record, **kw: [record],
        (board_row, "draw"): lambda rows, **kw: [record for record, _ in rows],
    }
    originals = {place: getattr(*place) for place in patched}

    def watched(place, drawn):
        def draw(*args, **kwargs):
            if getattr(drawing, "on", False):  # drawn by a watched caller: seen already
                return originals[place](*args, **kwargs)
            for record in drawn(*args, **kwargs):
                seen.cards.append((record.id, ThreadState.get().fragment_id))
            drawing.on = True
            try:
                return originals[place](*args, **kwargs)
            finally:
                drawing.on = False

        return draw

    def watched_enqueue(self, msg) -> None:
        if msg.HasField("auto_rerun"):
            seen.timers.append((msg.auto_rerun.fragment_id, msg.auto_rerun.interval))
        enqueue(self, msg)

    ScriptRunContext.enqueue = watched_enqueue
    for place, drawn in patched.items():
        setattr(*place, watched(place, drawn))
    try:
        yield seen
    finally:
        ScriptRunContext.enqueue = enqueue
        for place, original in originals.items():
            setattr(*place, original)


def tick(at: AppTest, fragment_id: str) -> AppTest:
    """Run one fragment rerun, as the browser's timer asks for it (the tree holds its output)."""
    original = runner_module.RerunData
    runner_module.RerunData = functools.partial(
        original, fragment_id_queue=[fragment_id], is_auto_rerun=True
    )
    try:
        return at.run()
    finally:
        runner_module.RerunData = original


# --------------------------------------------------------------------------- SQL and encodes


@contextmanager
def page_statements() -> Iterator[list[str]]:
    """The SQL statements page code (components/, pages/, frame.py) issues meanwhile."""
    issued: list[str] = []
    connect = sqlite3.connect

    def from_page_code() -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if any(name.startswith(str(p)) for p in PAGE_CODE):
                return True
            frame = frame.f_back
        return False

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(lambda sql: issued.append(sql) if from_page_code() else None)
        return conn

    sqlite3.connect = traced
    try:
        yield issued
    finally:
        sqlite3.connect = connect


def steps(database: Path, sql: str) -> int:
    """SQLite virtual machine steps a statement takes (about; rows touched drive it)."""
    conn = sqlite3.connect(database)
    conn.create_function("casefold", 1, lambda t: str(t).casefold() if t else "")
    taken = [0]

    def count() -> int:
        taken[0] += 100
        return 0

    conn.set_progress_handler(count, 100)
    try:
        conn.execute(sql).fetchall()
    finally:
        conn.close()
    return taken[0]


@contextmanager
def encodes() -> Iterator[list[str]]:
    """The image formats Pillow encodes in the calling process meanwhile (any thread)."""
    done: list[str] = []
    save = Image.Image.save
    lock = threading.Lock()

    def watched(self, fp, format=None, **params):  # noqa: A002 - Pillow's own name
        with lock:
            done.append(str(format or getattr(fp, "name", "?")))
        return save(self, fp, format, **params)

    Image.Image.save = watched
    try:
        yield done
    finally:
        Image.Image.save = save


# --------------------------------------------------------------------------- a long history


def fill_fast(store: TaskStore, workspace: str, count: int, stock: list[tuple[str, str]]) -> None:
    """``count`` finished text-to-image tasks, every one showing the same stored images
    (``stock``: (file, thumbnail) paths relative to the data folder), in one transaction."""
    start = time.time() - count * 30.0
    batch = [
        TaskRecord.new(
            workspace,
            {"input": {"mode": "text-to-image", "prompt": f"a fox number {n}", "speed": "fast"}},
            task_id=f"history-{n:06d}",
            state=RecordState.SUCCESS,
            created_at=start + n * 30.0,
            finished_at=start + n * 30.0 + 40.0,
            files=[f for f, _ in stock],
            thumbs=[t for _, t in stock],
            result_urls=[f"https://results.invalid/{n}/{i}.png" for i in range(len(stock))],
            downloaded=True,
        )
        for n in range(count)
    ]
    store.add_many(batch)
