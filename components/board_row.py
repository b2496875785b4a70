"""Finished tasks as board rows drawn by the browser: one element for a run of rows, not forty
Streamlit elements for each.

A finished task's row shows its four thumbnails with U<n> / V<n> / "⤢" / "⋯" under each, its
state, prompt, parameters and lineage, its actions (star, use these settings, re-run; History's
own) and its download. A run of such rows is one Streamlit custom component
(``st.components.v2``: board_row.js and board_row.css, in Streamlit's theme colours). A page
run sends the rows' data (plain text and links); the browser draws again only the rows whose
data changed. A click comes back as a trigger, ``action``, naming its row, and is done where
the row is drawn, as a button's click would be.

The trigger is the board's click bus (``bus``: one element drawn before the rows in every full
run), not the element that drew the row: by the time a click reaches the server the row may be
drawn by another element (a task above it finished, so the runs of rows were regrouped, or the
live fragment drew it finished and the full run that followed drew it among the others), and a
trigger of an element not drawn again is never read. A click always asks for a full run.

One task per click: every trigger carries the row's click token (components/actions.py). An
action that sends a task (U, V, a menu's upscale or vary, re-run) is done only when the token
is the current one, so the second click of a double click, made on the same drawing, sends
nothing more; the task itself is stored once per token.

Images and downloads are links the data folder signs (mjstudio/server/files.py): the stored
thumbnails as they are (a browser keeps each version), the zip made only when it is followed.
A page run reads no image. An older task without a thumbnail shows a display copy made once
(components/display.py), never its full-size file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st
from streamlit import config, runtime

from components import (
    actions,
    display,
    image_actions,
    per_run,
    results,
    services,
    task_status,
    viewer,
)
from components.row_action import Action
from components.sitemap import MODE_TITLES
from mjstudio.api.contract import UPSCALE_TYPES, VARY_TYPES
from mjstudio.server import files as links
from mjstudio.tasks.record import TaskRecord

if TYPE_CHECKING:
    from mjstudio.tasks.service import Studio

TILE = 124  # CSS px: four tiles and the task's text fit a 1440 px wide screen with the sidebar
NAME = "mjstudio.board_row"
MIMES = {"JPEG": "image/jpeg", "PNG": "image/png"}
_HERE = Path(__file__).parent


_ROW = st.components.v2.component(
    NAME,
    html='<div class="mj-rows"></div>',
    css=(_HERE / "board_row.css").read_text(encoding="utf-8"),
    js=(_HERE / "board_row.js").read_text(encoding="utf-8"),
)


_BUS = st.components.v2.component(
    "mjstudio.row_bus",
    html='<div class="mj-row-bus"></div>',
    js=(_HERE / "row_bus.js").read_text(encoding="utf-8"),
)


def _heard() -> None:
    """The trigger's callback: the click is done where the rows are drawn (see ``draw``)."""


def key(where: str, record: TaskRecord) -> str:
    """A row's card key (card-<where>-<id>, as a running task's row has it): the browser gives
    the row that class, st-key-<card key>, as Streamlit gives a keyed container."""
    return f"card-{where}-{record.id}"


def bus_key(where: str) -> str:
    """The key of a board's click bus (hidden by the board's stylesheet)."""
    return f"rowbus-{where}"


def bus(where: str) -> None:
    """The board's click bus: draw it before the board's rows, in every full run."""
    done = _BUS(key=bus_key(where), data={"where": where}, on_action_change=_heard)
    event = done.get("action")
    per_run.once(bus_key(where), lambda: event if isinstance(event, dict) else None)


def draw(rows: list[tuple[TaskRecord, list[Action]]], *, where: str, name: str) -> None:
    """Finished tasks, each with its actions, as rows of one element (``name``: its key, unique
    on the page); a click on one of them (through the bus, or this element) is done now."""
    sent = [_row(record, where=where, found=found) for record, found in rows]
    payload = json.dumps({"rows": sent, "where": where}).encode()
    done = _ROW(key=name, data=payload, on_action_change=_heard)
    event = done.get("action")
    if not isinstance(event, dict):
        event = per_run.once(bus_key(where), lambda: None)  # None: no bus drawn in this run
    if isinstance(event, dict) and event.get("where", where) == where:
        for record, found in rows:
            if record.id == event.get("row"):
                _do(record, event, where=where, found=found)


def _row(record: TaskRecord, *, where: str, found: list[Action]) -> dict[str, Any]:
    files = results.paths(record.files)
    return {"row": record.id, "card": key(where, record)} | data(
        record, where=where, files=files, found=found
    )


# --------------------------------------------------------------------------- what is sent


def data(
    record: TaskRecord, *, where: str, files: list[Path], found: list[Action]
) -> dict[str, Any]:
    """What the browser draws: plain strings and the images' links (no markup)."""
    missing = results.missing(files)
    if missing:
        found = [*found, _download_again(record)]
    return {
        "nonce": actions.click_nonce(record),
        "tile": TILE,
        "images": _images(record, files, missing, where=where),
        "upscaled": _upscaled(files) if record.mode == "upscale" else None,
        "menu": image_actions.menu_entries(record),
        "upscale": UPSCALE_TYPES[0],
        "vary": VARY_TYPES[0],
        "icon": results.STATE_ICONS[record.state].removeprefix(":material/").rstrip(":"),
        "state": record.state.value,
        "mode": MODE_TITLES.get(record.mode, record.mode),
        "when": results.when(record.created_at),
        "title": results.title(record),
        "details": " · ".join(p for p in (_flags(record), results.lineage_text(record)) if p),
        "warning": _warning(missing),
        "actions": [{"name": a.name, "label": a.label, "help": a.help} for a in found],
        "download": _download(record, files, missing),
    }


def _images(
    record: TaskRecord, files: list[Path], missing: list[int], *, where: str
) -> list[dict[str, Any]]:
    derive = image_actions.can_derive(record)
    count = min(1 if record.mode == "upscale" else len(files), len(files))
    studio, thumbs, row = services.studio(), results.paths(record.thumbs), key(where, record)
    return [
        {
            "n": i + 1,
            "src": None if i + 1 in missing else _src(studio, record, i, files[i], thumbs, row),
            "derive": derive,
        }
        for i in range(count)
    ]


def _src(
    studio: Studio, record: TaskRecord, index: int, file: Path, thumbs: list[Path], row: str
) -> str | None:
    """The stored thumbnail's signed link; a display copy (made once) for an older task with
    no thumbnail (the result file is there: see ``missing``)."""
    if index < len(thumbs):
        try:
            version = str(thumbs[index].stat().st_mtime_ns)
        except OSError:
            version = None
        if version is not None:
            return links.file_url(studio, record.thumbs[index], version)
    return _media_url(file, f"{row}.{index}")


def _media_url(path: Path, coordinates: str) -> str | None:
    """The media URL Streamlit serves a display copy of an image file at; None if unreadable."""
    found = display.shown(path)
    if found is None:
        return None
    blob, fmt = found
    url = runtime.get_instance().media_file_mgr.add(blob, MIMES[fmt], coordinates)
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{url}" if base else url


def _download(record: TaskRecord, paths: list[Path], missing: list[int]) -> dict | None:
    """The row's download: every image as one zip, or an upscale's one file; None: nothing."""
    present = len(paths) - len(missing)
    studio = services.studio()
    if present > 1:
        help_ = "Download the task's images as one zip"
        return {"href": links.zip_url(studio, record.id), "label": "⬇ all", "help": help_}
    if present == 1 and record.mode == "upscale":
        try:
            version = str(paths[0].stat().st_mtime_ns)
        except OSError:
            return None
        href = links.file_url(studio, record.files[0], version, download=True)
        return {"href": href, "label": "⬇ 1", "help": "Download the upscaled image"}
    return None


def _upscaled(files: list[Path]) -> str:
    size = display.pixel_size(files[0]) if files else None
    return f"Upscaled · {size[0]}×{size[1]}" if size else "Upscaled image"


def _flags(record: TaskRecord) -> str:
    return results.flags(record) or "default parameters"


def _warning(missing: list[int]) -> str | None:
    if not missing:
        return None
    return f"Image(s) {', '.join(map(str, missing))} are missing from the data folder."


def _download_again(record: TaskRecord) -> Action:
    return Action(
        "download-again",
        "Download again",
        lambda: task_status.fetch_again(record),
        help="Fetch this task's images from the provider again (no new charge)",
    )


# --------------------------------------------------------------------------- a click


def _do(record: TaskRecord, event: dict, *, where: str, found: list[Action]) -> None:
    """Do what a click on the row asked (a stale click that would send a task is dropped)."""
    current = event.get("nonce") == actions.click_nonce(record)
    name, index = event.get("do"), event.get("index")
    if name in ("U", "V", "open", "menu"):
        if isinstance(index, int) and 0 <= index < len(record.files):
            _on_image(record, name, index, event.get("entry"), where=where, current=current)
        return
    for action in [*found, _download_again(record)]:
        if action.name == name and (current or not action.once):
            action.run()
            return


def _on_image(
    record: TaskRecord, name: str, index: int, entry: Any, *, where: str, current: bool
) -> None:
    if name == "open" or (name == "menu" and entry == image_actions.OPEN):
        viewer.open_at(where, record.id, index)
    elif name == "menu" and entry in (image_actions.PAINT, image_actions.REFERENCE):
        image_actions.run_entry(record, index, entry)  # opens a page: sends nothing
    elif not current:
        return  # a second click on a drawing whose token was used: nothing more is sent
    elif name in ("U", "V") and image_actions.can_derive(record):
        actions.derive(record, "upscale" if name == "U" else "vary", index, 0)
    elif name == "menu" and isinstance(entry, str):
        image_actions.run_entry(record, index, entry)
