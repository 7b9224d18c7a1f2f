"""A private PostgreSQL 15 for tests that need password authentication or stop the server.

The shared PostgreSQL on 127.0.0.1:5432 trusts every local connection (it accepts any
password) and must never be stopped. :class:`PostgresServer` creates its own cluster with
``initdb`` in a temporary directory, with ``scram-sha-256`` authentication for every TCP
connection, and runs it with ``pg_ctl`` on a free loopback port. Only this cluster is ever
stopped; the fixture always removes it. When the tests run as root, the PostgreSQL tools run
as the ``postgres`` user (``initdb`` refuses root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration.redis_server import free_port

__all__ = ("BIN", "PostgresServer", "postgres_server_fixture")

HOST = "127.0.0.1"
BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER_PASSWORD = "super-secret"  # noqa: S105 - a throwaway test cluster's password


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PostgresServer:
    """A throwaway cluster: ``start()``, ``stop()``, ``psql(sql)``, ``url(...)``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="service-pkg-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        password_file = self.root / "pw"
        password_file.write_text(SUPERUSER_PASSWORD)
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres", "postgres")
        self._run(
            str(BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "--no-sync",
        )

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            [*_as_postgres(), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            env={**os.environ, "PGPASSWORD": SUPERUSER_PASSWORD},
            timeout=60,
        )
        if result.returncode:
            raise RuntimeError(f"{args[0]} failed: {result.stderr or result.stdout}")
        return result.stdout

    def start(self) -> None:
        """Start (or restart) the cluster on its port; returns once it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c fsync=off"
        self._run(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop the cluster (fast mode: open sessions are ended)."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def psql(self, sql: str) -> str:
        """Run ``sql`` as the superuser over TCP (password authentication) and return stdout."""
        return self._run(
            str(BIN / "psql"),
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            sql,
        )

    def url(
        self, user: str = "postgres", password: str = SUPERUSER_PASSWORD, database: str = "postgres"
    ) -> str:
        """A ``postgresql+asyncpg://`` URL with the user-info percent-encoded."""
        return (
            f"postgresql+asyncpg://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{HOST}:{self.port}/{database}"
        )

    def remove(self) -> None:
        """Stop the cluster if it runs and delete its directory."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(name="postgres_server", scope="module")
def postgres_server_fixture() -> Iterator[PostgresServer]:
    """A running private cluster with scram-sha-256 authentication, removed afterwards."""
    if not (BIN / "initdb").exists():
        message = f"PostgreSQL binaries not found in {BIN} (set PG_BIN)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()
