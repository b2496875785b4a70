"""A new data folder's database is made without Alembic, exactly as Alembic's revisions make it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mjstudio.tasks import migrations
from mjstudio.tasks.store import DB_NAME, TaskStore
from tests.tasks.test_migrations import dump, store_record

ROOT = Path(__file__).resolve().parents[2]


def made(path: Path) -> list[str]:
    """The whole file (schema, rows, user_version) once a store has opened it."""
    store = TaskStore(path)
    store.count("ws")
    store.close()
    return dump(path)


def test_a_new_file_is_the_same_as_alembic_makes_it(tmp_path, monkeypatch):
    direct = made(tmp_path / "direct.sqlite")
    monkeypatch.setattr(migrations, "_is_new", lambda conn: False)
    assert made(tmp_path / "alembic.sqlite") == direct
    assert any(f"'{migrations.HEAD}'" in line for line in direct)  # stamped at the head


def test_a_new_file_works_and_is_current_at_once(tmp_path):
    store = TaskStore(tmp_path / DB_NAME)
    record = store.add(store_record("a heron in the reeds"))
    assert [r.id for r in store.list("ws", query="heron")] == [record.id]
    store.close()
    before = dump(tmp_path / DB_NAME)
    again = TaskStore(tmp_path / DB_NAME)
    assert again.get(record.id).prompt == "a heron in the reeds"
    again.close()
    assert dump(tmp_path / DB_NAME) == before


@pytest.mark.parametrize("older", [False, True])
def test_alembic_is_imported_only_for_an_older_file(tmp_path, older):
    path = tmp_path / DB_NAME
    if older:  # a file of release 4: revision 0005 still to run
        with migrations.sqlite3.connect(path) as conn:
            migrations.run_legacy_steps(conn)
    code = (
        "import sys\nfrom mjstudio.tasks.store import TaskStore\n"
        f"TaskStore({str(path)!r}).count('ws')\nprint('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(older)
