"""The ``WHERE`` clause of the store's list and count: workspace, prompt search and filters.

A prompt query finds the prompts that contain it, whatever the case. With three characters or
more it goes through the FTS5 trigram index (``tasks_fts``): the query is quoted as one phrase,
so whatever it holds (quotes, ``AND``, ``*``, ``:``, parentheses) is text to find, never FTS
syntax. Shorter queries, files without the index and queries whose Unicode case folding SQLite
does not share (``ß``, a final sigma) fall back to a case-folded substring scan of the
workspace, with the same meaning. On PostgreSQL the same query is a case-insensitive
``ILIKE '%text%'``, answered by a ``pg_trgm`` trigram index (the same substring meaning).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mjstudio.tasks.backend import DIALECTS, SQLITE, Dialect
from mjstudio.tasks.schema import FTS_MIN_CHARS, FTS_TABLE, SHARED_SQL, STARRED_SQL

SCAN_SQL = "instr(casefold(prompt), :query) > 0"
MATCH_SQL = f"seq IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :query)"
LIKE_SQL = "prompt ILIKE :query ESCAPE '!'"  # PostgreSQL: the trigram index answers it


@dataclass(frozen=True)
class Where:
    """A ``WHERE`` clause, its arguments, and whether the full-text index narrows it."""

    sql: str
    args: dict[str, Any]
    indexed_search: bool = False


def casefold(text: Any) -> str:
    """Python's case folding, registered in SQLite as ``casefold()`` for the scan."""
    return str(text).casefold() if text is not None else ""


def phrase(text: str) -> str:
    """The text as one FTS5 phrase: in double quotes, its own quotes doubled (never syntax)."""
    return '"' + text.replace('"', '""') + '"'


def uses_index(text: str) -> bool:
    """True when the trigram index answers this query exactly as the substring scan would."""
    return len(text) >= FTS_MIN_CHARS and text.casefold() == text.lower()


def like_pattern(text: str) -> str:
    """``%text%`` for ILIKE, its own ``%``, ``_`` and ``!`` taken literally."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def prompt_clause(query: str, indexed: bool, dialect: Dialect) -> tuple[str, Any, bool]:
    """(clause, argument, full-text or not) finding the prompts that contain ``query``."""
    text = query.strip()
    if not dialect.is_sqlite:
        return LIKE_SQL, like_pattern(text), indexed and len(text) >= FTS_MIN_CHARS
    if indexed and uses_index(text):
        return MATCH_SQL, phrase(text), True
    return SCAN_SQL, text.casefold(), False


_TESTS = {  # a filter given a value, and its clause
    "batch_id": "batch_id = :batch_id",
    "since": "created_at >= :since",
    "until": "created_at < :until",
    "owner": "owner = :owner",
}


def _one_of(column: str, chosen: list[str], clauses: list[str], args: dict[str, Any]) -> None:
    """``column IN (...)`` of the chosen values (nothing when none is chosen: all)."""
    if chosen:
        names = [f"{column}_{n}" for n in range(len(chosen))]
        clauses.append(f"{column} IN ({', '.join(':' + name for name in names)})")
        args.update(zip(names, chosen, strict=True))


def filters(
    workspace: str,
    query: str | None,
    modes: Iterable[str] | None,
    states: Iterable[str] | None,
    since: float | None,
    until: float | None,
    indexed: bool = False,
    counting: bool = False,
    *,
    favourites: bool = False,
    batch: str | None = None,
    owner: str | None = None,
    team: bool = False,
    dialect: Dialect = DIALECTS[SQLITE],
) -> Where:
    """The clause of :meth:`TaskStore.list` and :meth:`TaskStore.count`; empty filter = all.

    ``indexed``: the file has the full-text index. ``counting``: a count visits every match,
    so a full-text one starts from the index's matches rather than from the workspace's rows.
    ``favourites``: starred tasks (or images); ``batch``: one batch's; ``owner``: one designer's
    (None: everyone's); ``team``: the tasks shared with the team.
    """
    clauses, args, found = ["workspace = :workspace"], {"workspace": workspace}, False
    if query and query.strip():
        clause, args["query"], found = prompt_clause(query, indexed, dialect)
        clauses.append(clause)
        if found and counting:
            clauses[0] = dialect.count_hint  # not the workspace index: the search's matches
    for column, allowed in (("mode", modes), ("state", states)):
        _one_of(column, [str(value) for value in allowed or []], clauses, args)
    given = {"batch_id": batch, "since": since, "until": until, "owner": owner}
    for name, value in given.items():
        if value is not None:
            clauses.append(_TESTS[name])
            args[name] = value
    # each word for word its partial index's condition
    clauses += [clause for clause, on in ((STARRED_SQL, favourites), (SHARED_SQL, team)) if on]
    return Where(" AND ".join(clauses), args, found)
