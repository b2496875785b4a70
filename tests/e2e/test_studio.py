"""The studio in a real browser: generate, upscale, vary, history, crash recovery, validation."""

from __future__ import annotations

import functools
import json
import time
import zipfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Locator, Page, expect

from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.store import TaskStore
from tests.e2e.conftest import Sandbox, Studio, page_markup, page_text
from tests.waiting import wait_for

# A card's images: a board row's tiles (in the row's shadow root: Playwright's CSS locators
# look inside it) or a large card's Streamlit images.
IMAGES = '.tile img, [data-testid="stImage"] img'
LOADED = "els => els.filter(e => e.complete && e.naturalWidth > 0).length"
SIZES = "els => els.map(e => [e.naturalWidth, e.naturalHeight])"
RECTS = """els => els.map(e => {
    const r = e.getBoundingClientRect();
    return [r.x, r.y, r.width, r.height];
})"""
TASK_TIMEOUT_S = 45.0
RESTART_TIMEOUT_S = 30.0
POLL_S = 0.25  # how often a browser test looks again (at the page or the store)


# --------------------------------------------------------------------------- helpers


def describe(data_dir: Path) -> str:
    """The studio's tasks, one line each, for a failure message."""
    now = time.time()
    lines = [
        f"{r.prompt or r.mode!r}: {r.state} polls={r.polls} downloaded={r.downloaded} "
        f"next poll in {(r.next_poll_at or now) - now:.0f} s error={r.error!r}"
        for r in records(data_dir)
    ]
    return "\n" + "\n".join(lines)


@functools.cache
def store_of(data_dir: Path) -> TaskStore:
    """The studio's task store in a data folder, opened directly (as a script would)."""
    return TaskStore.open(data_dir)


def records(data_dir: Path) -> list[TaskRecord]:
    """Every task the studio stored in a data folder, oldest first."""
    store = store_of(data_dir)
    everything = [r for ws in store.workspaces() for r in store.list(ws, limit=None)]
    return sorted(everything, key=lambda r: r.created_at)


def child(data_dir: Path, parent: TaskRecord, mode: str) -> TaskRecord | None:
    """The first task of ``mode`` made from ``parent``, if any."""
    kids = store_of(data_dir).children(parent.id)
    return next((k for k in kids if k.mode == mode), None)


def card(page: Page, record: TaskRecord, where: str) -> Locator:
    """A task's card on a page (its key holds the record id)."""
    return page.locator(f".st-key-card-{where}-{record.id}")


def loaded_images(card_: Locator, count: int, timeout: float = TASK_TIMEOUT_S) -> Locator:
    """Wait until a card shows exactly ``count`` images, all loaded; returns them."""
    images = card_.locator(IMAGES)
    wait_for(
        lambda: images.count() == count and images.evaluate_all(LOADED) == count,
        timeout=timeout,
        interval=POLL_S,
        message=lambda: f"card shows {images.count()} image(s), not {count} loaded ones",
    )
    return images


def natural_sizes(images: Locator) -> list[tuple[int, int]]:
    """The natural pixel sizes of images, as the browser decoded them."""
    return [tuple(size) for size in images.evaluate_all(SIZES)]


def is_one_row(rects: list[list[float]], near: float = 2.0) -> bool:
    """Four [x, y, width, height] boxes side by side on one line, in order: 1 2 3 4."""
    if len(rects) != 4 or any(w <= 0 or h <= 0 for _, _, w, h in rects):
        return False
    same_line = max(r[1] for r in rects) - min(r[1] for r in rects) < near
    in_order = all(b[0] >= a[0] + a[2] - near for a, b in zip(rects, rects[1:], strict=False))
    return same_line and in_order


def assert_board_row(images: Locator, timeout: float = 10.0) -> None:
    """The four images of a task sit in one board row (boxes read at once, retried)."""
    wait_for(
        lambda: is_one_row(images.evaluate_all(RECTS)),
        timeout=timeout,
        interval=POLL_S,
        message=lambda: f"the images are not one row of four: {images.evaluate_all(RECTS)}",
    )


def generate(page: Page, prompt: str) -> None:
    """Type a prompt on the Imagine page and press Generate."""
    box = page.get_by_role("textbox", name="Prompt").last
    box.fill(prompt)
    expect(box).to_have_value(prompt)
    page.get_by_role("button", name="Generate").click()


def open_imagine(page: Page, studio: Studio) -> None:
    """Open the studio's start page (Imagine) and wait for its form."""
    page.goto(studio.url + "/")
    expect(page.get_by_role("textbox", name="Prompt").last).to_be_visible(timeout=30_000)


def assert_absent(page: Page, texts: list[str]) -> None:
    """None of ``texts`` is anywhere in the page (shown text or markup)."""
    shown, markup = page_text(page), page_markup(page)
    for text in texts:
        assert text not in shown and text not in markup, f"{text!r} is on the page"


def file_size(data_dir: Path, rel: str) -> tuple[int, int]:
    """The pixel size of a result file in the studio's data folder."""
    with Image.open(store_of(data_dir).abspath(rel)) as img:
        return img.size


# --------------------------------------------------------------------------- tests


def test_generate_upscale_vary_and_history(start_studio, page: Page, tmp_path: Path) -> None:
    """Generate shows a 2x2 grid; U2 doubles image 2; V3 gives four variations; all in History."""
    data = tmp_path / "data"
    studio = start_studio(data, {"MJSTUDIO_SANDBOX_LATENCY": "2"})
    open_imagine(page, studio)
    expect(page.get_by_text("Sandbox provider")).to_be_visible()

    generate(page, "a lighthouse on a cliff at dusk")
    grid = wait_for(
        lambda: records(data),
        timeout=TASK_TIMEOUT_S,
        interval=POLL_S,
        message="waiting for the text-to-image task",
    )[0]
    assert grid.mode == "text-to-image" and grid.prompt == "a lighthouse on a cliff at dusk"
    grid_card = card(page, grid, "text-to-image")
    images = loaded_images(grid_card, 4)
    assert_board_row(images)
    image_2 = natural_sizes(images)[1]

    grid_card.get_by_role("button", name="U2", exact=True).click()
    upscale = wait_for(
        lambda: child(data, grid, "upscale"),
        timeout=TASK_TIMEOUT_S,
        interval=POLL_S,
        message="waiting for the upscale task",
    )
    assert upscale.parent_index == 1
    upscale_card = card(page, upscale, "text-to-image")
    shown = natural_sizes(loaded_images(upscale_card, 1))[0]
    parent_file = file_size(data, store_of(data).get(grid.id).files[1])
    # the grid shows display copies (at most 512 px), made once when the result was stored
    assert max(image_2) <= 512 and image_2[0] * parent_file[1] == image_2[1] * parent_file[0]
    doubled = (2 * parent_file[0], 2 * parent_file[1])
    # the upscale is shown from its display copy too; the file (and its download) is the real one
    assert max(shown) == 512 and shown[0] * doubled[1] == shown[1] * doubled[0], shown
    expect(upscale_card).to_contain_text(f"Upscaled · {doubled[0]}×{doubled[1]}")
    assert file_size(data, store_of(data).get(upscale.id).files[0]) == doubled
    with page.expect_download() as download:
        upscale_card.get_by_role("link", name="⬇ 1").click()
    assert download.value.suggested_filename.startswith(f"mjstudio-{upscale.id[:8]}-")
    with Image.open(download.value.path()) as img:
        assert img.size == doubled
    with page.expect_download() as download:  # the grid's four images, zipped when asked
        grid_card.get_by_role("link", name="⬇ all").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert len(archive.namelist()) == 4

    grid_card.get_by_role("button", name="V3", exact=True).click()
    vary = wait_for(
        lambda: child(data, grid, "vary"),
        timeout=TASK_TIMEOUT_S,
        interval=POLL_S,
        message="waiting for the vary task",
    )
    assert vary.parent_index == 2
    variations = loaded_images(card(page, vary, "text-to-image"), 4)
    assert_board_row(variations)

    page.reload()
    expect(page.get_by_role("textbox", name="Prompt").last).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(studio.url + "/history")
    expect(page.get_by_text("3 task(s)")).to_be_visible()
    for record in (grid, upscale, vary):
        expect(card(page, record, "history")).to_be_visible()
    expect(card(page, grid, "history")).to_contain_text("a lighthouse on a cliff at dusk")


def test_tasks_survive_a_crash_and_stay_in_their_workspace(
    start_sandbox, start_studio, new_page, tmp_path: Path
) -> None:
    """Tasks running when the studio is killed finish after a restart, each created once."""
    data = tmp_path / "data"
    sandbox: Sandbox = start_sandbox("key-A", tmp_path / "provider", latency=6.0)
    env = {"MJ_API_KEY": "key-A", "MJ_BASE_URL": sandbox.url, "MJSTUDIO_POLL": "0.5,0.5"}
    studio = start_studio(data, env)
    page = new_page()
    open_imagine(page, studio)
    prompts = ["a quiet harbour at dawn", "a fox in fresh snow", "a red kite over hills"]
    for number, prompt in enumerate(prompts, 1):
        generate(page, prompt)
        wait_for(
            lambda n=number: len(records(data)) == n,
            timeout=TASK_TIMEOUT_S,
            interval=POLL_S,
            message=f"waiting for task {number} in the store",
        )
        expect(card(page, records(data)[-1], "text-to-image")).to_contain_text(prompt)
    wait_for(
        lambda: all(r.task_id for r in records(data)),
        timeout=TASK_TIMEOUT_S,
        interval=POLL_S,
        message="waiting for every task sent to the provider",
    )
    before = records(data)
    studio.proc.kill()
    page.context.close()
    assert [r.prompt for r in before] == prompts
    ages = [round(time.time() - r.created_at, 1) for r in before]
    assert not any(r.downloaded for r in before), f"a task finished before the crash: {ages}"

    restarted = start_studio(data, env)

    def all_done() -> bool:
        found = records(data)
        return all(r.state == "success" and r.downloaded for r in found)

    # With a 6 s latency every task is done a few seconds after the restart; 30 s is far more
    # than that and still below the tracker's 60 s slow-poll, so a task parked there fails here.
    wait_for(
        all_done,
        timeout=RESTART_TIMEOUT_S,
        interval=POLL_S,
        message=lambda: "waiting for every task downloaded after the restart" + describe(data),
    )
    store = store_of(data)
    for record in records(data):
        assert len(record.files) == 4, record
        assert all(store.abspath(rel).is_file() for rel in record.files + record.thumbs)
    created = [json.loads(p.read_text())["task_id"] for p in sandbox.task_files()]
    assert len(created) == len(prompts), created
    assert sorted(created) == sorted(r.task_id for r in records(data))

    restarted.proc.stop()
    other = start_studio(data, {**env, "MJ_API_KEY": "key-B"})
    page = new_page()
    open_imagine(page, other)
    expect(page.get_by_text("Nothing has been generated in this session yet")).to_be_visible()
    assert_absent(page, [*prompts, "key-A", "key-B"])
    page.get_by_role("link", name="History").click()
    expect(page.get_by_text("0 task(s)")).to_be_visible()
    assert_absent(page, [*prompts, "key-A", "key-B"])


def test_invalid_inline_flag_is_refused_in_the_browser(
    start_studio, page: Page, tmp_path: Path
) -> None:
    """`--chaos 150` shows an error naming chaos and its range, and creates no task."""
    data = tmp_path / "data"
    studio = start_studio(data, {"MJSTUDIO_SANDBOX_LATENCY": "2"})
    open_imagine(page, studio)
    assert records(data) == []

    generate(page, "a castle in the clouds --chaos 150")
    alert = page.get_by_test_id("stAlert").filter(has_text="chaos")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("0 to 100")
    expect(page.get_by_text("Nothing has been generated in this session yet")).to_be_visible()
    assert records(data) == []
    assert list((data / "sandbox" / "tasks").glob("*.json")) == []


def test_deep_link_on_a_fresh_server_gets_the_studio_frame(
    start_studio, page: Page, tmp_path: Path
) -> None:
    """A bookmarked /history opened first after a restart shows the studio, not bare pages.

    With a pages/ folder beside frame.py, Streamlit runs pages/*.py as legacy (MPA v1) pages
    until some session has called st.navigation: no banner, file-name links, a KeyError.
    """
    studio = start_studio(tmp_path / "data", {"MJSTUDIO_SANDBOX_LATENCY": "2"})
    page.goto(studio.url + "/history")
    expect(page.get_by_text("task(s)")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Sandbox provider")).to_be_visible(timeout=3_000)
    page.get_by_role("link", name="Imagine", exact=True).click()
    expect(page.get_by_role("textbox", name="Prompt").last).to_be_visible()
