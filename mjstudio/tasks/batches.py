"""Batches: a prompt matrix or a sweep planned as tasks on a board, and the board of a stored one.

A **matrix** is one permutation prompt (:mod:`mjstudio.api.matrix`): its last ``{...}`` group
gives the columns (times ``--repeat``), the other groups the rows. A **sweep** is a prompt and
one or two :class:`Axis` (stylize, chaos, weird, version, aspect, or a prompt fragment that
fills a ``{}`` of the prompt or is appended to it), like an X/Y plot: rows are the first axis'
values, columns the second's. Either is planned as a :class:`BatchPlan` whose tasks carry a
validated input (what ``Studio.submit`` takes) and the record fields that place it on the
board (:meth:`BatchPlan.record_fields`); :func:`board_of` lays stored records out again.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mjstudio.api.contract import (
    CHAOS_RANGE,
    STYLIZE_RANGE,
    VERSIONS,
    WEIRD_RANGE,
    AnyInput,
    build_input,
    parse_aspect,
)
from mjstudio.api.matrix import MAX_PROMPTS, TooManyPrompts, has_permutations, parse_matrix, tidy
from mjstudio.api.prompt import parse_prompt
from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.schema import cell_key
from mjstudio.tasks.sheet import CELL_SIZE, contact_sheet

SWEEP_PARAMS = ("stylize", "chaos", "weird", "version", "aspect", "prompt")
RANGES = {"stylize": STYLIZE_RANGE, "chaos": CHAOS_RANGE, "weird": WEIRD_RANGE}
PROMPTED_MODES = ("text-to-image", "image-to-image")  # the modes a batch can be made of
MAX_AXIS_VALUES = 20
PLACEHOLDER = "{}"
MATRIX, SWEEP = "matrix", "sweep"

_FLAGS_START = re.compile(r"(?<!\S)(?:--|—|–)[A-Za-z]")


class BatchError(ValueError):
    """A sweep or matrix that cannot be planned; the message is for the designer."""


def new_batch_id() -> str:
    """A fresh batch id."""
    return uuid.uuid4().hex


# ------------------------------------------------------------------------------- axes


@dataclass(frozen=True)
class Axis:
    """One swept parameter and its values (checked against the API's ranges)."""

    param: str  # one of SWEEP_PARAMS
    values: tuple[Any, ...]  # ints for stylize/chaos/weird, "v7"/"niji 6", "16:9", fragments
    labels: tuple[str, ...]  # one caption per value, e.g. "stylize 250"

    def __len__(self) -> int:
        return len(self.values)


def make_axis(param: str, values: str | Iterable[Any]) -> Axis:
    """An axis from its values: a list, or text separated by commas or new lines (``"a, b"``).

    In text, a value holding a comma is written in double quotes (``"red, white", blue``).
    An empty prompt fragment stands for the prompt alone (a baseline column or row).
    BatchError names the first value out of range, a duplicate, or too many values.
    """
    if param not in SWEEP_PARAMS:
        raise BatchError(f"a sweep can vary {', '.join(SWEEP_PARAMS)}; not {param!r}")
    raw = _split(values) if isinstance(values, str) else list(values)
    if param != "prompt":
        raw = [value for value in raw if str(value).strip()]
    if not 1 <= len(raw) <= MAX_AXIS_VALUES:
        raise BatchError(f"{param}: give from 1 to {MAX_AXIS_VALUES} values, got {len(raw)}")
    checked = tuple(_checked(param, value) for value in raw)
    seen: set[Any] = set()
    for value in checked:
        if value in seen:
            raise BatchError(f"{param}: {value!r} is given twice")
        seen.add(value)
    return Axis(param, checked, tuple(_label(param, value) for value in checked))


def _split(text: str) -> list[str]:
    """Values separated by commas or new lines; double quotes keep a comma inside a value."""
    rows = csv.reader(text.splitlines() or [""], skipinitialspace=True)
    return [value.strip() for row in rows for value in row]


def _checked(param: str, value: Any) -> Any:
    """A value made the API's own (ints, "v7", "16:9"); BatchError for one out of range."""
    if param in RANGES:
        lo, hi = RANGES[param]
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
            raise BatchError(f"{param}: {value!r} is not a whole number from {lo} to {hi}")
        if not lo <= int(text) <= hi:
            raise BatchError(f"{param}: {text} is out of range (from {lo} to {hi})")
        return int(text)
    if param == "version":
        return _version(str(value))
    if param == "aspect":
        try:
            width, height = parse_aspect(str(value))
        except ValueError:
            raise BatchError(f"aspect: {value!r} is not W:H (e.g. 16:9)") from None
        return f"{width}:{height}"
    if not isinstance(value, str):
        raise BatchError(f"prompt: {value!r} is not text")
    return tidy(value)


def _version(text: str) -> str:
    """``7``, ``v7``, ``V 6.1``, ``niji 6``, ``niji6`` -> the API's name; BatchError otherwise."""
    words = text.lower().replace(" ", "")
    name = f"niji {words[4:]}" if words.startswith("niji") else "v" + words.removeprefix("v")
    if name not in VERSIONS:
        raise BatchError(f"version: {text!r} is not one of {', '.join(VERSIONS)}")
    return name


def _label(param: str, value: Any) -> str:
    if param in RANGES:
        return f"{param} {value}"
    if param == "aspect":
        return f"aspect {value}"
    if param == "prompt":
        return value or "(none)"
    return str(value)


# ------------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class PlannedTask:
    """One task of a batch: its validated input and its cell on the board."""

    input: AnyInput
    cell: dict[str, Any]  # row, col, row_label, col_label, copy (stored as the record's cell)


@dataclass(frozen=True)
class BatchPlan:
    """A batch ready to send: its tasks in board order (rows, then columns, then copies)."""

    kind: str  # MATRIX or SWEEP
    label: str  # the batch's title
    rows: tuple[str, ...]  # row labels, by row index
    cols: tuple[str, ...]  # column labels, by column index
    tasks: tuple[PlannedTask, ...]
    row_axis: str = ""  # what the rows vary ("stylize", "prompt" ...; "" for a matrix)
    col_axis: str = ""
    batch_id: str = field(default_factory=new_batch_id)

    @property
    def count(self) -> int:
        """How many tasks the batch sends."""
        return len(self.tasks)

    def record_fields(self, task: PlannedTask) -> dict[str, Any]:
        """The record fields of one of its tasks: ``batch_id``, ``batch_label``, ``cell``."""
        cell = {**task.cell, "kind": self.kind}
        if self.row_axis or self.col_axis:
            cell |= {"row_axis": self.row_axis, "col_axis": self.col_axis}
        return {"batch_id": self.batch_id, "batch_label": self.label, "cell": cell}

    def submissions(self, token: str) -> list[str]:
        """One submission token per task from the form's token (a resent form sends nothing)."""
        return [f"{token}:{self.batch_id}:{index}" for index in range(self.count)]


def _cell(row: int, col: int, row_label: str, col_label: str, copy: int = 0) -> dict[str, Any]:
    return {"row": row, "col": col, "row_label": row_label, "col_label": col_label, "copy": copy}


def _input(mode: str, text: str, base: dict[str, Any], overrides: dict[str, Any]) -> AnyInput:
    """A prompt's validated input: the base, its inline flags, then the overrides."""
    parsed = parse_prompt(text)
    if parsed.errors:
        raise BatchError(f"“{tidy(text)}”: {parsed.errors[0]}")
    params = {**base, **parsed.params, **overrides, "prompt": parsed.prompt}
    return build_input(mode, **params)  # InvalidRequest (a ValueError) names the field


def _check_mode(mode: str) -> None:
    if mode not in PROMPTED_MODES:
        raise BatchError(f"a batch is made of {' or '.join(PROMPTED_MODES)} tasks, not {mode}")


def plan_matrix(
    text: str,
    *,
    mode: str = "text-to-image",
    base: dict[str, Any] | None = None,
    limit: int = MAX_PROMPTS,
) -> BatchPlan:
    """A permutation prompt as a batch: one task per prompt and copy (PermutationError, ...).

    ``base``: the form's parameters (version, speed, image_urls ...); a prompt's inline flags
    win over them. With --repeat, each prompt is a row and its copies the columns; without,
    the last group's options are the columns and the other groups' the rows.
    """
    _check_mode(mode)
    matrix = parse_matrix(text)
    by_copy = matrix.repeat > 1 or not matrix.group_sizes
    width = matrix.repeat if by_copy else matrix.group_sizes[-1]
    rows: dict[int, str] = {}
    cols: dict[int, str] = {}
    tasks = []
    for item in matrix.expand(limit):
        index = item.combination * matrix.repeat + item.copy  # its place in board order
        row, col = divmod(index, width)
        shown = [choice or "(none)" for choice in item.choices]
        rows[row] = " · ".join(shown if by_copy else shown[:-1])
        cols[col] = f"#{item.copy + 1}" if by_copy else shown[-1]
        cell = _cell(row, col, rows[row], cols[col], item.copy)
        tasks.append(PlannedTask(_input(mode, item.prompt, base or {}, {}), cell))
    return BatchPlan(MATRIX, tidy(text), _ordered(rows), _ordered(cols), tuple(tasks))


def _ordered(labels: dict[int, str]) -> tuple[str, ...]:
    return tuple(labels.get(index, "") for index in range(max(labels, default=-1) + 1))


def plan_sweep(
    prompt: str,
    rows: Axis,
    cols: Axis | None = None,
    *,
    mode: str = "text-to-image",
    base: dict[str, Any] | None = None,
    limit: int = MAX_PROMPTS,
) -> BatchPlan:
    """An X/Y sweep as a batch: one task per (row value, column value); BatchError, ...

    The axes' values win over the prompt's inline flags and the ``base`` parameters. A prompt
    fragment fills the prompt's first free ``{}``, or is appended to its text (before flags).
    """
    _check_mode(mode)
    _check_sweep(prompt, rows, cols)
    columns = cols if cols is not None else Axis("", ("",), ("",))
    if len(rows) * len(columns) > limit:
        raise TooManyPrompts(len(rows) * len(columns), limit)
    tasks = []
    for r, row in enumerate(rows.values):
        for c, col in enumerate(columns.values):
            chosen = [(rows.param, row), (columns.param, col)]
            fragments = [value for param, value in chosen if param == "prompt"]
            overrides = {param: value for param, value in chosen if param not in ("", "prompt")}
            task_input = _input(mode, fill_prompt(prompt, fragments), base or {}, overrides)
            tasks.append(PlannedTask(task_input, _cell(r, c, rows.labels[r], columns.labels[c])))
    title = " × ".join(axis.param for axis in (rows, cols) if axis is not None)
    label = f"{title}: {tidy(prompt)}" if tidy(prompt) else title
    return BatchPlan(
        SWEEP, label, rows.labels, columns.labels, tuple(tasks), rows.param, columns.param
    )


def _check_sweep(prompt: str, rows: Axis, cols: Axis | None) -> None:
    if has_permutations(prompt.replace(PLACEHOLDER, "")):
        raise BatchError(
            "a sweep's prompt cannot hold { } options or --repeat: use a prompt matrix for those"
        )
    if cols is not None and cols.param == rows.param and rows.param != "prompt":
        raise BatchError(f"rows and columns both vary {rows.param}: choose two parameters")


def fill_prompt(prompt: str, fragments: Sequence[str]) -> str:
    """Each fragment into the next free ``{}``, else appended before the flags; no ``{}`` left."""
    text = prompt
    for fragment in fragments:
        if PLACEHOLDER in text:
            text = text.replace(PLACEHOLDER, fragment, 1)
        elif fragment:
            match = _FLAGS_START.search(text)
            head, flags = (text[: match.start()], text[match.start() :]) if match else (text, "")
            head = head.strip().rstrip(",")
            text = f"{head}, {fragment} {flags}" if head else f"{fragment} {flags}"
    return tidy(text.replace(PLACEHOLDER, ""))


# ------------------------------------------------------------------------------- boards


@dataclass
class Board:
    """A stored batch laid out again: labels, and the records of each (row, column)."""

    label: str
    rows: list[str]
    cols: list[str]
    cells: dict[tuple[int, int], list[TaskRecord]]
    row_axis: str = ""
    col_axis: str = ""

    def at(self, row: int, col: int) -> list[TaskRecord]:
        """The records of one cell (copies in order; empty: none stored there)."""
        return self.cells.get((row, col), [])

    @property
    def common_prompt(self) -> str:
        """The batch's title: the matrix prompt, or the sweep's axes and prompt."""
        return self.label


def board_of(records: Iterable[TaskRecord]) -> Board:
    """The board of a batch's records (as :meth:`TaskStore.batch` returns them)."""
    ordered = sorted(records, key=cell_key)
    board = Board(label="", rows=[], cols=[], cells={})
    stray = 1 + max((cell_key(r)[0] for r in ordered if r.cell), default=-1)
    for record in ordered:
        cell = record.cell or {}
        board.label = board.label or record.batch_label or record.prompt
        board.row_axis = board.row_axis or str(cell.get("row_axis") or "")
        board.col_axis = board.col_axis or str(cell.get("col_axis") or "")
        row, col, _ = cell_key(record)
        if (
            not record.cell or row >= 2**31
        ):  # no cell (an older or foreign record): a row of its own
            row, col, stray = stray, 0, stray + 1
        _grow(board.rows, row, str(cell.get("row_label", "")))
        _grow(board.cols, col, str(cell.get("col_label", "")))
        board.cells.setdefault((row, col), []).append(record)
    return board


def _grow(labels: list[str], index: int, label: str) -> None:
    """Make room for an index in a label list; the first label given for it is kept."""
    labels.extend([""] * (index + 1 - len(labels)))
    labels[index] = labels[index] or label


def sheet_images(board: Board, abspath: Callable[[str], Path]) -> list[list[list[Path] | None]]:
    """Per cell, the image paths of its first finished record (thumbnails when stored), or None.

    ``abspath``: the store's ``abspath`` (a path relative to the data folder made absolute).
    """
    grid: list[list[list[Path] | None]] = []
    for row in range(len(board.rows)):
        line: list[list[Path] | None] = []
        for col in range(len(board.cols)):
            done = next((r for r in board.at(row, col) if r.is_done), None)
            rels = (done.thumbs or done.files) if done else []
            line.append([abspath(rel) for rel in rels] or None)
        grid.append(line)
    return grid


def board_sheet(
    board: Board, abspath: Callable[[str], Path], *, cell_size: int = CELL_SIZE
) -> bytes:
    """The board as one PNG contact sheet: its title, its labels, each cell's images."""
    grid = sheet_images(board, abspath)
    return contact_sheet(board.rows, board.cols, grid, board.common_prompt, cell_size=cell_size)
