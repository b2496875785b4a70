"""One row of the benchmark table, and the table printed by ``python -m bench``.

Every benchmark module exposes ``rows(quick: bool = False) -> list[Row]``: each figure measured
now, its target, and the reference measured in the same run (this machine is noisy: the ratio
to the reference is what counts).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure: what was measured, its value now, the target, the reference, and met or not."""

    what: str
    now: str
    target: str
    reference: str
    met: bool


def markdown(rows: list[Row]) -> str:
    """The rows as a Markdown table (the README carries it)."""
    lines = ["| what | now | target | reference (same run) | met |", "|---|---|---|---|---|"]
    for row in rows:
        mark = "yes" if row.met else "**no**"
        lines.append(f"| {row.what} | {row.now} | {row.target} | {row.reference} | {mark} |")
    return "\n".join(lines)


def ratio(now: float, reference: float) -> float:
    """now / reference; infinite when the reference is 0 (and 1.0 when both are)."""
    if reference > 0:
        return now / reference
    return float("inf") if now > 0 else 1.0


def command_line(rows: Callable[..., list[Row]], description: str, quick_help: str) -> None:
    """A benchmark module run as a script: ``--quick`` or not, then its table."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    print(markdown(rows(quick=parser.parse_args().quick)))
