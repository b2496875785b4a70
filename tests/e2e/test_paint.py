"""Paint in a real browser: the mask the provider receives is exactly what was drawn.

A known 800x600 picture is uploaded on /paint; a rectangle and a brush stroke are drawn with the
mouse on the canvas. The upload-paint request the standalone sandbox received must hold
`mask.areas` polygons (image pixels, integer, clockwise, inside the image) whose union matches
the drawn region computed here from the mouse positions, and the four results must keep every
source pixel outside the mask.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import Locator, Page, expect
from shapely import LineString, Polygon, box

from tests.e2e.conftest import Sandbox, Studio
from tests.e2e.test_studio import POLL_S, describe, records, store_of
from tests.waiting import wait_for

WIDTH, HEIGHT = 800, 600
BRUSH_PX = 40  # the Paint page's default brush size, in canvas (screen) pixels
MIN_IOU = 0.97
EDGE_PX = 2  # antialiasing / rasterisation slack around the mask's edge
CANVAS = "canvas.upper-canvas"
REACH_PX = 320  # the drawing stays this far down the canvas: that much must be on screen
CAPTION = "Regenerated:"
WATCH = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (window.__mjWatch) { window.__mjWatch.runs = 0; return; }
    const watch = window.__mjWatch = {runs: 0, changed: performance.now()};
    new MutationObserver(changes => {
        for (const change of changes) {
            watch.changed = performance.now();
            if (change.oldValue !== "notRunning"
                && app.getAttribute("data-test-script-state") === "notRunning") watch.runs++;
        }
    }).observe(app, {attributeFilter: ["data-test-script-state"], attributeOldValue: true});
}"""
QUIET = """quiet => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app.getAttribute("data-test-script-state") === "notRunning"
        && performance.now() - window.__mjWatch.changed > quiet;
}"""
PROMPT = "a bowl of lemons on a blue table"


# --------------------------------------------------------------------------- the picture


def source_picture() -> Image.Image:
    """800x600: a diagonal colour gradient under a 4x3 grid of distinct blocks and a disc."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack(
        [x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), (x + y) * 255 // (WIDTH + HEIGHT)],
        axis=-1,
    ).astype(np.uint8)
    img = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(img)
    for row in range(3):
        for col in range(4):
            x0, y0 = 40 + col * 190, 40 + row * 185
            shade = (60 * col + 30, 90 * row + 40, 255 - 50 * col - 40 * row)
            draw.rectangle((x0, y0, x0 + 120, y0 + 110), fill=shade)
    draw.ellipse((330, 220, 470, 360), fill=(250, 250, 250), outline=(0, 0, 0), width=6)
    return img


def png(img: Image.Image) -> bytes:
    """PNG bytes of an image."""
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


# --------------------------------------------------------------------------- drawing


def canvas_box(page: Page) -> dict[str, float]:
    """The drawing canvas's box on the page, scrolled into view."""
    canvas = page.locator(CANVAS)
    canvas.scroll_into_view_if_needed()
    found = canvas.bounding_box()
    assert found and found["width"] > 0 and found["height"] > 0, found
    view = page.viewport_size
    assert view and found["y"] >= 0 and found["y"] + REACH_PX <= view["height"], (found, view)
    return found


def drag_rectangle(
    page: Page, frame: dict[str, float], start: tuple[float, float], end: tuple[float, float]
) -> None:
    """Drag from start to end (canvas px) with the left button, in small steps."""
    page.mouse.move(frame["x"] + start[0], frame["y"] + start[1])
    page.mouse.down()
    page.mouse.move(frame["x"] + end[0], frame["y"] + end[1], steps=12)
    page.mouse.up()


def stroke(page: Page, frame: dict[str, float], points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through every other one, release at the last."""
    page.mouse.move(frame["x"] + points[0][0], frame["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(frame["x"] + x, frame["y"] + y)
    page.mouse.up()


def arc(
    centre: tuple[float, float], radius: float, start_deg: float, end_deg: float, count: int
) -> list[tuple[float, float]]:
    """Whole-pixel points along a circular arc (y down), as a hand would move the mouse."""
    out: list[tuple[float, float]] = []
    for k in range(count):
        t = math.radians(start_deg + (end_deg - start_deg) * k / (count - 1))
        point = (round(centre[0] + radius * math.cos(t)), round(centre[1] + radius * math.sin(t)))
        if not out or point != out[-1]:
            out.append(point)
    return out


def pick_tool(page: Page, name: str) -> None:
    """Choose a tool in the "Tool" segmented control; returns once the page has rerun."""
    button = page.get_by_role("radiogroup", name="Tool").get_by_role("radio", name=name, exact=True)
    after_rerun(page, button.click)
    expect(button).to_have_attribute("aria-checked", "true")


def after_rerun(page: Page, action: Callable[[], object]) -> None:
    """Do something that makes the script rerun; wait until that rerun ended and things settled.

    Streamlit's running indicator only shows after 500 ms, so the app's script state attribute
    is watched instead: each change to "notRunning" counts as one finished run.
    """
    page.evaluate(WATCH)
    action()
    page.wait_for_function("() => window.__mjWatch.runs > 0", timeout=20_000)
    settle(page)


def settle(page: Page, quiet_ms: int = 400) -> None:
    """Wait until the script is not running and has not changed state for quiet_ms."""
    page.evaluate(WATCH)
    page.wait_for_function(QUIET, arg=quiet_ms, timeout=20_000)


def caption(page: Page) -> Locator:
    """The mask preview's caption."""
    return page.get_by_test_id("stImageCaption").filter(has_text=CAPTION)


# --------------------------------------------------------------------------- geometry


def to_image(geom, frame: dict[str, float]):
    """Canvas CSS px -> source image px (the canvas shows the whole image, stretched)."""
    sx, sy = WIDTH / frame["width"], HEIGHT / frame["height"]
    return shapely.affinity.scale(geom, sx, sy, origin=(0, 0))


def shoelace(xs: list[int], ys: list[int]) -> int:
    """Σ(x_i*y_{i+1} − x_{i+1}*y_i): positive when clockwise on screen (y down)."""
    n = len(xs)
    return sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))


def check_areas(areas: list[dict]) -> Polygon:
    """Every polygon well-formed for the API; returns their union in image px."""
    assert areas, "mask.areas is empty"
    polys = []
    for n, area in enumerate(areas):
        assert (area["width"], area["height"]) == (WIDTH, HEIGHT), (n, area)
        points = area["points"]
        assert all(type(v) is int for v in points), f"area {n} has non-integer points"
        assert len(points) % 2 == 0 and len(points) >= 6, f"area {n}: {len(points)} values"
        xs, ys = points[0::2], points[1::2]
        assert all(0 <= x <= WIDTH for x in xs) and all(0 <= y <= HEIGHT for y in ys), n
        assert shoelace(xs, ys) > 0, f"area {n} is not clockwise on screen"
        poly = Polygon(list(zip(xs, ys, strict=True)))
        assert poly.is_valid and poly.area > 0, f"area {n} is not a simple polygon"
        polys.append(poly)
    return shapely.union_all(polys)


def iou(a, b) -> float:
    """Intersection over union of two regions."""
    return a.intersection(b).area / a.union(b).area


def raster(areas: list[dict]) -> np.ndarray:
    """The areas filled as the provider would (boolean, HEIGHT x WIDTH)."""
    mask = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(mask)
    for area in areas:
        pts = area["points"]
        draw.polygon(list(zip(pts[0::2], pts[1::2], strict=True)), fill=255, outline=255)
    return np.asarray(mask) > 0


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    """Dilate a boolean mask by px pixels (a square window)."""
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(img.filter(ImageFilter.MaxFilter(2 * px + 1))) > 0


def shrink(mask: np.ndarray, px: int) -> np.ndarray:
    """Erode a boolean mask by px pixels (a square window)."""
    return ~grow(~mask, px)


# --------------------------------------------------------------------------- the test


def paint_request(sandbox: Sandbox) -> dict:
    """The input of the one upload-paint task the sandbox received."""
    tasks = [json.loads(p.read_text("utf-8")) for p in sandbox.task_files()]
    paints = [t for t in tasks if t["request"]["input"]["mode"] == "upload-paint"]
    assert len(paints) == 1, [t["request"]["input"]["mode"] for t in tasks]
    return paints[0]["request"]["input"]


def test_painted_mask_reaches_the_provider_exactly(
    start_sandbox, start_studio, page: Page, tmp_path: Path
) -> None:
    """Rectangle + brush stroke -> mask.areas matching the drawing; outside pixels untouched."""
    started = time.monotonic()
    picture = source_picture()
    upload = tmp_path / "source.png"
    upload.write_bytes(png(picture))
    data = tmp_path / "data"
    sandbox: Sandbox = start_sandbox("key-paint", tmp_path / "provider", latency=2.0)
    env = {"MJ_API_KEY": "key-paint", "MJ_BASE_URL": sandbox.url, "MJSTUDIO_POLL": "0.5,0.5"}
    studio: Studio = start_studio(data, env)

    page.goto(studio.url + "/paint")
    expect(page.locator("input[type=file]")).to_be_attached(timeout=30_000)
    after_rerun(page, lambda: page.locator("input[type=file]").set_input_files(str(upload)))
    expect(page.locator(CANVAS)).to_be_visible()
    expect(page.get_by_text(f"source.png · {WIDTH}×{HEIGHT}")).to_be_visible()
    settle(page)

    pick_tool(page, "Rectangle")
    frame = canvas_box(page)
    rect = ((60.0, 50.0), (300.0, 210.0))  # canvas px: the top-left block and beyond
    after_rerun(page, lambda: drag_rectangle(page, frame, *rect))
    expect(caption(page)).to_contain_text("1 polygon(s)")
    after_rect = caption(page).inner_text()
    drawn = [to_image(box(*rect[0], *rect[1]), frame)]

    pick_tool(page, "Brush")
    frame = canvas_box(page)
    path = arc((470.0, 330.0), 170.0, 200.0, 340.0, 60)  # an arch right of the rectangle
    after_rerun(page, lambda: stroke(page, frame, path))
    expect(caption(page)).not_to_have_text(after_rect)
    expect(caption(page)).to_contain_text("2 polygon(s)")
    line = LineString(path).buffer(BRUSH_PX / 2, quad_segs=16, cap_style="round")
    drawn.append(to_image(line, frame))
    expected = shapely.union_all(drawn).intersection(box(0, 0, WIDTH, HEIGHT))

    prompt = page.get_by_role("textbox", name="Prompt").last
    prompt.fill(PROMPT)
    expect(prompt).to_have_value(PROMPT)
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_text("Paint task sent.")).to_be_visible()

    # ---- what the provider received
    wait_for(
        sandbox.task_files,
        timeout=20,
        interval=POLL_S,
        message="waiting for the upload-paint request at the sandbox",
    )
    task = paint_request(sandbox)
    assert task["prompt"] == PROMPT
    assert task["canvas"] == {"width": WIDTH, "height": HEIGHT}
    assert task["imgPos"] == {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}
    areas = task["mask"]["areas"]
    received = check_areas(areas)
    measured = iou(received, expected)
    print(f"\nmask IoU {measured:.4f} ({len(areas)} polygon(s), {received.area:.0f} px²)")
    assert measured >= MIN_IOU, f"IoU {measured:.4f} < {MIN_IOU}"
    near = [abs(a - b) <= 2 for a, b in zip(received.bounds, expected.bounds, strict=True)]
    assert all(near), f"bounds {received.bounds} drawn {expected.bounds}"

    # ---- what the studio downloaded
    def done():
        found = [r for r in records(data) if r.mode == "upload-paint"]
        return found if found and found[0].state == "success" and found[0].downloaded else None

    record = wait_for(
        done,
        timeout=30,
        interval=POLL_S,
        message=lambda: "waiting for the paint task downloaded" + describe(data),
    )[0]
    assert len(record.files) == 4, record
    # The sandbox puts its SANDBOX mark inside the mask (imaging.mark_inside), so nothing
    # outside it is left out here: a mark outside the mask fails this test too.
    source = np.asarray(picture)
    painted = raster(areas)
    outside = ~grow(painted, EDGE_PX)
    inside = shrink(painted, EDGE_PX)
    assert outside.sum() > 0.3 * WIDTH * HEIGHT and inside.sum() > 0.05 * WIDTH * HEIGHT
    shares = []
    for n, rel in enumerate(record.files, 1):
        with Image.open(store_of(data).abspath(rel)) as img:
            assert img.size == (WIDTH, HEIGHT), (n, img.size)
            result = np.asarray(img.convert("RGB"))
        kept = np.all(result == source, axis=-1)
        assert kept[outside].all(), f"result {n}: {int((~kept[outside]).sum())} px changed outside"
        changed = 1 - kept[inside].mean()
        assert changed > 0.8, f"result {n}: only {changed:.1%} of the masked pixels changed"
        shares.append(f"{changed:.1%}")
    print(f"masked pixels changed: {', '.join(shares)}; {time.monotonic() - started:.1f} s")
