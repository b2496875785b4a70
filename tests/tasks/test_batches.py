"""Batches: a prompt matrix and an X/Y sweep planned as validated tasks on a board, sweep axes
checked against the API's ranges, and a stored batch laid out again and exported as a sheet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from mjstudio.api.contract import (
    CHAOS_RANGE,
    STYLIZE_RANGE,
    VERSIONS,
    WEIRD_RANGE,
    InvalidRequest,
    TextToImage,
)
from mjstudio.api.matrix import PermutationError, TooManyPrompts
from mjstudio.tasks.batches import (
    MATRIX,
    SWEEP,
    BatchError,
    board_of,
    board_sheet,
    fill_prompt,
    make_axis,
    plan_matrix,
    plan_sweep,
)
from mjstudio.tasks.record import RecordState, TaskRecord
from mjstudio.tasks.sheet import CELL_SIZE, PLACEHOLDER_FILL, sheet_layout
from mjstudio.tasks.store import DB_NAME, TaskStore

WS = "ws-batches"


def places(plan) -> list[tuple[int, int]]:
    return [(task.cell["row"], task.cell["col"]) for task in plan.tasks]


# ---------------------------------------------------------------------------- matrices


def test_the_issue_matrix_is_four_tasks_on_a_two_by_two_board():
    plan = plan_matrix("a {red, blue} bird --ar {1:1, 16:9}", base={"version": "v7"})
    assert plan.kind == MATRIX and plan.count == 4
    assert [(t.input.prompt, t.input.aspect, t.input.version) for t in plan.tasks] == [
        ("a red bird", "1:1", "v7"),
        ("a red bird", "16:9", "v7"),
        ("a blue bird", "1:1", "v7"),
        ("a blue bird", "16:9", "v7"),
    ]
    assert all(isinstance(t.input, TextToImage) for t in plan.tasks)
    assert (plan.rows, plan.cols) == (("red", "blue"), ("1:1", "16:9"))
    assert places(plan) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert plan.label == "a {red, blue} bird --ar {1:1, 16:9}"


def test_a_repeated_matrix_has_a_row_per_prompt_and_a_column_per_copy():
    plan = plan_matrix("a {red, blue, green} cat --r 2")
    assert (plan.rows, plan.cols) == (("red", "blue", "green"), ("#1", "#2"))
    assert places(plan) == [(r, c) for r in range(3) for c in range(2)]
    assert [t.cell["copy"] for t in plan.tasks] == [0, 1] * 3
    assert [t.input.prompt for t in plan.tasks][:3] == ["a red cat", "a red cat", "a blue cat"]
    single = plan_matrix("a fox --repeat 3")
    assert (single.rows, single.cols, single.count) == (("",), ("#1", "#2", "#3"), 3)
    three = plan_matrix("{a, b} {c, d} {e, f, g}")
    assert three.rows == ("a · c", "a · d", "b · c", "b · d") and three.cols == ("e", "f", "g")


def test_inline_flags_win_over_the_form_and_bad_ones_are_named():
    plan = plan_matrix("a fox --s {50, 900}", base={"stylize": 100, "speed": "relax"})
    assert [(t.input.stylize, t.input.speed) for t in plan.tasks] == [(50, "relax"), (900, "relax")]
    with pytest.raises(BatchError, match=r"“a owl --ar 1:x”: --ar 1:x: aspect must be W:H"):
        plan_matrix("a {fox, owl --ar 1:x}")
    with pytest.raises(InvalidRequest, match="prompt"):
        plan_matrix("{, }")  # an empty prompt is no task
    with pytest.raises(PermutationError, match="never closed"):
        plan_matrix("a {fox")
    with pytest.raises(TooManyPrompts):
        plan_matrix("{a, b, c, d} " * 4)  # 256
    assert plan_matrix("{a, b, c}", limit=3).count == 3
    with pytest.raises(BatchError, match="text-to-image or image-to-image"):
        plan_matrix("a {fox, owl}", mode="vary")


def test_an_image_to_image_matrix_keeps_its_references():
    url = "https://example.com/ref.png"
    plan = plan_matrix("{a fox, an owl}", mode="image-to-image", base={"image_urls": [url]})
    assert [t.input.mode for t in plan.tasks] == ["image-to-image"] * 2
    assert all(t.input.image_urls == [url] for t in plan.tasks)


# ---------------------------------------------------------------------------- axes


@pytest.mark.parametrize(
    ("param", "bounds"),
    [("stylize", STYLIZE_RANGE), ("chaos", CHAOS_RANGE), ("weird", WEIRD_RANGE)],
)
def test_numeric_axes_follow_the_contracts_ranges(param, bounds):
    lo, hi = bounds
    axis = make_axis(param, f"{lo}, {hi}")
    assert axis.values == (lo, hi) and axis.labels == (f"{param} {lo}", f"{param} {hi}")
    assert make_axis(param, [lo, str(hi)]).values == (lo, hi)
    for bad in (hi + 1, lo - 1):
        with pytest.raises(BatchError, match=f"{param}: {bad} is out of range"):
            make_axis(param, [bad])
    for bad in ("1.5", "ten", True):
        with pytest.raises(BatchError, match="not a whole number"):
            make_axis(param, [bad])


def test_versions_aspects_and_fragments_are_normalised():
    assert make_axis("version", "7, v6.1, niji 6, NIJI7").values == (
        "v7",
        "v6.1",
        "niji 6",
        "niji 7",
    )
    assert set(make_axis("version", list(VERSIONS)).values) == set(VERSIONS)
    with pytest.raises(BatchError, match="version: 'v5' is not one of"):
        make_axis("version", "v5")
    aspect = make_axis("aspect", "1:1\n16:9\n 2 : 3")
    assert aspect.values == ("1:1", "16:9", "2:3") and aspect.labels[1] == "aspect 16:9"
    with pytest.raises(BatchError, match="aspect: '16x9' is not W:H"):
        make_axis("aspect", "16x9")
    prompt = make_axis("prompt", '"in snow, at dawn", in   rain,')
    assert prompt.values == ("in snow, at dawn", "in rain", "")
    assert prompt.labels == ("in snow, at dawn", "in rain", "(none)")


def test_axes_refuse_duplicates_nothing_and_unknown_parameters():
    with pytest.raises(BatchError, match="250 is given twice"):
        make_axis("stylize", "250, 100, 250")
    with pytest.raises(BatchError, match="from 1 to 20 values, got 0"):
        make_axis("chaos", " , ")
    with pytest.raises(BatchError, match="from 1 to 20 values, got 21"):
        make_axis("chaos", list(range(21)))
    with pytest.raises(BatchError, match="not 'seed'"):
        make_axis("seed", "1, 2")


# ---------------------------------------------------------------------------- sweeps


def test_a_two_by_three_stylize_by_chaos_sweep():
    plan = plan_sweep(
        "a red fox --s 999 --ar 3:2",
        make_axis("stylize", "0, 500"),
        make_axis("chaos", "0, 50, 100"),
        base={"version": "v7", "chaos": 5},
    )
    assert plan.kind == SWEEP and plan.count == 6
    assert (plan.row_axis, plan.col_axis) == ("stylize", "chaos")
    assert plan.rows == ("stylize 0", "stylize 500")
    assert plan.cols == ("chaos 0", "chaos 50", "chaos 100")
    assert plan.label == "stylize × chaos: a red fox --s 999 --ar 3:2"
    assert places(plan) == [(r, c) for r in range(2) for c in range(3)]
    got = [(t.input.stylize, t.input.chaos, t.input.aspect, t.input.version) for t in plan.tasks]
    assert got == [(s, c, "3:2", "v7") for s in (0, 500) for c in (0, 50, 100)]
    assert {t.input.prompt for t in plan.tasks} == {"a red fox"}
    first = plan.tasks[4]
    assert (first.cell["row_label"], first.cell["col_label"]) == ("stylize 500", "chaos 50")


def test_prompt_fragments_fill_placeholders_or_are_appended():
    plan = plan_sweep("a {} fox in {} --ar 16:9", make_axis("prompt", "red, blue"))
    assert [t.input.prompt for t in plan.tasks] == ["a red fox in", "a blue fox in"]
    assert plan.cols == ("",) and plan.label == "prompt: a {} fox in {} --ar 16:9"
    two = plan_sweep(
        "a {} fox in {}", make_axis("prompt", "red, blue"), make_axis("prompt", "snow")
    )
    assert [t.input.prompt for t in two.tasks] == ["a red fox in snow", "a blue fox in snow"]
    appended = plan_sweep("a fox --ar 16:9", make_axis("prompt", ["", "watercolor"]))
    assert [(t.input.prompt, t.input.aspect) for t in appended.tasks] == [
        ("a fox", "16:9"),
        ("a fox, watercolor", "16:9"),
    ]
    assert fill_prompt("a fox, --s 50", ["oil"]) == "a fox, oil --s 50"
    assert fill_prompt("--ar 2:3", ["a fox"]) == "a fox --ar 2:3"
    assert fill_prompt("a {} fox", []) == "a fox"


def test_sweeps_refuse_what_they_cannot_lay_out():
    stylize = make_axis("stylize", "0, 100")
    with pytest.raises(BatchError, match="cannot hold"):
        plan_sweep("a {red, blue} fox", stylize)
    with pytest.raises(BatchError, match="cannot hold"):
        plan_sweep("a fox --r 2", stylize)
    with pytest.raises(BatchError, match="both vary stylize"):
        plan_sweep("a fox", stylize, make_axis("stylize", "5"))
    with pytest.raises(TooManyPrompts):
        plan_sweep("a fox", make_axis("weird", range(20)), make_axis("chaos", range(11)))
    with pytest.raises(BatchError, match="--ar 0:1"):
        plan_sweep("a fox --ar 0:1", stylize)


def test_record_fields_and_submissions():
    plan = plan_sweep("a fox", make_axis("stylize", "0, 100"), make_axis("chaos", "0"))
    fields = plan.record_fields(plan.tasks[1])
    assert fields == {
        "batch_id": plan.batch_id,
        "batch_label": "stylize × chaos: a fox",
        "cell": {
            "row": 1,
            "col": 0,
            "row_label": "stylize 100",
            "col_label": "chaos 0",
            "copy": 0,
            "kind": SWEEP,
            "row_axis": "stylize",
            "col_axis": "chaos",
        },
    }
    assert plan_sweep("a fox", make_axis("chaos", "1")).batch_id != plan.batch_id
    tokens = plan.submissions("form-1")
    assert len(set(tokens)) == 2 and all(t.startswith("form-1:") for t in tokens)


# ---------------------------------------------------------------------------- stored boards


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "PNG")
    return out.getvalue()


def store_plan(store: TaskStore, plan, done: set[int]) -> list[TaskRecord]:
    """The plan's tasks stored as the service would (newest cell first); ``done`` finished."""
    records = []
    for n, task in reversed(list(enumerate(plan.tasks))):
        record = TaskRecord.new(WS, {"input": task.input.to_api()}, **plan.record_fields(task))
        record.created_at = 1000.0 - n
        if n in done:
            folder = store.results_dir(record)
            folder.mkdir(parents=True)
            for i in range(1, 5):
                (folder / f"{i}.png").write_bytes(png((200, 10 * n, 30)))
            record.files = [store.relpath(folder / f"{i}.png") for i in range(1, 5)]
            record.state, record.downloaded = RecordState.SUCCESS, True
        records.append(store.add(record))
    return records


def test_a_stored_sweep_is_laid_out_again_and_exported_as_one_sheet(tmp_path: Path):
    store = TaskStore(tmp_path / DB_NAME)
    plan = plan_sweep("a fox", make_axis("stylize", "0, 500"), make_axis("chaos", "0, 50, 100"))
    store_plan(store, plan, done={0, 1, 2, 4})
    board = board_of(store.batch(WS, plan.batch_id))
    assert (board.rows, board.cols) == (list(plan.rows), list(plan.cols))
    assert (board.row_axis, board.col_axis, board.label) == ("stylize", "chaos", plan.label)
    assert board.at(1, 1)[0].request["input"]["stylize"] == 500
    assert board.at(1, 1)[0].request["input"]["chaos"] == 50
    assert board.at(9, 9) == []
    sheet = Image.open(io.BytesIO(board_sheet(board, store.abspath))).convert("RGB")
    layout = sheet_layout(board.rows, board.cols, board.label)
    assert sheet.size == (layout.width, layout.height)
    assert sheet.width >= 3 * CELL_SIZE and sheet.height >= 2 * CELL_SIZE
    for n, (r, c) in enumerate(places(plan)):
        left, top, _, _ = layout.cell_boxes[r][c]
        pixel = sheet.getpixel((left + 30, top + 8))
        assert (pixel == PLACEHOLDER_FILL) == (n not in {0, 1, 2, 4}), (r, c)


def test_a_board_of_records_without_cells_gives_each_a_row():
    loose = [TaskRecord.new(WS, {"input": {"prompt": p}}, batch_id="b") for p in ("x", "y")]
    placed = TaskRecord.new(WS, {}, batch_id="b", cell={"row": 0, "col": 1, "col_label": "c"})
    board = board_of([*loose, placed])
    assert board.cols == ["", "c"] and len(board.rows) == 3
    assert [board.at(r, 0)[0].prompt for r in (1, 2)] == ["x", "y"]
    assert board.at(0, 1) == [placed] and board.label == "x"
