"""The tests' PostgreSQL server (tests/pg.py and the fixtures of tests/conftest.py)."""

from __future__ import annotations

import os
import pwd
import shlex
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests import pg

ROOT = Path(__file__).resolve().parents[1]
NOBODY = pwd.getpwnam("nobody")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(f"{pg.FOLDER_PREFIX}*"))


def _select_one(libpq_url: str) -> int:
    with psycopg.connect(libpq_url, connect_timeout=30) as conn:
        return conn.execute("SELECT 1").fetchone()[0]


def _as_plain_user(func: Callable[[], str]) -> str:
    """``func()`` as a user other than root: as ``nobody`` in a forked child when this is root.

    Returns its result, or the name and message of the exception it raised.
    """
    if os.geteuid() != 0:
        try:
            return func()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        result = "child failed"
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            result = func()
        except BaseException as exc:
            result = f"{type(exc).__name__}: {exc}"
        finally:
            os.write(write, result.encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    os.waitpid(pid, 0)
    return out


# --------------------------------------------------------------------------- the fixtures


def test_a_fresh_database_is_empty_and_usable(pg_database_url: str) -> None:
    assert pg_database_url.startswith("postgresql+psycopg://mjstudio@127.0.0.1:")
    engine = sa.create_engine(pg_database_url)
    try:
        with engine.begin() as conn:
            tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            assert conn.execute(sa.text(tables)).scalar_one() == 0
            conn.execute(sa.text("CREATE TABLE notes (id integer PRIMARY KEY, body text)"))
            conn.execute(sa.text("INSERT INTO notes VALUES (1, 'a castle at dawn')"))
        with engine.connect() as conn:
            body = conn.execute(sa.text("SELECT body FROM notes")).scalar_one()
            assert body == "a castle at dawn"
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        assert pg_database_url.endswith(f"/{name}") and name.startswith("test_")
    finally:
        engine.dispose()


@pytest.mark.parametrize("run", ["first", "second"])
def test_tests_do_not_see_each_others_tables(pg_database_url: str, run: str) -> None:
    """Both runs create the same table: the second would fail if it saw the first's."""
    with psycopg.connect(pg.libpq_url(pg_database_url), autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('public.left_behind')").fetchone()[0]
        assert found is None
        conn.execute("CREATE TABLE left_behind (run text)")
        conn.execute("INSERT INTO left_behind VALUES (%s)", (run,))


def test_a_fresh_database_is_dropped_with_its_connections_left_open(postgres_url: str) -> None:
    with pg.fresh_database(postgres_url) as url:
        name = url.rsplit("/", 1)[1]
        left_open = psycopg.connect(pg.libpq_url(url), autocommit=True)
        left_open.execute("CREATE TABLE t (x integer)")
    try:
        with psycopg.connect(pg.libpq_url(postgres_url), autocommit=True) as conn:
            rows = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            assert rows.fetchone() is None
        with pytest.raises(psycopg.OperationalError):
            left_open.execute("SELECT 1")
    finally:
        left_open.close()


def test_the_server_listens_on_loopback_only(postgres_url: str) -> None:
    with psycopg.connect(pg.libpq_url(postgres_url)) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert str(conn.execute("SELECT inet_server_addr()").fetchone()[0]) == "127.0.0.1"


def test_the_test_role_creates_databases_but_is_no_superuser(postgres_url: str) -> None:
    with psycopg.connect(pg.libpq_url(postgres_url)) as conn:
        row = conn.execute(
            "SELECT rolname, rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == ("mjstudio", False, True)


def test_pg_trgm_is_created_and_searches_prompts(pg_database_url: str) -> None:
    """pg_trgm is a trusted extension: a database's owner creates it without being superuser."""
    with psycopg.connect(pg.libpq_url(pg_database_url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("CREATE TABLE prompts (id serial PRIMARY KEY, prompt text NOT NULL)")
        conn.execute("CREATE INDEX prompts_trgm ON prompts USING gin (prompt gin_trgm_ops)")
        for prompt in ("a castle on a hill at dawn", "portrait of a cat", "crème brûlée"):
            conn.execute("INSERT INTO prompts (prompt) VALUES (%s)", (prompt,))
        found = conn.execute("SELECT prompt FROM prompts WHERE prompt % 'castel on a hil'")
        assert [row[0] for row in found] == ["a castle on a hill at dawn"]
        # Letters beyond ASCII are word characters (the cluster's ctype is C.UTF-8, not C).
        assert conn.execute("SELECT cardinality(show_trgm('ûûû'))").fetchone()[0] > 0


# --------------------------------------------------------------------------- tests/pg.py


def test_start_and_stop_leave_nothing_behind() -> None:
    cluster = pg.start()
    pid = cluster.pid()
    try:
        assert _alive(pid)
        assert _select_one(cluster.url) == 1
        assert "listen_addresses = '127.0.0.1'" in (cluster.data / "postgresql.conf").read_text()
    finally:
        pg.stop(cluster.root)
    assert not cluster.root.exists()
    assert not _alive(pid)
    with pytest.raises(psycopg.OperationalError):
        _select_one(cluster.url)


def test_a_start_on_a_taken_port_fails_with_the_server_log() -> None:
    before = _folders()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(pg.PortTaken) as failure:
            pg.start(port=port)
    assert f"127.0.0.1:{port}" in str(failure.value)
    assert "last lines of server.log" in str(failure.value)
    assert "Address already in use" in str(failure.value)
    assert _folders() <= before


def test_the_command_line_starts_and_stops_a_cluster() -> None:
    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tests.pg", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        return done.stdout

    words = shlex.split(run("start"))  # export NAME=VALUE, one a line
    assigned = dict(word.split("=", 1) for word in words if word != "export")
    assert set(assigned) == {pg.URL_ENV, pg.DIR_ENV}
    folder = Path(assigned[pg.DIR_ENV])
    try:
        assert _select_one(assigned[pg.URL_ENV]) == 1
    finally:
        run("stop", str(folder))
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        _select_one(assigned[pg.URL_ENV])


def test_a_plain_user_runs_the_server_as_itself() -> None:
    def start_and_stop() -> str:
        cluster = pg.start()
        try:
            owner = cluster.data.stat().st_uid
            answer = _select_one(cluster.url)
        finally:
            pg.stop(cluster.root)
        return f"{owner == os.getuid()} {answer} {cluster.root.exists()}"

    assert _as_plain_user(start_and_stop) == "True 1 False"


def test_only_root_installs_postgresql() -> None:
    result = _as_plain_user(lambda: str(pg.install()))
    assert result.startswith("PostgresError: PostgreSQL is not installed")
    assert "sudo apt-get install -y postgresql" in result


def test_server_commands_run_as_postgres_for_root_only() -> None:
    assert pg.server_command(["initdb", "-D", "d"], euid=1000) == ["initdb", "-D", "d"]
    as_root = pg.server_command(["initdb", "-D", "d"], euid=0)
    assert as_root in (
        ["runuser", "-u", "postgres", "--", "initdb", "-D", "d"],
        ["su", "postgres", "-s", "/bin/sh", "-c", "initdb -D d"],
    )


def test_the_newest_postgresql_is_found(tmp_path: Path) -> None:
    assert pg.find_bin(tmp_path) is None
    for version in ("9.6", "13", "15", "16"):
        (tmp_path / version / "bin").mkdir(parents=True)
        if version != "16":  # a client-only install has no initdb
            (tmp_path / version / "bin" / "initdb").touch()
    assert pg.find_bin(tmp_path) == tmp_path / "15" / "bin"


def test_urls_take_each_clients_scheme_and_another_database() -> None:
    url = "postgresql://mjstudio@127.0.0.1:5433/mjstudio"
    assert pg.sqlalchemy_url(url) == "postgresql+psycopg://mjstudio@127.0.0.1:5433/mjstudio"
    assert pg.sqlalchemy_url(url, "t1") == "postgresql+psycopg://mjstudio@127.0.0.1:5433/t1"
    assert pg.libpq_url("postgresql+psycopg://u:p@h:1/d", "e") == "postgresql://u:p@h:1/e"
    with pytest.raises(pg.PostgresError, match="not a PostgreSQL URL"):
        pg.sqlalchemy_url("sqlite:///tasks.db")


def test_stop_removes_only_folders_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(pg.PostgresError, match="not a folder of tests/pg.py"):
        pg.stop(tmp_path)
    assert tmp_path.exists()
