"""A board as one PNG contact sheet: the common prompt, column and row labels, a thumbnail a cell.

Each cell is an image (a path or the bytes of one), a task's images (tiled two by two, as
Midjourney shows a grid), or None for a task still running, failed or missing: a grey
placeholder. Thumbnails are scaled to fit a square of ``cell_size`` pixels. Pillow only, with
its own default font (no download); :func:`sheet_layout` gives the geometry without drawing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

CELL_SIZE = 256
MARGIN = 16
GAP = 8
PROMPT_SIZE = 18  # font sizes in pixels
LABEL_SIZE = 14
LINE_GAP = 4
MAX_LABEL_LINES = 3  # a longer label is cut with an ellipsis
MAX_ROW_LABEL_WIDTH = 220
BACKGROUND = (255, 255, 255)
INK = (32, 32, 32)
PLACEHOLDER_FILL = (228, 228, 228)
PLACEHOLDER_INK = (150, 150, 150)
MISSING_TEXT = "no image"
TILE = 2  # a task's images tiled TILE x TILE in its cell

ImageSource = Path | str | bytes
Cell = ImageSource | Sequence[ImageSource] | None
Box = tuple[int, int, int, int]  # left, top, right, bottom


@dataclass(frozen=True)
class SheetLayout:
    """Where everything of a sheet goes: the image size, the text lines and every box."""

    width: int
    height: int
    prompt_lines: tuple[str, ...]
    prompt_box: Box
    col_boxes: tuple[Box, ...]  # each column label's area, above its column
    row_boxes: tuple[Box, ...]  # each row label's area, left of its row (empty: no labels)
    cell_boxes: tuple[tuple[Box, ...], ...]  # by row, then column
    col_lines: tuple[tuple[str, ...], ...]
    row_lines: tuple[tuple[str, ...], ...]


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's default font at a size (its fixed bitmap font where FreeType is missing)."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _line_height(size: int) -> int:
    left, top, right, bottom = font(size).getbbox("Ag")
    return int(bottom) + LINE_GAP


def _fits(text: str, size: int, width: int) -> bool:
    return font(size).getlength(text) <= width


def _longest_fit(word: str, size: int, width: int) -> int:
    """How many first characters of a word fit the width (at least one)."""
    lo, hi = 1, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if _fits(word[:mid], size, width) else (lo, mid - 1)
    return lo


def wrap(text: str, size: int, width: int, max_lines: int | None = None) -> list[str]:
    """The text in lines that fit ``width`` pixels (a word too long is cut); at most max_lines."""
    lines: list[str] = []
    for word in " ".join(text.split()).split(" ") if text.strip() else []:
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and _fits(candidate, size, width):
            lines[-1] = candidate
            continue
        while not _fits(word, size, width) and len(word) > 1:  # a long word: cut in pieces
            cut = _longest_fit(word, size, width)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        while lines[-1] and not _fits(lines[-1] + "…", size, width):
            lines[-1] = lines[-1][:-1]
        lines[-1] += "…"
    return lines


def sheet_layout(
    rows: Sequence[str],
    cols: Sequence[str],
    prompt: str = "",
    *,
    cell_size: int = CELL_SIZE,
) -> SheetLayout:
    """The geometry of a sheet of ``len(rows)`` x ``len(cols)`` cells (at least one of each)."""
    n_rows, n_cols = max(1, len(rows)), max(1, len(cols))
    label_h = _line_height(LABEL_SIZE)
    row_lines = [wrap(label, LABEL_SIZE, MAX_ROW_LABEL_WIDTH, MAX_LABEL_LINES) for label in rows]
    row_w = max((font(LABEL_SIZE).getlength(line) for ls in row_lines for line in ls), default=0)
    row_w = int(row_w) + GAP if row_w else 0
    col_lines = [wrap(label, LABEL_SIZE, cell_size, MAX_LABEL_LINES) for label in cols]
    col_h = max((len(lines) for lines in col_lines), default=0) * label_h
    col_h += GAP if col_h else 0
    grid_w = n_cols * cell_size + (n_cols - 1) * GAP
    width = 2 * MARGIN + row_w + grid_w
    prompt_lines = wrap(prompt, PROMPT_SIZE, width - 2 * MARGIN)
    prompt_h = len(prompt_lines) * _line_height(PROMPT_SIZE)
    prompt_h += GAP if prompt_h else 0
    top, left = MARGIN + prompt_h + col_h, MARGIN + row_w
    cells = _grid(left, top, n_rows, n_cols, cell_size)
    return SheetLayout(
        width=width,
        height=top + n_rows * cell_size + (n_rows - 1) * GAP + MARGIN,
        prompt_lines=tuple(prompt_lines),
        prompt_box=(MARGIN, MARGIN, width - MARGIN, MARGIN + prompt_h),
        col_boxes=tuple((b[0], top - col_h, b[2], top - GAP) for b in cells[0]) if col_h else (),
        row_boxes=tuple((MARGIN, r[0][1], left - GAP, r[0][3]) for r in cells) if row_w else (),
        cell_boxes=cells,
        col_lines=tuple(tuple(lines) for lines in col_lines),
        row_lines=tuple(tuple(lines) for lines in row_lines),
    )


def _grid(left: int, top: int, n_rows: int, n_cols: int, side: int) -> tuple[tuple[Box, ...], ...]:
    """The cells' boxes, by row then column, ``GAP`` apart."""
    step = side + GAP
    xs = [left + c * step for c in range(n_cols)]
    ys = [top + r * step for r in range(n_rows)]
    return tuple(tuple((x, y, x + side, y + side) for x in xs) for y in ys)


def contact_sheet(
    rows: Sequence[str],
    cols: Sequence[str],
    cells: Sequence[Sequence[Cell]],
    prompt: str = "",
    *,
    cell_size: int = CELL_SIZE,
) -> bytes:
    """One PNG of a board: the prompt (wrapped), the labels, and each cell's thumbnail."""
    layout = sheet_layout(rows, cols, prompt, cell_size=cell_size)
    sheet = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    _text(draw, layout.prompt_box, layout.prompt_lines, PROMPT_SIZE)
    for box, lines in zip(layout.col_boxes, layout.col_lines, strict=False):
        _text(draw, box, lines, LABEL_SIZE, centred=True)
    for box, lines in zip(layout.row_boxes, layout.row_lines, strict=False):
        _text(draw, box, lines, LABEL_SIZE, middle=True)
    for r, line in enumerate(layout.cell_boxes):
        for c, box in enumerate(line):
            given = cells[r][c] if r < len(cells) and c < len(cells[r]) else None
            _draw_cell(sheet, draw, box, given)
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    return out.getvalue()


def _text(
    draw: ImageDraw.ImageDraw,
    box: Box,
    lines: Sequence[str],
    size: int,
    *,
    centred: bool = False,
    middle: bool = False,
) -> None:
    """Lines of text in a box: from its top-left, centred across, or centred up and down."""
    height = _line_height(size)
    top = box[1] + ((box[3] - box[1]) - len(lines) * height) // 2 if middle else box[1]
    for n, line in enumerate(lines):
        x = box[0]
        if centred:
            x += int((box[2] - box[0] - font(size).getlength(line)) // 2)
        draw.text((x, top + n * height), line, fill=INK, font=font(size))


def _draw_cell(sheet: Image.Image, draw: ImageDraw.ImageDraw, box: Box, given: Cell) -> None:
    """A cell's image, its images tiled, or the placeholder."""
    sources = [given] if isinstance(given, Path | str | bytes) else list(given or [])
    if len(sources) > 1:
        side = (box[2] - box[0] - GAP // 2) // TILE
        for n, source in enumerate(sources[: TILE * TILE]):
            x = box[0] + (n % TILE) * (side + GAP // 2)
            y = box[1] + (n // TILE) * (side + GAP // 2)
            _draw_cell(sheet, draw, (x, y, x + side, y + side), source)
        return
    image = _thumbnail(sources[0], box[2] - box[0]) if sources else None
    if image is None:
        _placeholder(draw, box)
        return
    x = box[0] + (box[2] - box[0] - image.width) // 2
    y = box[1] + (box[3] - box[1] - image.height) // 2
    sheet.paste(image, (x, y))


def _thumbnail(source: ImageSource, side: int) -> Image.Image | None:
    """An image scaled to fit a square (RGB, transparency on white); None if unreadable."""
    try:
        raw = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        with raw:
            raw.draft("RGB", (side, side))  # a JPEG decodes at a smaller scale straight away
            image = raw.convert("RGBA")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
        return None
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    flat = Image.new("RGB", image.size, BACKGROUND)
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def _placeholder(draw: ImageDraw.ImageDraw, box: Box) -> None:
    """A grey square with a cross and a word: nothing to show here (yet)."""
    draw.rectangle(box, fill=PLACEHOLDER_FILL)
    left, top, right, bottom = box
    draw.line((left, top, right - 1, bottom - 1), fill=PLACEHOLDER_INK, width=1)
    draw.line((left, bottom - 1, right - 1, top), fill=PLACEHOLDER_INK, width=1)
    size = LABEL_SIZE if right - left > 4 * LABEL_SIZE else max(6, (right - left) // 5)
    text_w = font(size).getlength(MISSING_TEXT)
    if text_w < right - left:
        x, y = left + (right - left - text_w) / 2, top + (bottom - top - size) / 2
        draw.rectangle((x - 4, y - 2, x + text_w + 4, y + size + 4), fill=PLACEHOLDER_FILL)
        draw.text((x, y), MISSING_TEXT, fill=PLACEHOLDER_INK, font=font(size))
