"""Prompt search: case-insensitive substrings through the FTS5 trigram index.

The meaning is the previous release's: a prompt is found when its case-folded text contains the
case-folded query. The query is data: quotes, FTS operators and SQL never raise or change it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mjstudio.tasks.record import TaskRecord
from mjstudio.tasks.search import uses_index
from mjstudio.tasks.store import DB_NAME, TaskStore
from tests import pg
from tests.tasks.conftest import BACKENDS

WS = "ws-search"
PROMPTS = [
    "a Red Fox in snow",
    "FOXGLOVE meadow",
    "firefox browser icon",
    "Ünïcode RED tree",
    'she said "hello" to the world',
    "AND OR NOT near NEAR(a b)",
    "col:on (paren) star* caret^ minus- plus+",
    "100% _under_ back\\slash",
    "it's a quote'",
    "emoji 🦊 fox",
    "日本語のテキスト",
    "ΣΊΣΥΦΟΣ",
    "Café crème brûlée",
    "",
]
QUERIES = [
    "fox",
    "FOX",
    "oxg",
    "red",
    "ÜNÏCODE",
    "ünïc",
    "café",
    "CRÈME",
    '"hello"',
    '"',
    'said "',
    "AND",
    "AND OR",
    "NEAR(",
    "NEAR(a b)",
    "col:on",
    "(paren)",
    "star*",
    "*",
    "^",
    "caret^",
    "minus-",
    "-",
    "plus+",
    "100%",
    "%",
    "_under_",
    "_",
    "back\\slash",
    "\\",
    "it's",
    "'",
    "'; DROP TABLE tasks; --",
    "🦊 f",
    "🦊",
    "本語の",
    "σίσ",
    "  red  ",
    "re",
    "x",
    "nothing like it",
]


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    folder = tmp_path_factory.mktemp("search")
    if request.param == "sqlite":
        yield from _filled(TaskStore(folder / DB_NAME))
        return
    with pg.fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield from _filled(TaskStore.open(folder, url))


def _filled(made: TaskStore) -> Iterator[TaskStore]:
    for n, prompt in enumerate(PROMPTS):
        request = {"input": {"mode": "text-to-image", "prompt": prompt}}
        made.add(TaskRecord.new(WS, request, created_at=1000.0 + n))
    made.add(TaskRecord.new("ws-elsewhere", {"input": {"prompt": "a red fox elsewhere"}}))
    yield made
    made.close()


def expected(query: str) -> list[str]:
    """The prompts the previous release's substring scan finds, newest first."""
    needle = query.strip().casefold()
    return [p for p in reversed(PROMPTS) if needle in p.casefold()]


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_finds_what_the_substring_scan_found(store: TaskStore, query: str) -> None:
    found = [r.prompt for r in store.list(WS, query=query, limit=None)]
    assert found == expected(query)
    assert store.count(WS, query=query) == len(found)


def test_the_index_answers_queries_of_three_characters_or_more() -> None:
    assert uses_index("fox") and uses_index("ÜNÏCODE") and uses_index('a "b')
    assert not uses_index("re") and not uses_index("🦊") and not uses_index('"')
    assert not uses_index("straße")  # Python folds ß to ss, SQLite does not: the scan answers


def test_search_goes_through_the_full_text_index(tmp_path: Path) -> None:
    """The index, not the prompts, answers: a prompt the index lacks is not found by it."""
    store = TaskStore(tmp_path / DB_NAME)
    kept = store.add(TaskRecord.new(WS, {"input": {"prompt": "a red fox"}}))
    with sqlite3.connect(tmp_path / DB_NAME) as conn:  # take it out of the index only
        conn.execute(
            "INSERT INTO tasks_fts (tasks_fts, rowid, prompt)"
            " SELECT 'delete', seq, prompt FROM tasks WHERE id = ?",
            (kept.id,),
        )
    assert store.list(WS, query="red fox") == [] and store.count(WS, query="fox") == 0
    assert [r.id for r in store.list(WS, query="ed")] == [kept.id]  # short: the scan


def test_the_index_follows_every_change(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / DB_NAME)
    first = store.add(TaskRecord.new(WS, {"input": {"prompt": "a lighthouse at dusk"}}))
    batch = [TaskRecord.new(WS, {"input": {"prompt": f"owl number {n}"}}) for n in range(5)]
    store.add_many(batch)
    assert store.count(WS, query="LIGHTHOUSE") == 1 and store.count(WS, query="owl") == 5
    store.update(first.id, prompt="a castle in snow")
    assert store.count(WS, query="lighthouse") == 0
    assert [r.id for r in store.list(WS, query="castle")] == [first.id]
    store.update(first.id, polls=3)  # other columns leave the index alone
    assert store.delete(batch[0].id)
    assert store.count(WS, query="owl") == 4
    with sqlite3.connect(tmp_path / DB_NAME) as conn:  # another program (an older release) writes
        conn.execute(
            "INSERT INTO tasks (id, workspace, mode, prompt, created_at, updated_at)"
            " VALUES ('raw', ?, 'text-to-image', 'Written Elsewhere', 1.0, 1.0)",
            (WS,),
        )
        conn.execute("INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('integrity-check', 1)")
    assert [r.id for r in store.list(WS, query="tten elsew")] == ["raw"]


def test_search_stays_in_its_workspace_and_filters(store: TaskStore) -> None:
    assert store.count(WS, query="red fox") == 1 and store.count("ws-elsewhere", query="fox") == 1
    assert store.count(WS, query="fox", since=1000.5) == 3  # not "a Red Fox in snow"
    assert store.count(WS, query="fox", modes=["upscale"]) == 0
    page = store.list(WS, query="fox", limit=2, offset=1)
    assert [r.prompt for r in page] == expected("fox")[1:3]
