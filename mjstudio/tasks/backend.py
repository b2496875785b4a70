"""The database behind the store: an SQLite file in the data folder, or a PostgreSQL server.

``MJSTUDIO_DATABASE_URL=postgresql://...`` puts a team's history on PostgreSQL (psycopg 3);
without it the store is ``<data_dir>/history.sqlite3``. Both are reached through one SQLAlchemy
engine and the same statements; the few places where the two engines speak differently (JSON
paths, prompt search, planner hints) are the :class:`Dialect` fragments below, chosen once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import TextClause, text
from sqlalchemy.engine import make_url

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def engine_url(url: str) -> str:
    """A database URL in SQLAlchemy's form: ``postgresql://`` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != POSTGRESQL:
        raise ValueError("MJSTUDIO_DATABASE_URL must be a postgresql:// URL")
    return parsed.render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    """The URL without its password (for logs and the health route)."""
    return make_url(url).render_as_string(hide_password=True)


@lru_cache(maxsize=512)
def sql(statement: str) -> TextClause:
    """The statement as SQLAlchemy text, made once per distinct statement."""
    return text(statement)


@dataclass(frozen=True)
class Dialect:
    """What differs between the two engines, as SQL fragments."""

    name: str
    speed: str  # a task's speed, out of its stored request ('' when none)
    count_hint: str  # a count by prompt starts from the search index, not the workspace's rows
    no_limit: str  # a LIMIT clause that limits nothing (for an OFFSET alone)

    @property
    def is_sqlite(self) -> bool:
        return self.name == SQLITE


DIALECTS = {
    SQLITE: Dialect(
        SQLITE,
        speed="coalesce(json_extract(request, '$.input.speed'), '')",
        count_hint="+workspace = :workspace",  # unary plus: SQLite does not use that index
        no_limit="LIMIT -1",
    ),
    POSTGRESQL: Dialect(
        POSTGRESQL,
        speed="coalesce(CAST(request AS jsonb) #>> '{input,speed}', '')",
        count_hint="workspace = :workspace",
        no_limit="LIMIT ALL",
    ),
}
