"""The core's one-way import order, and no Streamlit in it (see mjstudio/__init__.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "mjstudio"
# part -> the other parts of mjstudio it may import
ALLOWED = {
    "images": set(),
    "api": set(),
    "config": {"api"},
    "mask": set(),
    "sandbox": {"api"},
    "tasks": {"api", "config", "images"},
    "server": {"api", "config", "images", "mask", "sandbox", "tasks"},
    # the command line (python -m mjstudio): an entry point over the core, may use any part
    "__main__": {"api", "config", "images", "mask", "sandbox", "tasks", "server"},
}


def part_of(module: str) -> str | None:
    """``mjstudio.tasks.store`` -> ``tasks``; None for a module outside mjstudio."""
    parts = module.split(".")
    return parts[1] if parts[0] == "mjstudio" and len(parts) > 1 else None


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


FILES = sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_each_part_imports_only_the_parts_below_it(path: Path) -> None:
    rel = path.relative_to(CORE)
    if rel.name == "__init__.py" and rel.parent == Path("."):
        return
    own = rel.parts[0].removesuffix(".py")
    used = {part_of(name) for name in imports(path)} - {None, own}
    assert used <= ALLOWED[own], f"{rel} imports {sorted(used - ALLOWED[own])}"
    assert not any(name.split(".")[0] == "streamlit" for name in imports(path)), rel


def test_the_top_level_stays_small() -> None:
    # __main__.py is the command line's entry point, not a part of the core: it does not count
    entries = [p for p in CORE.iterdir() if p.name not in ("__pycache__", "__main__.py")]
    assert len(entries) <= 8, sorted(p.name for p in entries)
    assert {p.removesuffix(".py") for p in (e.name for e in entries)} <= set(ALLOWED) | {"__init__"}
