"""Fixtures of the example's tests: settings for the embedded mode, and the real servers.

The real-mode fixtures create what they use and remove it afterwards: a PostgreSQL database
and a ClickHouse database per test, a unique election name and Redis key prefix. A server
that does not answer skips the test, except when ``CI`` is set: then it fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from clickhouse_driver import Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from example_service.settings import Settings, load_settings

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
CLICKHOUSE = ("127.0.0.1", 9000)


def require(name: str, address: tuple[str, int]) -> None:
    """Skip unless ``address`` accepts a connection; fail instead when CI is set."""
    try:
        with socket.create_connection(address, timeout=3):
            return
    except OSError as error:
        reason = f"{name} is unreachable at {address[0]}:{address[1]} ({error})"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} [CI is set: an unreachable server is a failure]", pytrace=False)
    pytest.skip(reason)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def embedded(tmp_path: Path) -> Settings:
    """Embedded mode on a fresh SQLite file, any free ports, a fast rollup."""
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'links.db'}",
        http_port=0,
        grpc_port=0,
        rollup_interval=0.05,
        drain_delay=0,
    )


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for this test; dropped afterwards."""
    require("PostgreSQL", POSTGRES)
    name = unique("links")
    server = f"postgres@{POSTGRES[0]}:{POSTGRES[1]}"
    admin = create_async_engine(
        f"postgresql+asyncpg://{server}/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql://{server}/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def clickhouse_url() -> Iterator[str]:
    """A new ClickHouse database for this test; dropped afterwards."""
    require("ClickHouse", CLICKHOUSE)
    name = unique("links")
    client = Client(*CLICKHOUSE)
    try:
        client.execute(f"CREATE DATABASE {name}")
        yield f"clickhouse://default@{CLICKHOUSE[0]}:{CLICKHOUSE[1]}/{name}"
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {name}")
        client.disconnect()


@pytest.fixture
def redis_url() -> str:
    require("Redis", REDIS)
    return f"redis://{REDIS[0]}:{REDIS[1]}/0"


@pytest.fixture
def election_name() -> str:
    """A name no other test (or replica of another run) competes for."""
    return unique("links-rollup")
