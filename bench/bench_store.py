"""Benchmark: the task store at a designer's volume (10,000 finished tasks, some running).

Run: .venv/bin/python bench/bench_store.py [--quick]

Each figure is a median over many calls, measured interleaved with its reference in the same
run: ``due()`` against an empty store; ``list(limit=12)`` and ``count()`` against a store of
one page (12 tasks: the same rows to return, no history); an update against the same UPDATE on
a bare kept sqlite3 connection; a prompt search (count and first page, as the History page runs
it) against the previous release's case-folded substring scan.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import fill  # noqa: E402
from bench.table import Row, command_line, ratio  # noqa: E402
from mjstudio.tasks.record import RecordState, TaskRecord  # noqa: E402
from mjstudio.tasks.search import casefold  # noqa: E402
from mjstudio.tasks.store import DB_NAME, TaskStore  # noqa: E402

RUNNING = 100  # tasks being polled beside the history, DUE of them due now
DUE = 10
PAGE = 12
QUERY = "fox"
_OLD_SEARCH = (  # the previous release's search: a case-folded substring scan of the workspace
    "SELECT COUNT(*) FROM tasks WHERE workspace = ? AND instr(casefold(prompt), ?) > 0",
    "SELECT * FROM tasks WHERE workspace = ? AND instr(casefold(prompt), ?) > 0"
    " ORDER BY created_at DESC, seq DESC LIMIT ?",
)


def interleaved(calls: list[Callable[[], object]], runs: int) -> list[float]:
    """The median seconds of each call, run in turn ``runs`` times (after one warm-up each)."""
    times: list[list[float]] = [[] for _ in calls]
    for call in calls:
        call()
    for _ in range(runs):
        for n, call in enumerate(calls):
            began = time.perf_counter()
            call()
            times[n].append(time.perf_counter() - began)
    return [statistics.median(t) for t in times]


def add_running(store: TaskStore, workspace: str, count: int, due: int) -> list[str]:
    """``count`` processing tasks with a provider task id, ``due`` of them due now."""
    now = time.time()
    records = [
        TaskRecord.new(
            workspace,
            {"input": {"mode": "text-to-image", "prompt": f"a running fox {n}"}},
            task_id=f"running-{n:05d}",
            state=RecordState.PROCESSING,
            submitted_at=now,
            next_poll_at=now - 1 if n < due else now + 3600,
        )
        for n in range(count)
    ]
    store.add_many(records)
    return [r.id for r in records]


def bare_update(path: Path) -> sqlite3.Connection:
    """A bare kept sqlite3 connection, set up as the store's (WAL file, synchronous NORMAL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.create_function("casefold", 1, casefold, deterministic=True)
    return conn


def measure(root: Path, count: int, runs: int) -> dict[str, float]:
    """Every figure (seconds) for a store of ``count`` finished tasks and its references."""
    full_dir, empty_dir, page_dir = root / "full", root / "empty", root / "page"
    workspace = fill(full_dir, count)
    fill(page_dir, PAGE, workspace=workspace)
    store, empty, one_page = (TaskStore.open(d) for d in (full_dir, empty_dir, page_dir))
    ids = add_running(store, workspace, RUNNING, DUE)
    bare = bare_update(full_dir / DB_NAME)
    now = time.time()
    figures = {}
    figures["due"], figures["due_ref"] = interleaved(
        [lambda: store.due(now), lambda: empty.due(now)], runs
    )
    figures["update"], figures["update_ref"] = _updates(store, bare, ids, runs * 4)
    figures["search"], figures["search_ref"] = interleaved(
        [lambda: _search(store, workspace), lambda: _old_search(bare, workspace)], runs
    )
    figures["page"], figures["page_ref"], figures["count"], figures["count_ref"] = interleaved(
        [
            lambda: store.list(workspace, limit=PAGE),
            lambda: one_page.list(workspace, limit=PAGE),
            lambda: store.count(workspace),
            lambda: one_page.count(workspace),
        ],
        runs,
    )
    figures["due_rows"] = float(len(store.due(now)))
    bare.close()
    for each in (store, empty, one_page):
        each.close()
    return figures


def _updates(store: TaskStore, bare: sqlite3.Connection, ids: list[str], runs: int) -> list[float]:
    """A tracker's update of a running task, by the store and by the bare connection."""
    counter = iter(range(10**9))
    later = time.time() + 3600
    sql = "UPDATE tasks SET polls = ?, next_poll_at = ?, updated_at = ? WHERE id = ?"
    return interleaved(
        [
            lambda: store.update(ids[-1], polls=next(counter), next_poll_at=later),
            lambda: bare.execute(sql, (next(counter), later, time.time(), ids[-2])),
        ],
        runs,
    )


def _search(store: TaskStore, workspace: str) -> None:
    store.count(workspace, query=QUERY)
    store.list(workspace, query=QUERY, limit=PAGE)


def _old_search(conn: sqlite3.Connection, workspace: str) -> None:
    conn.execute(_OLD_SEARCH[0], (workspace, QUERY)).fetchall()
    conn.execute(_OLD_SEARCH[1], (workspace, QUERY, PAGE)).fetchall()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def rows(quick: bool = False) -> list[Row]:
    """The store's figures for `python -m bench` (quick: 1,000 tasks, fewer runs)."""
    count, runs = (1_000, 30) if quick else (10_000, 200)
    with tempfile.TemporaryDirectory(prefix="mj-bench-store-") as tmp:
        f = measure(Path(tmp), count, runs)
    return _table(f, f"{count:,}")


def _table(f: dict[str, float], n: str) -> list[Row]:
    """The rows of measured figures ``f`` for a store of ``n`` tasks."""
    r = {key: ratio(f[key], f[f"{key}_ref"]) for key in ("due", "update", "search", "page")}
    r["count"] = ratio(f["count"], f["count_ref"])
    one_page = f"a store of {PAGE} tasks (one page)"
    specs = [  # what, now, target, reference, met
        (f"`store.due()` with {n} tasks + {RUNNING} running ({f['due_rows']:.0f} due)",
         f"{_ms(f['due'])} ({r['due']:.1f}x empty)", "indexed, <= 1 ms",
         f"empty store: {_ms(f['due_ref'])}", f["due"] <= 0.001),
        ("a store update (kept connection, the row returned)",
         f"{_ms(f['update'])} ({r['update']:.2f}x the bare UPDATE)",
         "<= 3x an UPDATE on a kept connection",
         f"bare kept sqlite3 connection, same UPDATE: {_ms(f['update_ref'])}", r["update"] <= 3),
        (f'search "{QUERY}" over {n} prompts (count + first page of {PAGE})',
         f"{_ms(f['search'])} ({r['search']:.2f}x the old scan)", "<= 5 ms (full-text index)",
         f"the previous release's instr(casefold(prompt)) scan: {_ms(f['search_ref'])}",
         f["search"] <= 0.005),
        (f"`store.list(limit={PAGE})` newest page of {n}",
         f"{_ms(f['page'])} ({r['page']:.2f}x one page)", "indexed: <= 1.5x a store of one page",
         f"{one_page}: {_ms(f['page_ref'])}", r["page"] <= 1.5),
        (f"`store.count()` of {n}", f"{_ms(f['count'])} ({r['count']:.1f}x one page)",
         "indexed (a covering index range), <= 1 ms", f"{one_page}: {_ms(f['count_ref'])}",
         f["count"] <= 0.001),
    ]  # fmt: skip
    return [Row(*spec) for spec in specs]


def main() -> None:
    """Command line: print this module's table."""
    command_line(rows, __doc__.splitlines()[0], "1,000 tasks, fewer runs")


if __name__ == "__main__":
    main()
