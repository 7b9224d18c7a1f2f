"""The PostgreSQL component against the machine's real PostgreSQL (and an embedded SQLite)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from dependency_injector import containers, providers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service_pkg import Application, Component, StartError
from service_pkg.exceptions import BrokenResourceError
from service_pkg.health import HealthStatus
from service_pkg.postgres import (
    PostgresConfig,
    create_engine,
    pool_stats,
    postgres_engine,
    postgres_sessions,
)
from tests.integration.conftest import Address
from tests.integration.redis_server import free_port

pytestmark = pytest.mark.integration

START_BOUND = 20.0
"""Generous seconds a failing start may take (retries included) on a loaded machine."""


def shared(address: Address, **kwargs: object) -> PostgresConfig:
    host, port = address
    kwargs.setdefault("database", "postgres")
    return PostgresConfig(host=host, port=port, user="postgres", **kwargs)  # type: ignore[arg-type]


class Container(containers.DeclarativeContainer):
    config = providers.Dependency(instance_of=PostgresConfig)
    db = Component(postgres_engine, config)
    sessions = providers.Singleton(postgres_sessions, db)


def app_for(config: PostgresConfig) -> tuple[Application, Container]:
    container = Container(config=providers.Object(config))
    return Application(container, install_signals=False, health_max_age=0), container


async def test_application_name_is_visible_in_pg_stat_activity(postgres_address: Address) -> None:
    name = f"kit-{uuid.uuid4().hex[:8]}"
    app, container = app_for(shared(postgres_address, application_name=name))
    async with app:
        engine = container.db()
        async with engine.connect() as conn:
            seen = await conn.scalar(
                text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            )
    assert seen == name


async def test_stop_disposes_the_engine_and_closes_its_connections(
    postgres_address: Address,
) -> None:
    name = f"kit-{uuid.uuid4().hex[:8]}"
    app, container = app_for(shared(postgres_address, application_name=name))
    async with app:
        engine: AsyncEngine = container.db()
        assert pool_stats(engine).checked_in == 1  # the start's SELECT 1 left one open
    probe = create_engine(shared(postgres_address, application_name="kit-probe"))
    try:
        async with probe.connect() as conn:
            left = await conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": name},
            )
    finally:
        await probe.dispose()
    assert left == 0


async def test_health_entry_is_ok_while_the_server_answers(postgres_address: Address) -> None:
    app, _container = app_for(shared(postgres_address))
    async with app:
        report = await app.health()
    assert (report["db"].status, report.ready) == (HealthStatus.OK, True)


async def test_sessions_come_from_their_own_provider(postgres_address: Address) -> None:
    app, container = app_for(shared(postgres_address))
    async with app:
        sessions = container.sessions()
        assert isinstance(sessions, async_sessionmaker)
        async with sessions() as session:
            assert isinstance(session, AsyncSession)
            assert await session.scalar(text("SELECT 41 + 1")) == 42


async def test_missing_database_is_a_clear_start_error(postgres_address: Address) -> None:
    app, _container = app_for(shared(postgres_address, database="no_such_database_kit"))
    started = time.monotonic()
    with pytest.raises(StartError) as caught:
        await app.start()
    assert time.monotonic() - started < START_BOUND
    assert "the database does not exist" in str(caught.value)
    assert isinstance(caught.value.__cause__, BrokenResourceError)


async def test_server_down_at_start_is_a_clear_start_error() -> None:
    port = free_port()
    config = PostgresConfig(host="127.0.0.1", port=port, connect_timeout=1, start_backoff=0.1)
    app, _container = app_for(config)
    started = time.monotonic()
    with pytest.raises(StartError) as caught:
        await app.start()
    assert time.monotonic() - started < START_BOUND
    message = str(caught.value)
    assert f"cannot connect to postgresql+asyncpg://postgres@127.0.0.1:{port}" in message
    assert "after 3 attempts" in message


async def test_pool_limits_hold_under_a_burst_of_three_times_the_pool(
    postgres_address: Address,
) -> None:
    name = f"kit-{uuid.uuid4().hex[:8]}"
    config = shared(postgres_address, application_name=name, pool_size=2, max_overflow=1)
    app, container = app_for(config)
    query = text(
        "SELECT count(*) FROM pg_stat_activity, pg_sleep(0.05) WHERE application_name = :n"
    )
    async with app:
        engine: AsyncEngine = container.db()

        async def one() -> int:
            async with engine.connect() as conn:
                return int(await conn.scalar(query, {"n": name}) or 0)

        seen = await asyncio.gather(*(one() for _ in range(3 * config.pool_size)))
        stats = pool_stats(engine)
    assert max(seen) <= config.pool_size + config.max_overflow
    assert (stats.checked_out, stats.checked_in) == (0, config.pool_size)


async def test_an_engine_given_from_outside_is_never_disposed(postgres_address: Address) -> None:
    engine = create_engine(shared(postgres_address))

    class Container(containers.DeclarativeContainer):
        db = Component(postgres_engine, engine=providers.Object(engine))

    try:
        async with Application(Container(), install_signals=False):
            pass
        async with engine.connect() as conn:  # still usable: the kit did not dispose it
            assert await conn.scalar(text("SELECT 1")) == 1
        assert pool_stats(engine).checked_in == 1
    finally:
        await engine.dispose()


async def test_sqlite_url_runs_embedded_with_foreign_keys_on() -> None:
    app, container = app_for(PostgresConfig(url="sqlite+aiosqlite:///:memory:"))
    async with app:
        engine: AsyncEngine = container.db()
        async with engine.connect() as conn:
            enabled = await conn.scalar(text("PRAGMA foreign_keys"))
        report = await app.health()
    assert (enabled, report["db"].status) == (1, HealthStatus.OK)


async def test_sqlite_file_url_gets_a_sized_pool(tmp_path: object) -> None:
    app, container = app_for(
        PostgresConfig(url=f"sqlite+aiosqlite:///{tmp_path}/kit.db", pool_size=2)
    )
    async with app:
        assert pool_stats(container.db()).size == 2
