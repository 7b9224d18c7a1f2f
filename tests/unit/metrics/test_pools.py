"""Pool gauges read at scrape time from SQLAlchemy's public pool API (aiosqlite here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from service_pkg.exceptions import ConfigError
from service_pkg.metrics import KitMetrics, PoolStats, pool_families, pool_metrics

from .conftest import value


@pytest.fixture(name="engine")
async def _engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", pool_size=3, max_overflow=2
    )
    yield engine
    await engine.dispose()


async def test_checked_out_follows_a_held_connection(engine: AsyncEngine) -> None:
    """While a connection is held the gauge says 1, after its release 0 (and 1 idle)."""
    kit = KitMetrics()
    gen = pool_metrics(kit, engine, name="db")
    await anext(gen)
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))
        assert value(kit, "service_pkg_pool_checked_out", pool="db") == 1
        assert value(kit, "service_pkg_pool_size", pool="db") == 3
    assert value(kit, "service_pkg_pool_checked_out", pool="db") == 0
    assert value(kit, "service_pkg_pool_idle", pool="db") == 1
    await gen.aclose()


async def test_overflow_counts_connections_beyond_the_pool_size(engine: AsyncEngine) -> None:
    """Four held connections on a pool of three: overflow 1."""
    kit = KitMetrics()
    gen = pool_metrics(kit, engine, name="db")
    await anext(gen)
    held = [await engine.connect() for _ in range(4)]
    for conn in held:
        await conn.execute(text("select 1"))
    assert value(kit, "service_pkg_pool_overflow", pool="db") == 1
    assert value(kit, "service_pkg_pool_checked_out", pool="db") == 4
    for conn in held:
        await conn.close()
    await gen.aclose()


async def test_the_stop_removes_the_gauges(engine: AsyncEngine) -> None:
    """After the component stops its pool is not scraped any more."""
    kit = KitMetrics()
    gen = pool_metrics(kit, engine, name="db")
    await anext(gen)
    await gen.aclose()
    assert value(kit, "service_pkg_pool_size", pool="db") is None


async def test_a_pool_without_counters_has_no_samples(tmp_path: Path) -> None:
    """NullPool has no size(): nothing is exposed, nothing raises."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", poolclass=NullPool)
    kit = KitMetrics()
    gen = pool_metrics(kit, engine, name="db")
    await anext(gen)
    assert value(kit, "service_pkg_pool_size", pool="db") is None
    assert b"service_pkg_pool" not in kit.exposition()
    await gen.aclose()
    await engine.dispose()


def test_two_pools_share_one_family() -> None:
    """Two sources of one family are merged: each pool is one labelled series."""
    kit = KitMetrics()
    kit.add_source(pool_families("a", lambda: PoolStats(5, 1, 0, 4)))
    kit.add_source(pool_families("b", lambda: PoolStats(10, 2, 0, 8)))
    assert kit.exposition().count(b"# TYPE service_pkg_pool_size gauge") == 1
    assert value(kit, "service_pkg_pool_size", pool="a") == 5
    assert value(kit, "service_pkg_pool_size", pool="b") == 10


async def test_something_that_is_not_an_engine_is_refused() -> None:
    """The factory names the argument."""
    with pytest.raises(ConfigError, match="engine"):
        await anext(pool_metrics(KitMetrics(), object(), name="db"))


def test_an_empty_pool_name_is_refused() -> None:
    """Pool names label series: an empty one is a ConfigError."""
    with pytest.raises(ConfigError, match="name"):
        pool_families("", lambda: None)


def test_a_source_that_raises_is_left_out_and_the_scrape_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken reader costs its own gauges only, and says so in the log."""
    kit = KitMetrics()

    def broken() -> PoolStats:
        raise RuntimeError("engine disposed")

    kit.add_source(pool_families("bad", broken))
    kit.add_source(pool_families("good", lambda: PoolStats(2, 0, 0, 2)))
    text = kit.exposition().decode()
    assert 'service_pkg_pool_size{pool="good"} 2.0' in text
    assert 'pool="bad"' not in text
    assert "metrics source failed" in caplog.text
