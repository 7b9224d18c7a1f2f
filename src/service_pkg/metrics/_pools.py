"""Connection-pool gauges read at scrape time: a generic hook and the SQLAlchemy reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from service_pkg.exceptions import ConfigError
from service_pkg.metrics._events import PREFIX

__all__ = ("PoolStats", "pool_families", "sqlalchemy_pool_stats")


@dataclass(frozen=True, slots=True)
class PoolStats:
    """One pool's figures at one moment.

    ``size`` is the configured number of pooled connections, ``checked_out`` those in use,
    ``overflow`` the connections open beyond ``size`` (SQLAlchemy counts it negative while
    the pool has not opened ``size`` connections yet; the gauge shows it as is), ``idle``
    those waiting in the pool.

    .. versionadded:: 0.3.0
    """

    size: int
    checked_out: int
    overflow: int
    idle: int


def sqlalchemy_pool_stats(engine: Any) -> Callable[[], PoolStats | None]:
    """A reader of an SQLAlchemy ``AsyncEngine``'s (or ``Engine``'s) pool.

    Uses the pool's public API only: ``size()``, ``checkedout()``, ``overflow()``,
    ``checkedin()`` of a ``QueuePool`` (asyncpg and aiosqlite engines get its async variant).
    A pool without them (``NullPool``, ``StaticPool``) reads as ``None``: no samples.

    Raises:
        ConfigError: ``engine`` is neither an ``AsyncEngine`` nor an ``Engine``.
    """
    from sqlalchemy.engine import Engine  # noqa: PLC0415 - the sqlalchemy extras are optional
    from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: PLC0415
    from sqlalchemy.pool import QueuePool  # noqa: PLC0415

    if isinstance(engine, AsyncEngine):
        sync = engine.sync_engine
    elif isinstance(engine, Engine):
        sync = engine
    else:
        raise ConfigError("engine", type(engine).__name__, "must be an SQLAlchemy (Async)Engine")

    def read() -> PoolStats | None:
        # Read the pool each time: engine.dispose() replaces it.
        pool = sync.pool
        if not isinstance(pool, QueuePool):
            return None
        return PoolStats(
            size=pool.size(),
            checked_out=pool.checkedout(),
            overflow=pool.overflow(),
            idle=pool.checkedin(),
        )

    return read


def pool_families(
    name: str, read: Callable[[], PoolStats | None]
) -> Callable[[], Iterator[GaugeMetricFamily]]:
    """A scrape-time source (for :meth:`KitMetrics.add_source`) of one pool's gauges."""
    given: object = name
    if not isinstance(given, str) or not given:
        raise ConfigError("name", given, "must be a non-empty pool name")
    if not callable(read):
        raise ConfigError("read", read, "must be callable")

    def families() -> Iterator[GaugeMetricFamily]:
        stats = read()
        if stats is None:
            return
        for field, value, text in (
            ("size", stats.size, "Configured number of pooled connections."),
            ("checked_out", stats.checked_out, "Connections in use."),
            ("overflow", stats.overflow, "Connections open beyond the pool size."),
            ("idle", stats.idle, "Connections waiting in the pool."),
        ):
            family = GaugeMetricFamily(f"{PREFIX}pool_{field}", text, labels=("pool",))
            family.add_metric((name,), float(value))
            yield family

    return families
