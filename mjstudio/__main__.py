"""The studio's command line: history export and import (see mjstudio/tasks/archive.py).

    python -m mjstudio history export --out FILE.zip [--data-dir DIR] [--workspace WS]
    python -m mjstudio history import FILE.zip [--data-dir DIR] [--workspace WS] [--owner KEY]

The data folder defaults to the studio's (``MJSTUDIO_DATA_DIR``, else
``.streamlit/secrets.toml`` in the current folder, else ``~/.local/share/mjstudio``).
An export holds every workspace unless one is named; an import puts each task into its own
workspace unless one is named.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mjstudio.config import Settings
from mjstudio.tasks.archive import ArchiveRefused, export_history, import_history
from mjstudio.tasks.store import DB_NAME, StoreUnavailable, TaskStore

SECRETS = Path(".streamlit") / "secrets.toml"


def _secrets() -> dict[str, Any]:
    """``.streamlit/secrets.toml`` of the current folder, as the studio started here reads it."""
    try:
        return tomllib.loads(SECRETS.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mjstudio", description="MJ Studio tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    history = commands.add_parser("history", help="export or import the task history")
    actions = history.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write tasks, images and uploads to a zip")
    export.add_argument("--out", type=Path, required=True, help="the zip to write")
    take = actions.add_parser("import", help="add the tasks of an export to a data folder")
    take.add_argument("archive", type=Path, help="a zip written by history export")
    helps = ((export, "export only this workspace (default: all)"),)
    helps += ((take, "import every task into this workspace (default: each task's own)"),)
    for sub, what in helps:
        sub.add_argument("--data-dir", type=Path, help="default: the studio's data folder")
        sub.add_argument("--workspace", help=what)
    take.add_argument(
        "--owner",
        help="file every task under this signed-in designer (their account key, shown on the"
        " studio's Settings page); default: as exported",
    )
    return parser


def _export(store: TaskStore, args: argparse.Namespace) -> None:
    report = export_history(store, args.out, args.workspace)
    print(
        f"Exported {report.tasks} tasks from {len(report.workspaces)} workspace(s) to {args.out}:"
        f" {report.files} images, {report.links} hard links, {report.uploads} uploads."
    )
    if report.missing:
        print(f"{len(report.missing)} stored files were already gone and are not in the zip.")


def _import(store: TaskStore, args: argparse.Namespace) -> None:
    report = import_history(store, args.archive, args.workspace, owner=args.owner)
    print(
        f"Imported {args.archive} into {store.data_dir}: {report.added} tasks added,"
        f" {report.already} already there, {report.files_written} files written,"
        f" {report.uploads_written} uploads written."
    )
    if report.resumed:
        print(f"{report.resumed} running tasks resume when the studio tracks this data folder.")
    if report.missing:
        print(f"{report.missing} files listed by the tasks were not in the zip.")


def _missing(args: argparse.Namespace, folder: Path) -> str | None:
    """What a command lacks before it starts (and before a data folder is made), or None."""
    if args.action == "export" and not (folder / DB_NAME).is_file():
        return f"there is no history in {folder}"
    if args.action == "import" and not args.archive.is_file():
        return f"there is no file {args.archive}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; 0 when it worked, 1 when it could not (the reason printed to stderr)."""
    args = _parser().parse_args(argv)
    given = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = Settings.load(_secrets(), **given)
    folder = settings.folder
    problem = _missing(args, folder)
    if problem:
        print(f"Could not {args.action}: {problem}.", file=sys.stderr)
        return 1
    try:
        store = TaskStore.open(folder, settings.database_url)
        if args.action == "export":
            _export(store, args)
        else:
            _import(store, args)
    except ArchiveRefused as exc:
        print(f"Refused {args.archive}: {exc.reason}.", file=sys.stderr)
        return 1
    except (OSError, StoreUnavailable) as exc:
        print(f"Could not {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
