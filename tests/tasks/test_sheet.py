"""The contact sheet: one PNG sized for its thumbnails and labels, labels drawn, placeholders for
missing cells, a task's four images tiled, long prompts wrapped."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from mjstudio.tasks.sheet import (
    BACKGROUND,
    CELL_SIZE,
    GAP,
    MARGIN,
    PLACEHOLDER_FILL,
    PROMPT_SIZE,
    contact_sheet,
    font,
    sheet_layout,
    wrap,
)

RED, BLUE = (220, 20, 20), (20, 40, 220)
ROWS = ["stylize 0", "stylize 500"]
COLS = ["chaos 0", "chaos 50", "chaos 100"]


def png(colour: tuple[int, int, int], size: tuple[int, int] = (1024, 1024)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.convert("RGB")


def ink_in(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels of a box are not the background."""
    region = image.crop(box)
    diff = ImageChops.difference(region, Image.new("RGB", region.size, BACKGROUND))
    return region.width * region.height - diff.convert("L").point(lambda v: v > 0).histogram()[0]


def centre(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    paths = {"red": tmp_path / "red.png", "blue": tmp_path / "blue.png"}
    paths["red"].write_bytes(png(RED))
    paths["blue"].write_bytes(png(BLUE, (1456, 816)))  # 16:9, as a --ar 16:9 result
    return paths


def test_a_2x3_sheet_is_six_thumbnails_plus_the_labels(images):
    cells = [[images["red"]] * 3, [images["blue"]] * 3]
    sheet = opened(contact_sheet(ROWS, COLS, cells, "a red fox"))
    layout = sheet_layout(ROWS, COLS, "a red fox")
    assert sheet.size == (layout.width, layout.height)
    label_w = layout.row_boxes[0][2] - layout.row_boxes[0][0]
    label_h = layout.col_boxes[0][3] - layout.col_boxes[0][1]
    prompt_h = layout.prompt_box[3] - layout.prompt_box[1]
    assert 0 < label_w <= 220 and label_h > 0 and prompt_h > 0
    assert sheet.width == 2 * MARGIN + label_w + GAP + 3 * CELL_SIZE + 2 * GAP
    assert sheet.height == 2 * MARGIN + prompt_h + label_h + GAP + 2 * CELL_SIZE + GAP
    flat = [box for row in layout.cell_boxes for box in row]
    assert len(flat) == 6 and all(b[2] - b[0] == b[3] - b[1] == CELL_SIZE for b in flat)
    for r, row in enumerate(layout.cell_boxes):
        for box in row:
            assert sheet.getpixel(centre(box)) == (RED if r == 0 else BLUE)
    top_left = layout.cell_boxes[1][0]  # a 16:9 image fits the square: bands above and below
    assert sheet.getpixel((top_left[0] + 5, top_left[1] + 5)) == BACKGROUND
    assert sheet.getpixel((top_left[0] + 5, centre(top_left)[1])) == BLUE


def test_the_labels_and_the_prompt_are_drawn(images):
    cells = [[images["red"]] * 3] * 2
    layout = sheet_layout(ROWS, COLS, "a red fox")
    sheet = opened(contact_sheet(ROWS, COLS, cells, "a red fox"))
    assert len(layout.col_boxes) == 3 and len(layout.row_boxes) == 2
    for box in [*layout.col_boxes, *layout.row_boxes, layout.prompt_box]:
        assert ink_in(sheet, box) > 20, box
    unlabelled = opened(contact_sheet(["", ""], ["", "", ""], cells, ""))
    bare = sheet_layout(["", ""], ["", "", ""], "")
    assert (bare.col_boxes, bare.row_boxes, bare.prompt_lines) == ((), (), ())
    assert unlabelled.size == (
        2 * MARGIN + 3 * CELL_SIZE + 2 * GAP,
        2 * MARGIN + 2 * CELL_SIZE + GAP,
    )
    # a different label draws different pixels in its own area only
    other = opened(contact_sheet(ROWS, ["chaos 0", "chaos 99", "chaos 100"], cells, "a red fox"))
    assert other.size == sheet.size
    assert other.crop(layout.col_boxes[1]).tobytes() != sheet.crop(layout.col_boxes[1]).tobytes()
    assert other.crop(layout.col_boxes[0]).tobytes() == sheet.crop(layout.col_boxes[0]).tobytes()


def test_missing_and_unreadable_cells_show_the_placeholder(images):
    cells = [[images["red"], None, b"not an image"], [images["red"], images["red"]]]  # one short
    layout = sheet_layout(ROWS, COLS)
    sheet = opened(contact_sheet(ROWS, COLS, cells))
    for r, c in ((0, 1), (0, 2), (1, 2)):
        box = layout.cell_boxes[r][c]
        assert sheet.getpixel((box[0] + 30, box[1] + 8)) == PLACEHOLDER_FILL, (r, c)
        assert ink_in(sheet, box) == CELL_SIZE * CELL_SIZE  # grey, lines and word: no white
    assert sheet.getpixel(centre(layout.cell_boxes[1][1])) == RED
    missing = images["red"].with_name("gone.png")
    assert not missing.exists()
    gone = opened(contact_sheet(["x"], ["y"], [[missing]]))
    box = sheet_layout(["x"], ["y"]).cell_boxes[0][0]
    assert gone.getpixel((box[0] + 30, box[1] + 8)) == PLACEHOLDER_FILL


def test_a_tasks_four_images_are_tiled_in_its_cell(images):
    four = [images["red"], images["blue"], images["blue"], images["red"]]
    layout = sheet_layout([""], ["grid"])
    sheet = opened(contact_sheet([""], ["grid"], [[four]]))
    left, top, right, bottom = layout.cell_boxes[0][0]
    quarter = CELL_SIZE // 4
    assert sheet.getpixel((left + quarter, top + quarter)) == RED
    assert sheet.getpixel((right - quarter, top + quarter + 20)) == BLUE  # a 16:9 in its tile
    assert sheet.getpixel((left + quarter, bottom - quarter - 20)) == BLUE
    assert sheet.getpixel((right - quarter, bottom - quarter)) == RED
    assert sheet.getpixel(((left + right) // 2, top + quarter)) == BACKGROUND  # the gap


def test_long_prompts_wrap_and_long_labels_are_cut():
    prompt = "a red fox in the snow at dawn, cinematic light " * 8
    layout = sheet_layout(ROWS, COLS, prompt)
    short = sheet_layout(ROWS, COLS, "a red fox")
    assert len(layout.prompt_lines) > 2 and layout.width == short.width
    assert layout.height > short.height
    assert " ".join(layout.prompt_lines) == " ".join(prompt.split())
    room = layout.width - 2 * MARGIN
    assert all(font(PROMPT_SIZE).getlength(line) <= room for line in layout.prompt_lines)
    assert layout.cell_boxes[0][0][1] - short.cell_boxes[0][0][1] == layout.height - short.height
    sheet = opened(contact_sheet(ROWS, COLS, [], prompt))
    assert sheet.size == (layout.width, layout.height)
    left, top, right, bottom = layout.prompt_box
    last_line = (left, bottom - (bottom - top) // len(layout.prompt_lines) - GAP, right, bottom)
    assert ink_in(sheet, last_line) > 20
    long_label = "word " * 80
    cut = sheet_layout([long_label], ["x"]).row_lines[0]
    assert len(cut) == 3 and cut[-1].endswith("…")
    assert wrap("x" * 300, 14, 100) and all(len(line) < 300 for line in wrap("x" * 300, 14, 100))
    assert wrap("", 14, 100) == [] and wrap("   ", 14, 100) == []
