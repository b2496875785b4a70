"""Fixtures for the whole suite: a real PostgreSQL server, and a fresh database in it per test.

``postgres_url`` is the server given by ``MJSTUDIO_TEST_DATABASE_URL`` (``.ci/run`` starts one
and sets it), or else a throwaway cluster that tests/pg.py starts for the session (installing
Debian's PostgreSQL first when it is missing) and stops at its end. Both fixtures give
SQLAlchemy URLs (``postgresql+psycopg://mjstudio@127.0.0.1:PORT/DB``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import pg


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The test server's own database (role ``mjstudio``, which may create databases)."""
    given = os.environ.get(pg.URL_ENV)
    if given:
        yield pg.sqlalchemy_url(given)
        return
    cluster = pg.start()
    try:
        yield pg.sqlalchemy_url(cluster.url)
    finally:
        pg.stop(cluster.root)


@pytest.fixture
def pg_database_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database for one test, dropped after it (open connections and all)."""
    with pg.fresh_database(postgres_url) as url:
        yield url
