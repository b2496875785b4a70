"""A throwaway PostgreSQL server for the tests: one implementation for pytest and for ``.ci/run``.

:func:`start` finds Debian's PostgreSQL (``/usr/lib/postgresql/<version>/bin``), installs it with
apt-get when it is missing and this runs as root, makes a cluster with ``initdb`` in a new
temporary folder and starts it on a free port of 127.0.0.1 only (trust authentication, from
loopback only; its Unix socket inside that folder). The server refuses to run as root, so as
root every server command runs as Debian's ``postgres`` system user (created when missing);
otherwise as the current user. The cluster has a role and a database for the tests, both named
``mjstudio``; the role may create databases (and is no superuser). :func:`stop` stops the server
and removes the folder. :func:`fresh_database` gives one test a database of its own.

The module needs nothing outside the standard library to start and stop a server (psycopg only
for :func:`fresh_database`). From the shell::

    python -m tests.pg start        # prints `export MJSTUDIO_TEST_DATABASE_URL=...` and the folder
    python -m tests.pg stop FOLDER  # stops that cluster and removes its folder
    python -m tests.pg install      # installs Debian's postgresql when missing (as root)
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

URL_ENV = "MJSTUDIO_TEST_DATABASE_URL"
DIR_ENV = "MJSTUDIO_TEST_PG_DIR"
SEARCH = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"  # Debian's system user for PostgreSQL
ROLE = "mjstudio"
DATABASE = "mjstudio"
HOST = "127.0.0.1"
FOLDER_PREFIX = "mjstudio-pg-"
# Debian's package would make (and, without policy-rc.d, start) a system-wide cluster; not wanted.
NO_MAIN_CLUSTER = Path("/etc/postgresql-common/createcluster.d/mjstudio-tests.conf")
INSTALL_TIMEOUT_S = 900
INIT_TIMEOUT_S = 120
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
LOG_TAIL_CHARS = 4000
START_TRIES = 3  # a free port may be taken between its choice and the server's bind
SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
SETTINGS = """
# Set by tests/pg.py: a throwaway cluster for the tests, on loopback only.
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{root}'
fsync = off
synchronous_commit = off
full_page_writes = off
"""
HBA = """# Set by tests/pg.py: trust, from the cluster's own socket and from 127.0.0.1 only.
local all all trust
host all all {host}/32 trust
"""


class PostgresError(RuntimeError):
    """PostgreSQL could not be installed, started or stopped; the message says why."""


class PortTaken(PostgresError):
    """The server could not bind its port (someone else took it first)."""


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster: its folder, PostgreSQL's bin folder and its port."""

    root: Path
    bin: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """The test role's database, as a libpq URL (see :func:`sqlalchemy_url`)."""
        return f"postgresql://{ROLE}@{HOST}:{self.port}/{DATABASE}"

    def pid(self) -> int:
        """The server's process id, from ``postmaster.pid``."""
        return int((self.data / "postmaster.pid").read_text().split()[0])


# --------------------------------------------------------------------------- installation


def find_bin(search: Path = SEARCH) -> Path | None:
    """The bin folder of the newest PostgreSQL under ``search`` that has ``initdb``, or None."""
    found = [initdb.parent for initdb in search.glob("*/bin/initdb")]
    return max(found, key=lambda b: _version(b.parent.name), default=None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (-1,)


def install() -> Path:
    """Install Debian's ``postgresql`` package (as root only) and return its bin folder."""
    if os.geteuid() != 0:
        raise PostgresError(
            f"PostgreSQL is not installed (no {SEARCH}/*/bin/initdb) and only root can install "
            "it here: run `sudo apt-get install -y postgresql`"
        )
    NO_MAIN_CLUSTER.parent.mkdir(parents=True, exist_ok=True)
    NO_MAIN_CLUSTER.write_text("create_main_cluster = false\n")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], timeout=INSTALL_TIMEOUT_S, env=env)
    _run(["apt-get", "install", "-y", "-qq", "postgresql"], timeout=INSTALL_TIMEOUT_S, env=env)
    found = find_bin()
    if found is None:
        raise PostgresError(f"apt-get installed postgresql but {SEARCH}/*/bin/initdb is missing")
    return found


def ensure_installed() -> Path:
    """PostgreSQL's bin folder, installing the package first when it is missing."""
    return find_bin() or install()


def _ensure_server_user() -> None:
    """As root, make sure the ``postgres`` system user exists (Debian's package makes it)."""
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        _run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
             "/var/lib/postgresql", "--shell", "/usr/sbin/nologin", SERVER_USER],
            timeout=INIT_TIMEOUT_S,
        )  # fmt: skip


# --------------------------------------------------------------------------- commands


def server_command(command: Sequence[str], euid: int) -> list[str]:
    """``command`` as the server must run it: as ``postgres`` for root, else as is."""
    if euid != 0:
        return list(command)
    if shutil.which("runuser"):
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(command)]


def _run(
    command: Sequence[str], *, timeout: float, cwd: Path | None = None, env: dict | None = None
) -> str:
    """Run ``command`` to its end within ``timeout`` s; its output, or PostgresError saying why."""
    name = Path(command[0]).name if command[0] not in ("runuser", "su") else shlex.join(command)
    try:
        done = subprocess.run(
            list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise PostgresError(f"{name} did not finish within {timeout:g} s") from exc
    except OSError as exc:
        raise PostgresError(f"{name} could not run: {exc}") from exc
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise PostgresError(f"{name} failed (exit {done.returncode}): {output[-LOG_TAIL_CHARS:]}")
    return output


def _as_server(cluster: Cluster, tool: str, *args: str, timeout: float) -> str:
    """Run PostgreSQL's ``tool`` with ``args`` as the server's user, in the cluster's folder."""
    command = server_command([str(cluster.bin / tool), *args], os.geteuid())
    env = {**os.environ, "LC_ALL": "C.UTF-8"}  # English messages in the log
    return _run(command, timeout=timeout, cwd=cluster.root, env=env)


# --------------------------------------------------------------------------- start and stop


def free_port(host: str = HOST) -> int:
    """A TCP port of ``host`` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _make_folder() -> Path:
    """A new temporary folder (0700) owned by the server's user."""
    root = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    return root


def _init(cluster: Cluster) -> None:
    """Make the cluster with initdb, then confine it to loopback."""
    _as_server(
        cluster, "initdb", "-D", str(cluster.data), "-U", SERVER_USER, "-A", "trust",
        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        timeout=INIT_TIMEOUT_S,
    )  # fmt: skip
    settings = SETTINGS.format(host=HOST, port=cluster.port, root=cluster.root)
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write(settings)
    (cluster.data / "pg_hba.conf").write_text(HBA.format(host=HOST))


def _start_server(cluster: Cluster) -> None:
    """Start the server and wait (bounded) until it accepts connections."""
    try:
        _as_server(
            cluster, "pg_ctl", "-D", str(cluster.data), "-l", str(cluster.log),
            "-w", "-t", str(START_TIMEOUT_S), "-s", "start",
            timeout=START_TIMEOUT_S + 10,
        )  # fmt: skip
    except PostgresError as exc:
        log = _tail(cluster.log)
        kind = PortTaken if "Address already in use" in log else PostgresError
        raise kind(f"PostgreSQL did not start on {HOST}:{cluster.port}: {exc}\n{log}") from exc


def _create_role(cluster: Cluster) -> None:
    """The tests' role (may create databases) and its database."""
    _run(
        [str(cluster.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-h", HOST, "-p", str(cluster.port), "-U", SERVER_USER, "-d", "postgres",
         "-c", f"CREATE ROLE {ROLE} LOGIN CREATEDB",
         "-c", f"CREATE DATABASE {DATABASE} OWNER {ROLE}"],
        timeout=START_TIMEOUT_S,
    )  # fmt: skip


def _tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no server log at {path})"
    return f"--- last lines of {path.name} ---\n{text[-LOG_TAIL_CHARS:]}"


def start(port: int | None = None) -> Cluster:
    """Install PostgreSQL when missing, start a throwaway cluster and return it.

    Without ``port`` the cluster takes a free one (and another when that one is taken before
    the server binds it). On failure nothing is left behind and PostgresError says why, with the
    tail of the server's log.
    """
    bin_dir = ensure_installed()
    _ensure_server_user()
    tries = 1 if port is not None else START_TRIES
    for attempt in range(1, tries + 1):
        try:
            return _start_once(bin_dir, port or free_port())
        except PortTaken:
            if attempt == tries:
                raise
    raise PostgresError("no tries left")  # not reached: the last try returns or raises


def _start_once(bin_dir: Path, port: int) -> Cluster:
    """Make and start a cluster on ``port``; on failure stop it and remove its folder."""
    cluster = Cluster(_make_folder(), bin_dir, port)
    try:
        _init(cluster)
        _start_server(cluster)
        _create_role(cluster)
    except BaseException:
        stop(cluster.root)
        raise
    return cluster


def _bin_for(data: Path) -> Path:
    """The bin folder of the PostgreSQL version that made ``data``."""
    version = (data / "PG_VERSION").read_text().strip()
    candidate = SEARCH / version / "bin"
    return candidate if (candidate / "pg_ctl").exists() else ensure_installed()


def stop(root: Path) -> None:
    """Stop the cluster in ``root`` (if it runs) and remove the folder."""
    root = Path(root)
    if not root.name.startswith(FOLDER_PREFIX):
        raise PostgresError(f"not a folder of tests/pg.py ({FOLDER_PREFIX}*): {root}")
    data = root / "data"
    if (data / "postmaster.pid").exists():
        cluster = Cluster(root, _bin_for(data), 0)
        try:
            _as_server(cluster, "pg_ctl", "-D", str(data), "status", timeout=STOP_TIMEOUT_S)
        except PostgresError:
            pass  # not running (a stale pid file)
        else:
            _stop_server(cluster)
    shutil.rmtree(root, ignore_errors=True)


def _stop_server(cluster: Cluster) -> None:
    """Stop the server: fast shutdown, or immediate when that does not finish in time."""
    args = ("-D", str(cluster.data), "-w", "-t", str(STOP_TIMEOUT_S), "-s", "stop", "-m")
    try:
        _as_server(cluster, "pg_ctl", *args, "fast", timeout=STOP_TIMEOUT_S + 10)
    except PostgresError:
        _as_server(cluster, "pg_ctl", *args, "immediate", timeout=STOP_TIMEOUT_S + 10)


# --------------------------------------------------------------------------- URLs and databases


def _with_scheme(url: str, scheme: str, database: str | None) -> str:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise PostgresError(f"not a PostgreSQL URL (postgresql://user@host:port/db): {url!r}")
    path = parts.path if database is None else f"/{database}"
    return urlunsplit(parts._replace(scheme=scheme, path=path))


def sqlalchemy_url(url: str, database: str | None = None) -> str:
    """``url`` as SQLAlchemy's psycopg 3 URL (``postgresql+psycopg://``), maybe another database."""
    return _with_scheme(url, "postgresql+psycopg", database)


def libpq_url(url: str, database: str | None = None) -> str:
    """``url`` as libpq (and so psycopg) takes it (``postgresql://``), maybe another database."""
    return _with_scheme(url, "postgresql", database)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, uniquely named database on ``server_url``'s server (SQLAlchemy URL), then dropped.

    The drop terminates connections left open to it (``WITH (FORCE)``).
    """
    import psycopg  # here, so that starting a server needs only the standard library
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=30) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield sqlalchemy_url(server_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=30) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.pg", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", help="start a cluster; print its shell variables")
    stopping = commands.add_parser("stop", help="stop a cluster and remove its folder")
    stopping.add_argument("folder", type=Path)
    commands.add_parser("install", help="install Debian's postgresql when missing (as root)")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            cluster = start()
            print(f"export {URL_ENV}={shlex.quote(cluster.url)}")
            print(f"export {DIR_ENV}={shlex.quote(str(cluster.root))}")
        elif args.command == "stop":
            stop(args.folder)
        else:
            print(ensure_installed())
    except PostgresError as exc:
        print(f"tests.pg {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
