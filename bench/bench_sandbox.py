"""Sandbox and client figures: time to produce a text-to-image task's four images, and the
client's time per status call (median of many), all over loopback HTTP in one run.

    .venv/bin/python bench/bench_sandbox.py [--tasks 5] [--status-calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mjstudio.api.client import MJClient  # noqa: E402
from mjstudio.api.contract import build_request  # noqa: E402
from mjstudio.sandbox import SandboxSettings  # noqa: E402
from tests.sandbox.server import running_sandbox  # noqa: E402

KEY = "bench-key"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--status-calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = SandboxSettings(api_key=KEY, latency_s=0.0, data_dir=Path(tmp))
        with running_sandbox(settings) as url, MJClient(KEY, url) as client:
            produce = produce_times(client, args.tasks)
            task_id = client.create(build_request("text-to-image", prompt="warm-up"))
            while not client.status(task_id).is_final:
                time.sleep(0.01)
            status = status_times(client, task_id, args.status_calls)
    print(f"text-to-image, four 1024x1024 images: median {statistics.median(produce):.3f} s "
          f"(min {min(produce):.3f}, max {max(produce):.3f}, n={len(produce)})")  # fmt: skip
    ms = [t * 1000 for t in status]
    print(f"status call: median {statistics.median(ms):.2f} ms "
          f"(p90 {statistics.quantiles(ms, n=10)[-1]:.2f} ms, n={len(ms)})")  # fmt: skip


if __name__ == "__main__":
    main()
