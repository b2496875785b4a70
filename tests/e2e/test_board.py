"""The exploration board in a real browser at 1440x900: four finished grids on one screen, the
image viewer stepped with the arrow keys, Vary and upscale from it linked to their image, and
"Paint this" / "Use as reference" landing on their pages with the image loaded.

With DOCS_SCREENSHOTS=1 the board and viewer tests also write docs/board.png and
docs/viewer.png (the README shows them).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from bench.synthetic import sandbox_workspace
from mjstudio import images
from mjstudio.sandbox.imaging import text_to_image
from mjstudio.tasks.downloads import save_results
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.store import TaskStore
from tests.e2e.conftest import Studio
from tests.e2e.test_studio import (
    IMAGES,
    POLL_S,
    TASK_TIMEOUT_S,
    child,
    describe,
    generate,
    records,
    store_of,
)
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCREEN = {"width": 1440, "height": 900}
PROMPTS = (
    "a lighthouse on a cliff at dusk, oil painting",
    "a red fox in fresh snow, watercolor",
    "an isometric tea house in a bamboo forest",
    "a whale made of clouds over a quiet harbour",
    "a neon city street in the rain, 35 mm photo",
    "a brass robot reading in a library",
)
ROWS = '[class*="st-key-card-text-to-image-"]'
# The images of a row: a finished row is drawn in a shadow root (found there by Playwright's
# locators); a page script's querySelectorAll does not look into one by itself.
ROW_IMAGES = """const rowImages = (row) => [...row.querySelectorAll('[data-testid="stImage"] img'),
    ...row.querySelectorAll('.tile img'),
    ...[...row.querySelectorAll('[data-testid="stBidiComponentIsolated"]')].flatMap(
        host => host.shadowRoot ? [...host.shadowRoot.querySelectorAll('img')] : [])];"""
SEEN = (
    """(rows) => { """
    + ROW_IMAGES
    + """ return rows.filter(row => {
    const imgs = rowImages(row);
    return imgs.length === 4 && imgs.every(img => {
        const r = img.getBoundingClientRect();
        return img.complete && img.naturalWidth > 0 && r.width > 0 && r.top >= 0
            && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
    });
}).length; }"""
)
LATENCY = {"MJSTUDIO_SANDBOX_LATENCY": "1"}
BOAT = "a paper boat on a pond"


# --------------------------------------------------------------------------- set-up


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def seed(data_dir: Path, prompts: tuple[str, ...] = PROMPTS) -> list[TaskRecord]:
    """Finished grids made by the sandbox's imaging, stored as the tracker stores results (the
    first prompt is the oldest); their task ids are unknown to the provider."""
    store = TaskStore.open(data_dir)
    workspace, start = sandbox_workspace(data_dir), time.time() - 3600
    made = []
    for n, prompt in enumerate(prompts):
        request = {"input": {"mode": "text-to-image", "prompt": prompt, "version": "v7"}}
        record = store.add(
            TaskRecord.new(
                workspace,
                request,
                task_id=f"seeded-{n}",
                state=RecordState.SUCCESS,
                created_at=start + 60 * n,
                finished_at=start + 60 * n + 40,
            )
        )
        blobs = [_png(img) for img in text_to_image(prompt)]
        prepared = [("png", blob, images.thumbnail(blob)) for blob in blobs]
        files, thumbs = save_results(store, record, prepared)
        made.append(store.update(record.id, files=files, thumbs=thumbs, downloaded=True))
    return made


@pytest.fixture
def screen(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Pages in fresh browser contexts the size of a 1440x900 screen."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(viewport=SCREEN)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def open_board(page: Page, studio: Studio, count: int) -> Locator:
    """Open Imagine and wait until ``count`` rows show all their images; returns the rows."""
    page.goto(studio.url + "/")
    expect(page.get_by_role("textbox", name="Prompt").last).to_be_visible(timeout=30_000)
    rows = page.locator(ROWS)
    wait_for(
        lambda: rows.count() >= count and rows.evaluate_all(LOADED_ROWS) >= count,
        timeout=30.0,
        interval=POLL_S,
        message=lambda: f"{rows.count()} rows on the board, {count} wanted with their images",
    )
    return rows


LOADED_ROWS = (
    """(rows) => { """
    + ROW_IMAGES
    + """ return rows.filter(row => rowImages(row)
    .filter(i => i.complete && i.naturalWidth > 0).length >= 1).length; }"""
)


def shot(page: Page, name: str) -> None:
    """Write docs/<name> when DOCS_SCREENSHOTS=1 (the README's pictures)."""
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name))


def viewer(page: Page) -> Locator:
    """The open image viewer (a Streamlit dialog)."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def picture(dialog: Locator) -> str:
    """The src of the image the viewer shows (a new image has a new media URL)."""
    shown = dialog.locator('[data-testid="stImage"] img')
    expect(shown).to_have_count(1)
    return shown.get_attribute("src") or ""


def press(page: Page, dialog: Locator, key: str, then: str) -> None:
    """Press a key as a person does (once the last press shows) and see the viewer move.

    Streamlit folds clicks of one button that arrive while a run is going into one, so a key
    held down moves fewer images than it repeats.
    """
    page.keyboard.press(key)
    expect(dialog).to_contain_text(then)


def open_viewer(page: Page, record: TaskRecord, index: int) -> Locator:
    """Press "⤢" under image ``index`` of a task's row; returns the viewer."""
    row = page.locator(f".st-key-card-text-to-image-{record.id}")
    row.get_by_role("button", name="⤢").nth(index).click()
    return viewer(page)


# --------------------------------------------------------------------------- tests


def test_four_finished_grids_fit_a_1440x900_screen(start_studio, screen, tmp_path: Path) -> None:
    """Imagine's default board shows at least four whole grids, every image on screen."""
    data = tmp_path / "data"
    seed(data)
    studio = start_studio(data, LATENCY)
    page = screen()
    rows = open_board(page, studio, len(PROMPTS))
    page.wait_for_timeout(500)  # the last images laid out
    seen = rows.evaluate_all(SEEN)
    assert seen >= 4, f"{seen} whole grids on screen"
    shot(page, "board.png")


def test_the_viewer_steps_with_the_arrow_keys_and_sends_linked_tasks(
    start_studio, screen, tmp_path: Path
) -> None:
    """←/→ move through the grid and on to the next task; Vary (strong) and 2x HD from the viewer
    make tasks linked to the image shown, and the provider makes them."""
    data = tmp_path / "data"
    seed(data, PROMPTS[:2])
    studio = start_studio(data, LATENCY)
    page = screen()
    open_board(page, studio, 2)
    generate(page, BOAT)
    grid = wait_for(
        lambda: next(
            (r for r in records(data) if r.downloaded and r.task_id[:7] != "seeded-"), None
        ),
        timeout=TASK_TIMEOUT_S,
        interval=POLL_S,
        message=lambda: "waiting for the generated grid" + describe(data),
    )
    open_board(page, studio, 3)  # a new session: the board holds it first, then the seeded two
    dialog = open_viewer(page, grid, 1)
    expect(dialog).to_contain_text("Image 2 of 4 · task 1 of 3")
    expect(dialog).to_contain_text(BOAT)
    first = picture(dialog)
    press(page, dialog, "ArrowRight", "Image 3 of 4 · task 1 of 3")
    wait_for(lambda: picture(dialog) != first, timeout=10.0, interval=POLL_S)
    press(page, dialog, "ArrowRight", "Image 4 of 4 · task 1 of 3")
    press(page, dialog, "ArrowRight", "Image 1 of 4 · task 2 of 3")  # on through the board
    expect(dialog).to_contain_text(PROMPTS[1])
    for shown in ("Image 4 of 4 · task 1 of 3", "Image 3 of 4", "Image 2 of 4 · task 1 of 3"):
        press(page, dialog, "ArrowLeft", shown)
    wait_for(lambda: picture(dialog) == first, timeout=10.0, interval=POLL_S)
    shot(page, "viewer.png")

    dialog.get_by_role("button", name="Vary (strong)").click()
    vary = wait_for(lambda: child(data, grid, "vary"), timeout=10.0, interval=POLL_S)
    expect(dialog).to_contain_text("Sent: Vary (strong) of image 2")
    dialog.get_by_role("button", name="2x HD").click()
    upscale = wait_for(lambda: child(data, grid, "upscale"), timeout=10.0, interval=POLL_S)
    assert (vary.parent_index, vary.params["type"]) == (1, 1)
    assert (upscale.parent_index, upscale.params["type"]) == (1, 2)
    assert vary.params["taskId"] == upscale.params["taskId"] == grid.task_id
    expect(dialog).to_contain_text("Sent: Upscale (2x HD) of image 2")
    page.keyboard.press("Escape")  # closed: the runs that show the new tasks don't reopen it
    expect(page.get_by_role("dialog")).to_have_count(0)
    wait_for(
        lambda: all(r.state == "success" and r.downloaded for r in records(data)),
        timeout=TASK_TIMEOUT_S,
        interval=POLL_S,
        message=lambda: "waiting for the vary and the upscale" + describe(data),
    )
    expect(page.locator(f".st-key-card-text-to-image-{vary.id} {IMAGES}")).to_have_count(4)
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_paint_this_and_use_as_reference_open_their_pages_with_the_image(
    start_studio, screen, tmp_path: Path
) -> None:
    """From the viewer, Paint gets the image as its source (the canvas ready to draw on) and
    Image to image as its reference."""
    data = tmp_path / "data"
    oldest, newest = seed(data, PROMPTS[:2])
    studio = start_studio(data, LATENCY)
    page = screen()
    open_board(page, studio, 2)
    open_viewer(page, newest, 2).get_by_role("button", name="Paint this").click()
    expect(page).to_have_url(studio.url + "/paint")
    expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("dialog")).to_have_count(0)
    source = page.get_by_role("radiogroup", name="Image").get_by_role("radio", name="Image 3")
    expect(source).to_be_checked()
    expect(page.get_by_text(PROMPTS[1]).first).to_be_visible()

    page.get_by_role("link", name="Imagine", exact=True).click()
    open_viewer(page, oldest, 0).get_by_role("button", name="Use as reference").click()
    expect(page).to_have_url(studio.url + "/image-to-image")
    reference = page.get_by_role("radiogroup", name="Image").get_by_role("radio", name="Image 1")
    expect(reference).to_be_checked()
    expect(page.get_by_text(PROMPTS[0]).first).to_be_visible()
    expect(page.locator('[data-testid="stImage"] img').first).to_be_visible()


# Records each row click's kind and whether the bus took it (read once every listener ran).
TAKEN = """() => { window.mjTaken = [];
  document.addEventListener("mj-row-action", (e) => queueMicrotask(
    () => window.mjTaken.push([e.defaultPrevented, e.detail.do]))); }"""


def test_a_rows_menu_and_a_double_click_on_v_make_one_task_each(
    start_studio, screen, tmp_path: Path
) -> None:
    """The "⋯" menu under an image opens over the page and sends the type picked, for that
    image; a double click on V1 sends one variation (the row's click token)."""
    data = tmp_path / "data"
    (grid,) = seed(data, PROMPTS[:1])
    studio = start_studio(data, LATENCY)
    page = screen()
    open_board(page, studio, 1)
    # every click is taken by the board's click bus (row_bus.js), drawn hidden before the rows
    expect(page.locator(".st-key-rowbus-text-to-image")).to_be_hidden()
    page.evaluate(TAKEN)
    row = page.locator(f".st-key-card-text-to-image-{grid.id}")  # new tasks go above it
    row.get_by_role("button", name="⋯").nth(2).click()
    menu = page.get_by_role("menu", name="Image 3")
    expect(menu).to_be_visible()
    menu.get_by_role("menuitem", name="Upscale · Creative HD").click()
    expect(menu).to_be_hidden()
    upscale = wait_for(lambda: child(data, grid, "upscale"), timeout=10.0, interval=POLL_S)
    assert (upscale.parent_index, upscale.params["type"]) == (2, 1)
    expect(row).to_contain_text("made here: U3")  # the row drawn after the upscale was sent
    row.get_by_role("button", name="V1", exact=True).dblclick()
    vary = wait_for(lambda: child(data, grid, "vary"), timeout=10.0, interval=POLL_S)
    assert (vary.parent_index, vary.params["type"]) == (0, 0)
    page.wait_for_timeout(1_500)  # a second task would be stored by now
    assert [k.mode for k in store_of(data).children(grid.id)].count("vary") == 1
    assert page.evaluate("window.mjTaken") == [[True, "menu"], [True, "V"], [True, "V"]]
