"""Sweeps in a real browser: a 2x3 stylize x chaos sweep fills its labelled board and exports
its contact sheet; a prompt matrix double-clicked makes exactly four creates at the provider;
a star on a board image reaches the store.

With DOCS_SCREENSHOTS=1 the sweep test also writes docs/sweep.png (1440x900).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PIL import Image
from playwright.sync_api import Locator, Page, expect

from mjstudio.tasks.batches import board_of
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.sheet import CELL_SIZE, sheet_layout
from mjstudio.tasks.store import TaskStore
from tests.e2e.conftest import ROOT, Studio
from tests.waiting import wait_for

SCREEN = {"width": 1440, "height": 900}
BATCH_TIMEOUT_S = 120.0  # six sandbox tasks rendered on two cores
POLL_S = 0.25
THUMBS = '[class*="st-key-sweepthumb-"] img'
LOADED = "els => els.filter(e => e.complete && e.naturalWidth > 0).length"
MATRIX = "a {red, blue} bird --ar {1:1, 16:9}"


def stored(data_dir: Path) -> list[TaskRecord]:
    """Every task the studio stored, in board order when they form one batch."""
    store = TaskStore.open(data_dir)
    found = [r for ws in store.workspaces() for r in store.list(ws, limit=None)]
    return sorted(found, key=lambda r: ((r.cell or {}).get("row", 0), (r.cell or {}).get("col", 0)))


def all_done(data_dir: Path, count: int) -> list[TaskRecord] | None:
    """The stored tasks once there are ``count`` of them, all finished and downloaded."""
    found = stored(data_dir)
    finished = all(r.is_final and (r.downloaded or not r.is_succeeded) for r in found)
    return found if len(found) == count and finished else None


def provider_creates(data_dir: Path) -> list[dict]:
    """The inputs of every create the embedded sandbox received."""
    files = sorted((data_dir / "sandbox" / "tasks").glob("*.json"))
    return [json.loads(path.read_text("utf-8"))["request"]["input"] for path in files]


def open_sweeps(page: Page, studio: Studio) -> None:
    page.set_viewport_size(SCREEN)
    page.goto(studio.url + "/sweeps")
    expect(page.get_by_role("heading", name="Sweeps")).to_be_visible(timeout=30_000)


def type_into(box: Locator, text: str, key: str) -> None:
    """Type into a text field and apply it (Enter for an input, Ctrl+Enter for a text area)."""
    box.fill(text)
    box.press(key)
    expect(box).to_have_value(text)


def wait_loaded(images: Locator, count: int) -> None:
    wait_for(
        lambda: images.count() == count and images.evaluate_all(LOADED) == count,
        timeout=BATCH_TIMEOUT_S,
        interval=POLL_S,
        message=lambda: f"{images.count()} board image(s), not {count} loaded ones",
    )


def test_a_sweep_fills_its_board_and_exports_the_contact_sheet(
    start_studio, page: Page, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    studio = start_studio(data, {"MJSTUDIO_SANDBOX_LATENCY": "1"})
    open_sweeps(page, studio)
    type_into(page.get_by_role("textbox", name="Prompt"), "a lighthouse at dusk", "Control+Enter")
    type_into(page.get_by_role("textbox", name="Row values"), "250, 750", "Enter")
    type_into(page.get_by_role("textbox", name="Column values"), "0, 40, 80", "Enter")
    expect(page.get_by_text("This makes 6 tasks.")).to_be_visible()
    page.get_by_role("button", name="Send batch").click()

    done = wait_for(
        lambda: all_done(data, 6),
        timeout=BATCH_TIMEOUT_S,
        interval=POLL_S,
        message=lambda: f"tasks: {[(r.state, r.downloaded) for r in stored(data)]}",
    )
    assert [(r.params["stylize"], r.params["chaos"]) for r in done] == [
        (s, c) for s in (250, 750) for c in (0, 40, 80)
    ]
    wait_loaded(page.locator(THUMBS), 24)  # each cell: its task's four thumbnails
    for label in ("stylize 250", "stylize 750", "chaos 0", "chaos 40", "chaos 80"):
        expect(page.get_by_text(label, exact=True)).to_be_visible()
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        title = page.get_by_text("6 of 6 tasks done")
        title.evaluate("element => element.scrollIntoView({block: 'start'})")
        (ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / "sweep.png"))

    with page.expect_download() as download:
        page.get_by_role("button", name="Download contact sheet").click()
    board = board_of(done)
    layout = sheet_layout(board.rows, board.cols, board.common_prompt)
    with Image.open(download.value.path()) as sheet:
        assert sheet.format == "PNG" and sheet.size == (layout.width, layout.height)
        assert sheet.width > 3 * CELL_SIZE and sheet.height > 2 * CELL_SIZE  # and the labels

    first = done[0]
    star = page.locator(f".st-key-sweeps-{first.id}-star0 button:visible")
    star.click()
    wait_for(
        lambda: TaskStore.open(data).get(first.id).favourite_images == [0],
        timeout=10.0,
        interval=POLL_S,
        message="the star never reached the store",
    )
    expect(star).not_to_contain_text("star_border")  # drawn starred


def test_a_prompt_matrix_double_clicked_makes_four_creates(
    start_studio, page: Page, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    studio = start_studio(data, {"MJSTUDIO_SANDBOX_LATENCY": "1"})
    open_sweeps(page, studio)
    type_into(page.get_by_role("textbox", name="Prompt"), MATRIX, "Control+Enter")
    expect(page.get_by_text("This makes 4 tasks.")).to_be_visible()
    page.get_by_role("button", name="Send batch").dblclick()

    done = wait_for(
        lambda: all_done(data, 4),
        timeout=BATCH_TIMEOUT_S,
        interval=POLL_S,
        message=lambda: f"tasks: {[(r.prompt, r.state) for r in stored(data)]}",
    )
    wait_loaded(page.locator(THUMBS), 16)
    creates = provider_creates(data)
    assert sorted((c["prompt"], c["aspect"]) for c in creates) == sorted(
        (f"a {colour} bird", aspect) for colour in ("red", "blue") for aspect in ("1:1", "16:9")
    )
    assert len({r.batch_id for r in done}) == 1
    for label in ("red", "blue", "1:1", "16:9"):
        expect(page.get_by_text(label, exact=True)).to_be_visible()
