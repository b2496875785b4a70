"""Fill a data folder with N synthetic finished tasks, as a designer's history would hold them.

Each task is a text-to-image success with four full-size result images and their thumbnails,
stored exactly as the tracker stores a real result (``results/<workspace>/<id>/``). The images
are four made once and hard-linked into every task's folder, so 10,000 tasks take seconds and
little disk. The tasks belong to the embedded sandbox's workspace of that folder, so the studio
shows them with no key configured.

    .venv/bin/python -m bench.synthetic --count 10000 --data-dir /tmp/mj-10k [--running 0]
    .venv/bin/python -m bench.synthetic --count 10000 --out /tmp/mj-10k.zip  # a history export
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mjstudio import images  # noqa: E402
from mjstudio.config import SANDBOX_IDENTITY, sandbox_key, workspace_id  # noqa: E402
from mjstudio.tasks.archive import export_history  # noqa: E402
from mjstudio.tasks.record import RecordState, TaskRecord  # noqa: E402
from mjstudio.tasks.store import TaskStore  # noqa: E402

SUBJECTS = ("fox", "lighthouse", "owl", "city", "forest", "robot", "teapot", "whale", "castle")
STYLES = ("watercolor", "at dusk", "in snow", "isometric", "oil painting", "neon", "pastel")
SIDE = 1024  # one image of a grid, as Midjourney serves them


def sandbox_workspace(data_dir: Path) -> str:
    """The workspace the embedded sandbox of this data folder uses."""
    return workspace_id(SANDBOX_IDENTITY, sandbox_key(data_dir))


def _images(seed: int) -> list[tuple[bytes, bytes]]:
    """Four (PNG, thumbnail) pairs of noisy gradients, like real results in size."""
    rng = random.Random(seed)
    made = []
    for _ in range(4):
        base = Image.linear_gradient("L").resize((SIDE, SIDE))
        noise = Image.effect_noise((SIDE, SIDE), 40 + rng.random() * 30)
        tint = tuple(rng.randrange(256) for _ in range(3))
        img = Image.merge("RGB", (base, noise, Image.new("L", (SIDE, SIDE), tint[2])))
        out = io.BytesIO()
        img.save(out, "PNG", compress_level=1)
        made.append((out.getvalue(), images.thumbnail(out.getvalue())))
    return made


def _record(workspace: str, index: int, start: float, rng: random.Random) -> TaskRecord:
    prompt = f"a {rng.choice(SUBJECTS)} {rng.choice(STYLES)} number {index}"
    created = start + index * 30.0
    return TaskRecord.new(
        workspace,
        {"request_type": "async", "input": {"mode": "text-to-image", "prompt": prompt}},
        task_id=f"synthetic-{index:06d}",
        state=RecordState.SUCCESS,
        created_at=created,
        submitted_at=created + 0.5,
        finished_at=created + 40.0,
        cost_s=39.5,
        polls=6,
        expected_s=40.0,
        result_urls=[f"https://results.invalid/{index}/{n}.png" for n in range(1, 5)],
        downloaded=True,
    )


def fill(data_dir: Path, count: int, *, workspace: str | None = None, seed: int = 1) -> str:
    """Add ``count`` finished tasks (with image files) to a data folder; returns the workspace."""
    data_dir = Path(data_dir)
    store = TaskStore.open(data_dir)
    workspace = workspace or sandbox_workspace(data_dir)
    rng = random.Random(seed)
    stock = data_dir / "synthetic-stock"
    stock.mkdir(parents=True, exist_ok=True)
    sources = []
    for n, (png, thumb) in enumerate(_images(seed), start=1):
        (stock / f"{n}.png").write_bytes(png)
        shown = stock / f"{n}.thumb.{images.sniff_extension(thumb)}"
        shown.write_bytes(thumb)
        sources.append((stock / f"{n}.png", shown))
    start = time.time() - count * 30.0
    batch: list[TaskRecord] = []
    for index in range(count):
        record = _record(workspace, index, start, rng)
        folder = store.results_dir(record)
        folder.mkdir(parents=True, exist_ok=True)
        for n, (png, thumb) in enumerate(sources, start=1):
            os.link(png, folder / f"{n}.png")
            os.link(thumb, folder / thumb.name)
            record.files.append(store.relpath(folder / f"{n}.png"))
            record.thumbs.append(store.relpath(folder / thumb.name))
        batch.append(record)
        if len(batch) >= 1000:
            store.add_many(batch)
            batch = []
    store.add_many(batch)
    return workspace


def export(data_dir: Path, out: Path, workspace: str) -> str:
    """Write a filled folder's workspace as a history export (``python -m mjstudio history``)."""
    report = export_history(TaskStore.open(data_dir), out, workspace)
    return f"{report.tasks} tasks exported to {out} ({report.files} images, {report.links} links)"


def main() -> None:
    """Command line: fill a data folder (and write it as a history export with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, help="the folder to fill (required without --out)")
    parser.add_argument("--workspace", default=None, help="default: the sandbox's workspace")
    parser.add_argument("--out", type=Path, help="also write the tasks as a history export zip")
    args = parser.parse_args()
    if args.data_dir is None and args.out is None:
        parser.error("--data-dir is required (or --out, to fill a temporary folder)")
    with tempfile.TemporaryDirectory(prefix="mj-synthetic-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        began = time.perf_counter()
        workspace = fill(data_dir, args.count, workspace=args.workspace)
        took = time.perf_counter() - began
        print(f"{args.count} finished tasks in workspace {workspace} ({took:.1f} s)")
        if args.out is not None:
            print(export(data_dir, args.out, workspace))
            print(f"import: python -m mjstudio history import {args.out} [--workspace WS]")


if __name__ == "__main__":
    main()
