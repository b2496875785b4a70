"""Sandbox and client figures: time to produce a text-to-image task's four images, and the
client's time per status call (median of many), all over loopback HTTP in one run.

    .venv/bin/python bench/bench_sandbox.py [--tasks 7] [--status-calls 300] [--quick]

The produce time is wall time from create to the first status that says success, with the
sandbox's latency set to 0 (so it is the sandbox's own work: rendering, PNG encoding, writing
the files). Reference, measured in the same run: Pillow encoding the same four pictures as one
2048x2048 grid PNG at its default settings (what a provider that serves the whole grid as one
PNG pays for encoding alone); rendering the four pictures alone is printed beside it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.table import Row, markdown  # noqa: E402
from mjstudio.api.client import MJClient  # noqa: E402
from mjstudio.api.contract import build_request  # noqa: E402
from mjstudio.sandbox import SandboxSettings  # noqa: E402
from mjstudio.sandbox.imaging import text_to_image  # noqa: E402
from tests.sandbox.server import running_sandbox  # noqa: E402

KEY = "bench-key"
TARGET_S = 0.5


def produce_times(client: MJClient, tasks: int) -> list[float]:
    """Seconds from create to success with zero latency: the sandbox's own image work."""
    times = []
    for i in range(tasks):
        start = time.perf_counter()
        task_id = client.create(build_request("text-to-image", prompt=f"a red fox number {i}"))
        while not client.status(task_id).is_final:
            time.sleep(0.005)
        times.append(time.perf_counter() - start)
    return times


def status_times(client: MJClient, task_id: str, calls: int) -> list[float]:
    """Seconds per status call of a finished task."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        client.status(task_id)
        times.append(time.perf_counter() - start)
    return times


def reference_times(tasks: int) -> tuple[float, float]:
    """Median seconds of rendering a grid's four pictures, and of Pillow writing them as one
    2048x2048 PNG at its default settings."""
    render, encode = [], []
    for i in range(tasks):
        start = time.perf_counter()
        pictures = text_to_image(f"a red fox number {i}")
        render.append(time.perf_counter() - start)
        grid = Image.new("RGB", (2048, 2048))
        for k, picture in enumerate(pictures):
            grid.paste(picture, (1024 * (k % 2), 1024 * (k // 2)))
        start = time.perf_counter()
        grid.save(io.BytesIO(), format="PNG")
        encode.append(time.perf_counter() - start)
    return statistics.median(render), statistics.median(encode)


@dataclass(frozen=True)
class Figures:
    """One run's figures: produce and status call times (s), and the references (medians)."""

    produce: list[float]
    status: list[float]
    render: float
    encode: float


def measure(tasks: int, status_calls: int) -> Figures:
    """Produce times and status call times over loopback, and the references."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = SandboxSettings(api_key=KEY, latency_s=0.0, data_dir=Path(tmp))
        with running_sandbox(settings) as url, MJClient(KEY, url) as client:
            task_id = client.create(build_request("text-to-image", prompt="warm-up"))
            while not client.status(task_id).is_final:
                time.sleep(0.01)
            produce = produce_times(client, tasks)
            status = status_times(client, task_id, status_calls)
    return Figures(produce, status, *reference_times(tasks))


def rows(quick: bool = False) -> list[Row]:
    """The sandbox figure for `python -m bench`: a 1024x1024 text-to-image grid."""
    m = measure(3 if quick else 7, 10)
    now, encode, render = statistics.median(m.produce), m.encode, m.render
    return [
        Row(
            what="sandbox: a 1024x1024 text-to-image grid, create -> success (latency 0)",
            now=f"{now:.2f} s ({now / encode:.2f}x the reference)",
            target=f"<= {TARGET_S} s",
            reference=(
                f"Pillow PNG at default settings of one 2048x2048 grid: {encode:.2f} s "
                f"(rendering the four pictures alone: {render:.2f} s)"
            ),
            met=now <= TARGET_S,
        )
    ]


def main() -> None:
    """Command line: produce and status call figures, or the table row (--quick)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=7)
    parser.add_argument("--status-calls", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="only the table row, small counts")
    args = parser.parse_args()
    if args.quick:
        print(markdown(rows(quick=True)))
        return
    m = measure(args.tasks, args.status_calls)
    produce, ms = m.produce, [t * 1000 for t in m.status]
    print(f"text-to-image, four 1024x1024 images: median {statistics.median(produce):.3f} s "
          f"(min {min(produce):.3f}, max {max(produce):.3f}, n={len(produce)})")  # fmt: skip
    print(f"  reference: Pillow default PNG of the 2048x2048 grid {m.encode:.3f} s, "
          f"rendering alone {m.render:.3f} s")  # fmt: skip
    print(f"status call: median {statistics.median(ms):.2f} ms "
          f"(p90 {statistics.quantiles(ms, n=10)[-1]:.2f} ms, n={len(ms)})")  # fmt: skip


if __name__ == "__main__":
    main()
