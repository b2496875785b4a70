"""The store's benchmark runs (a smoke test: a small store, no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import bench_store


def test_the_store_benchmark_measures_every_figure(tmp_path: Path) -> None:
    figures = bench_store.measure(tmp_path, 30, 2)
    assert figures["due_rows"] == bench_store.DUE
    rows = bench_store._table(figures, "30")
    assert [row.what.split()[0] for row in rows] == [
        "`store.due()`",
        "a",
        "search",
        "`store.list(limit=12)`",
        "`store.count()`",
    ]
    for row in rows:
        assert " ms" in row.now and " ms" in row.reference and row.target
