"""The release before the team work: its data folder upgrades in place, and moves into a team.

``tests/fixtures/datafolder-v4`` was written by that release (schema version 4, no Alembic)
with its own store; it is copied, never opened in place. Every task, image file and lineage
link must still be there after the upgrade to Alembic's head, and its history export must move
into a PostgreSQL team database under a designer's account, its running tasks resuming there.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from mjstudio.tasks import migrations
from mjstudio.tasks.archive import export_history, import_history
from mjstudio.tasks.record import RecordState
from mjstudio.tasks.store import DB_NAME, TaskStore

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datafolder-v4"
WS = "ws-fixture"
JSON_FIELDS = ("request", "result_urls", "files", "thumbs", "favourite_images")


def fid(n: int) -> str:
    return f"e{n:031d}"


def release4_rows() -> dict[str, dict[str, Any]]:
    """The fixture's rows as release 4 stored them, read without touching the file."""
    conn = sqlite3.connect(f"file:{FIXTURE / DB_NAME}?immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        assert migrations.user_version(conn) == 4
        return {row["id"]: dict(row) for row in conn.execute("SELECT * FROM tasks")}
    finally:
        conn.close()


def as_record(row: dict[str, Any]) -> dict[str, Any]:
    """The record fields a release-4 row stands for (no owner, not shared)."""
    fields = {k: v for k, v in row.items() if k != "seq"}
    for name in JSON_FIELDS:
        fields[name] = json.loads(fields[name])
    fields["cell"] = json.loads(fields["cell"]) if fields["cell"] else None
    for name in ("downloaded", "download_gave_up", "favourite"):
        fields[name] = bool(fields[name])
    return fields | {"owner": "", "shared": False}


@pytest.fixture
def upgraded(tmp_path: Path) -> TaskStore:
    folder = tmp_path / "data"
    shutil.copytree(FIXTURE, folder)
    return TaskStore.open(folder)


def test_every_task_image_and_link_is_still_there(upgraded: TaskStore) -> None:
    rows = release4_rows()
    assert len(rows) == 9
    for id, row in rows.items():
        record = upgraded.get(id)
        assert record is not None and asdict(record) == as_record(row), id
        for rel in [*record.files, *record.thumbs]:
            assert upgraded.abspath(rel).is_file(), rel
    assert [r.id for r in upgraded.children(fid(1))] == [fid(2)]  # vary of the grid
    assert [r.id for r in upgraded.children(fid(2))] == [fid(3)]  # upscale of the vary
    assert upgraded.get(fid(3)).parent_index == 1


def test_the_upgraded_file_is_at_alembic_s_head_and_searchable(upgraded: TaskStore) -> None:
    assert [r.id for r in upgraded.list(WS, query="LIGHTHOUSE", limit=None)] == [
        fid(3), fid(2), fid(1)]  # fmt: skip
    assert [r.id for r in upgraded.list(WS, favourites=True)] == [fid(4)]
    assert [r.prompt for r in upgraded.batch(WS, "batch-0001")] == ["a cat, ink", "a cat, pastel"]
    assert {r.id for r in upgraded.active(WS)} == {fid(7), fid(8)}  # running and queued
    conn = sqlite3.connect(upgraded.path)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0005",)]
        assert migrations.user_version(conn) == 5
    finally:
        conn.close()


def test_opening_it_again_changes_nothing(upgraded: TaskStore, tmp_path: Path) -> None:
    upgraded.close()
    before = (tmp_path / "data" / DB_NAME).read_bytes()
    again = TaskStore.open(tmp_path / "data")
    assert len(again.list(WS, limit=None)) == 9
    again.close()
    assert (tmp_path / "data" / DB_NAME).read_bytes() == before


def test_a_designer_moves_the_history_into_the_team_database(
    upgraded: TaskStore, tmp_path: Path, pg_database_url: str
) -> None:
    archive = tmp_path / "mine.zip"
    export_history(upgraded, archive)
    team = TaskStore.open(tmp_path / "team-data", pg_database_url)
    try:
        report = import_history(team, archive, owner="issuer#alice")
        again = import_history(team, archive, owner="issuer#alice")
        assert report.added == 9 and again.added == 0  # idempotent
        mine = team.list(WS, owner="issuer#alice", limit=None)
        assert len(mine) == 9 and team.list(WS, owner="issuer#bob") == []
        for record in mine:
            for rel in [*record.files, *record.thumbs]:
                assert team.abspath(rel).is_file(), rel
        assert [r.id for r in team.children(fid(1))] == [fid(2)]
        running = team.get(fid(7))
        assert running.state is RecordState.PENDING and running.id in {r.id for r in team.due()}
        assert team.get(fid(8)).state is RecordState.QUEUED  # sent by the team's servers
    finally:
        team.close()
