"""A real PostgreSQL server for the tests, started and stopped by the tests themselves.

``initdb`` makes a cluster in a temporary folder and ``pg_ctl`` starts it on a free loopback
port, its unix socket in that folder. PostgreSQL refuses to run as root, so when the tests run
as root (here and in CI) the server runs as the ``postgres`` system user that Debian's package
creates, and the folder is handed to it. The superuser ``postgres`` connects through the socket
without a password; every TCP connection needs one (scram-sha-256), so the tests see password
handling as a real server does it.

One server serves every test file of a worker (the ``postgres_server`` session fixture); each
test gets a database of its own (``postgres_database``). Tests that need the server are marked
``postgres``; they skip, saying why, only when no ``initdb`` can be found.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "superuser-secret"
RUN_AS = "postgres"  # the system user the server runs as when the tests run as root
INSTALL_HINT = "apt-get install postgresql"


def find_bin_dir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest
    /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    folder: Path  # data/, the socket, the log
    port: int
    as_user: str | None  # the system user the server runs as (None: this process's)

    @property
    def socket_dir(self) -> Path:
        return self.folder

    def url(self, database: str, *, user: str = SUPERUSER, password: str | None = None) -> str:
        """An SQLAlchemy URL of ``database`` over TCP (a password is needed there)."""
        secret = f":{password}" if password is not None else ""
        return f"postgresql+psycopg://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", *, autocommit: bool = True):
        """A psycopg connection as the superuser, through the unix socket."""
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=database, autocommit=autocommit
        )

    def execute(self, sql: str, params: tuple = (), *, database: str = "postgres") -> list[tuple]:
        """Run one statement as the superuser; the rows it returns (none for a command)."""
        with self.connect(database) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, prefix: str = "test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.as_user, "--", *args] if self.as_user else list(args)

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self._command(str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), *args),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _run(server: PostgresServer, *args: str) -> None:
    result = subprocess.run(server._command(*args), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{server.log()}")


def start_server(bin_dir: Path) -> PostgresServer:
    """initdb and pg_ctl start in a new temporary folder (outside pytest's folders, which are
    private to root); the caller stops it with :func:`stop_server`."""
    as_user = RUN_AS if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="bankseg-postgres-"))
    if as_user:
        entry = pwd.getpwnam(as_user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bin_dir=bin_dir, folder=folder, port=0, as_user=as_user)
    password_file = folder / "superuser-password"
    password_file.write_text(SUPERUSER_PASSWORD + "\n")
    if as_user:
        os.chown(password_file, entry.pw_uid, entry.pw_gid)
    _run(
        server,
        str(bin_dir / "initdb"),
        "-D",
        str(folder / "data"),
        "-U",
        SUPERUSER,
        f"--pwfile={password_file}",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    )
    for _ in range(5):  # another process may take the free port before the server does
        server.port = free_port()
        options = (
            f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=40"
        )
        result = server.pg_ctl("-l", str(folder / "server.log"), "-o", options, "-w", "-t", "60", "start")
        if result.returncode == 0:
            return server
    stop_server(server)
    raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{server.log()}")


def stop_server(server: PostgresServer) -> None:
    server.pg_ctl("-m", "immediate", "stop")
    shutil.rmtree(server.folder, ignore_errors=True)


# A test module imports these two and asks for ``postgres_server`` and ``postgres_database``.
@pytest.fixture(scope="session", name="postgres_server")
def server_fixture() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the worker's session; skips when PostgreSQL is not installed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            f"PostgreSQL not installed: no initdb on PATH or in /usr/lib/postgresql/*/bin ({INSTALL_HINT})"
        )
    server = start_server(bin_dir)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(name="postgres_database")
def database_fixture(postgres_server: PostgresServer) -> str:
    """The name of a new, empty database of the session's server, for one test."""
    return postgres_server.create_database()
