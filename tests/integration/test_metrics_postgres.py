"""Pool gauges of a real asyncpg engine against the PostgreSQL on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from dependency_injector import containers, providers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service_pkg import Application, Component
from service_pkg.app import Runtime
from service_pkg.metrics import METRICS_PRIORITY, KitMetrics, metrics, pool_metrics

pytestmark = pytest.mark.integration


@pytest.fixture(name="engine")
async def _engine(postgres_address: tuple[str, int]) -> AsyncIterator[AsyncEngine]:
    host, port = postgres_address
    engine = create_async_engine(
        f"postgresql+asyncpg://postgres@{host}:{port}/postgres", pool_size=2, max_overflow=3
    )
    yield engine
    await engine.dispose()


async def test_pool_gauges_follow_real_connections(engine: AsyncEngine) -> None:
    """Three held connections on a pool of two: 3 checked out, overflow 1; released: 0."""

    class C(containers.DeclarativeContainer):
        runtime = providers.Dependency(instance_of=Runtime)
        metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
        db = providers.Object(engine)
        db_pool = Component(pool_metrics, metrics, db, name="db")

    container = C()
    async with Application(container, install_signals=False):
        kit = container.metrics()
        assert isinstance(kit, KitMetrics)
        held = [await engine.connect() for _ in range(3)]
        for conn in held:
            assert (await conn.execute(text("select 1"))).scalar() == 1
        read = kit.registry.get_sample_value
        assert read("service_pkg_pool_checked_out", {"pool": "db"}) == 3
        assert read("service_pkg_pool_overflow", {"pool": "db"}) == 1
        assert read("service_pkg_pool_size", {"pool": "db"}) == 2
        for conn in held:
            await conn.close()
        assert read("service_pkg_pool_checked_out", {"pool": "db"}) == 0
        assert read("service_pkg_pool_idle", {"pool": "db"}) == 2
