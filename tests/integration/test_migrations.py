"""alembic up and down on the real PostgreSQL and on SQLite: the CLI and the in-service helper."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from dependency_injector import containers, providers
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from service_pkg import Application, Component, StartError
from service_pkg.migrations import (
    current_revision,
    downgrade,
    head_revision,
    schema_migrations,
    upgrade,
)
from service_pkg.postgres import PostgresConfig, create_engine, postgres_engine
from tests.integration.conftest import Address

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "alembic"
ALEMBIC = Path(sys.executable).with_name("alembic")
TABLES = {"links", "click_events", "link_counters", "rollup_state"}


@pytest.fixture(name="pg_database")
def _pg_database(postgres_address: Address) -> Iterator[str]:
    """A fresh database on the shared server, dropped afterwards; yields its URL."""
    host, port = postgres_address
    name = f"kit_mig_{uuid.uuid4().hex[:10]}"
    admin = ["psql", "-h", host, "-p", str(port), "-U", "postgres", "-d", "postgres", "-qc"]
    subprocess.run([*admin, f"CREATE DATABASE {name}"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@{host}:{port}/{name}"
    finally:
        subprocess.run(
            [*admin, f"DROP DATABASE {name} WITH (FORCE)"], check=True, capture_output=True
        )


@pytest.fixture(name="url", params=["postgresql", "sqlite"])
def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/kit.db"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture(name="engine")
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(PostgresConfig(url=url))
    yield engine
    await engine.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names) - {"alembic_version"}


def alembic_cli(url: str, *args: str) -> None:
    subprocess.run(
        [str(ALEMBIC), "-c", str(ROOT / "alembic.ini"), "-x", f"url={url}", *args],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        timeout=60,
    )


async def test_cli_upgrade_head_and_downgrade_base(url: str, engine: AsyncEngine) -> None:
    alembic_cli(url, "upgrade", "head")
    assert await tables(engine) == TABLES
    assert await current_revision(engine) == head_revision(SCRIPTS)
    alembic_cli(url, "downgrade", "base")
    assert await tables(engine) == set()
    assert await current_revision(engine) is None


async def test_helper_upgrades_and_downgrades_step_by_step(engine: AsyncEngine) -> None:
    await upgrade(engine, SCRIPTS, "0001")
    assert await tables(engine) == {"links", "click_events"}
    await upgrade(engine, SCRIPTS)
    assert await tables(engine) == TABLES
    await downgrade(engine, SCRIPTS, "0001")
    assert await tables(engine) == {"links", "click_events"}
    await downgrade(engine, SCRIPTS)
    assert await tables(engine) == set()


async def test_migrated_schema_enforces_the_foreign_keys(engine: AsyncEngine) -> None:
    await upgrade(engine, SCRIPTS)
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO click_events (code) VALUES ('nope')"))


async def test_rollup_fence_updates_only_with_a_newer_or_equal_epoch(engine: AsyncEngine) -> None:
    await upgrade(engine, SCRIPTS)
    fence = text(
        "UPDATE rollup_state SET last_event_id = :id, epoch = :e WHERE name = :n AND epoch <= :e"
    )
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO rollup_state (name, last_event_id, epoch) VALUES ('r', 0, 5)")
        )
        stale = await conn.execute(fence, {"id": 10, "e": 4, "n": "r"})
        fresh = await conn.execute(fence, {"id": 10, "e": 6, "n": "r"})
    assert (stale.rowcount, fresh.rowcount) == (0, 1)


def migrations_app(url: str, *, apply: bool) -> Application:
    class Container(containers.DeclarativeContainer):
        db = Component(postgres_engine, providers.Object(PostgresConfig(url=url)))
        schema = Component(schema_migrations, db, script_location=str(SCRIPTS), apply=apply)

    return Application(Container(), install_signals=False)


async def test_embedded_mode_applies_migrations_at_start(url: str, engine: AsyncEngine) -> None:
    async with migrations_app(url, apply=True):
        assert await tables(engine) == TABLES


async def test_production_mode_refuses_to_start_on_an_unmigrated_database(
    url: str, engine: AsyncEngine
) -> None:
    with pytest.raises(StartError, match="is at revision none, the code needs 0002"):
        await migrations_app(url, apply=False).start()
    assert await tables(engine) == set()


async def test_production_mode_starts_on_a_migrated_database(url: str, engine: AsyncEngine) -> None:
    await upgrade(engine, SCRIPTS)
    async with migrations_app(url, apply=False):
        assert await current_revision(engine) == "0002"
