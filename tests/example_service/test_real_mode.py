"""Real mode: PostgreSQL, the Redis election and ClickHouse on 127.0.0.1, each test on its own
database, ClickHouse database and election name."""

from __future__ import annotations

import pytest
from clickhouse_driver import Client
from service_pkg.exceptions import StartError
from service_pkg.leader import LockElection
from service_pkg.migrations import current_revision, downgrade, head_revision, upgrade
from service_pkg.postgres import PostgresConfig, open_postgres
from service_pkg.testing import eventually
from sqlalchemy import inspect

from example_service.components import EVENTS_TABLE, ClickAnalytics
from example_service.containers import MIGRATIONS, create_app
from example_service.settings import Settings, load_settings
from tests.example_service.conftest import CLICKHOUSE
from tests.example_service.flow import create_resolve_click_count

pytestmark = pytest.mark.integration

TABLES = {"links", "click_events", "link_counters", "rollup_state"}


def real_settings(
    postgres_url: str, redis_url: str, clickhouse_url: str | None, election_name: str
) -> Settings:
    return load_settings(
        database_url=postgres_url,
        redis_url=redis_url,
        clickhouse_url=clickhouse_url,
        election_name=election_name,
        lock_prefix=f"test:{election_name}:",
        leader_expiration=2,
        http_port=0,
        grpc_port=0,
        rollup_interval=0.05,
        analytics_flush_interval=0.05,
        drain_delay=0,
    )


def clickhouse(sql: str, database: str | None = None) -> list[tuple[object, ...]]:
    client = Client(*CLICKHOUSE, database=database or "default")
    try:
        return list(client.execute(sql))
    finally:
        client.disconnect()


async def table_names(url: str) -> set[str]:
    async with open_postgres(PostgresConfig(url=url)) as engine, engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_real_mode_end_to_end_with_migrations_up_and_down(
    postgres_url: str, redis_url: str, clickhouse_url: str, election_name: str
) -> None:
    """Migrate up, the same flow as embedded (Redis leader, events also in ClickHouse), down."""
    async with open_postgres(PostgresConfig(url=postgres_url)) as engine:
        await upgrade(engine, MIGRATIONS)
        assert await current_revision(engine) == head_revision(MIGRATIONS)
    assert await table_names(postgres_url) >= TABLES

    settings = real_settings(postgres_url, redis_url, clickhouse_url, election_name)
    assert not settings.apply_migrations  # production: the start only checks the revision
    app, container = create_app(settings, install_signals=False)
    async with app:
        election = container.election()
        assert isinstance(election, LockElection)
        await eventually(election.is_leader, timeout=10)
        code = await create_resolve_click_count(container.http().address, container.grpc().port)
        analytics = container.analytics()
        assert isinstance(analytics, ClickAnalytics)
        await eventually(lambda: analytics.inserted == 3, timeout=10)
        report = await app.health()
        assert {c.name for c in report.components if c.status == "ok"} >= {
            "db",
            "redis",
            "clickhouse",
            "election",
        }

    database = clickhouse_url.rsplit("/", 1)[1]
    query = f"SELECT code, count() FROM {EVENTS_TABLE} GROUP BY code"  # noqa: S608 - a constant
    rows = clickhouse(query, database)
    assert rows == [(code, 3)]

    async with open_postgres(PostgresConfig(url=postgres_url)) as engine:
        await downgrade(engine, MIGRATIONS)
        assert await current_revision(engine) is None
    assert not TABLES & await table_names(postgres_url)


async def test_real_mode_refuses_a_schema_that_is_not_migrated(
    postgres_url: str, redis_url: str, election_name: str
) -> None:
    """Without LINKS_MIGRATE the start fails, telling the operator to run the migrations."""
    app, _ = create_app(
        real_settings(postgres_url, redis_url, None, election_name), install_signals=False
    )
    with pytest.raises(StartError, match="alembic upgrade head"):
        await app.start()


async def test_clickhouse_down_never_changes_a_counter(
    postgres_url: str, redis_url: str, clickhouse_url: str, election_name: str
) -> None:
    """Analytics inserts fail (its table is dropped under it); the counters stay exact."""
    settings = real_settings(postgres_url, redis_url, clickhouse_url, election_name)
    app, container = create_app(
        settings.model_copy(update={"migrate": True}), install_signals=False
    )
    async with app:
        database = clickhouse_url.rsplit("/", 1)[1]
        clickhouse(f"DROP TABLE {database}.{EVENTS_TABLE}")
        await create_resolve_click_count(container.http().address, container.grpc().port)
        analytics = container.analytics()
        assert isinstance(analytics, ClickAnalytics)
        await eventually(lambda: analytics.failed == 3, timeout=10)
        assert analytics.inserted == 0
