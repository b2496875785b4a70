"""Every benchmark in one table: ``python -m bench [--quick] [--only store,pages] [--out FILE]``.

Each ``bench/bench_*.py`` module with a ``rows()`` function runs in its own process (one
module's Streamlit runtime or event loop cannot disturb another's); the table lists each figure
now, its target and the reference measured in the same run. ``--out`` also writes the table as
Markdown with the date, as the README carries it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.table import Row, markdown  # noqa: E402

_CHILD = """
import json, sys
from dataclasses import asdict
import importlib
module = importlib.import_module("bench." + sys.argv[1])
rows = module.rows(quick=sys.argv[2] == "1")
print("ROWS " + json.dumps([asdict(row) for row in rows]))
"""


def modules() -> list[str]:
    """The benchmark modules that expose ``rows()``, in name order."""
    found = []
    for path in sorted(HERE.glob("bench_*.py")):
        if "def rows(" in path.read_text():
            found.append(path.stem)
    return found


def run_one(name: str, quick: bool) -> list[Row]:
    """Run one module's ``rows()`` in a child process; a failure is one row that says so."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, name, "1" if quick else "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - began
    for line in done.stdout.splitlines():
        if line.startswith("ROWS "):
            print(f"  {name}: {took:.0f} s", file=sys.stderr)
            return [Row(**row) for row in json.loads(line[5:])]
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    print(f"  {name} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
    return [Row(f"{name} (did not run)", tail[0][:120], "", "", False)]


def main() -> None:
    """Command line: run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description="Run every benchmark and print one table.")
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke test)")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. store,pages")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    wanted = {f"bench_{name.strip()}" for name in args.only.split(",") if name.strip()}
    chosen = [name for name in modules() if not wanted or name in wanted]
    rows: list[Row] = []
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr)
        rows.extend(run_one(name, args.quick))
    table = markdown(rows)
    print(table)
    if args.out:
        stamp = time.strftime("%Y-%m-%d")
        args.out.write_text(f"Measured {stamp} with `python -m bench`:\n\n{table}\n")
    met = sum(row.met for row in rows)
    print(f"\n{met} of {len(rows)} targets met", file=sys.stderr)


if __name__ == "__main__":
    main()
