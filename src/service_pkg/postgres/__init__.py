"""PostgreSQL (and embedded SQLite) for services: ``PostgresConfig``, ``postgres_engine``.

A port of the Go ``database/postgres`` package (a pgxpool wrapper) over SQLAlchemy's asyncio
engine with asyncpg (extra ``postgres``; the embedded ``sqlite+aiosqlite://`` mode needs the
extra ``sqlite``). Go → Python:

.. code-block:: text

    Configs{Host, Port, Username, ...}        PostgresConfig(host=, port=, user=, ...) or url=
    NewPostgresConnection(ctx, cfg)           Component(postgres_engine, config)
    (*Connection).GetPool()                   the component's value, an AsyncEngine
    (*Connection).Stop()                      the component's stop (engine.dispose())
    MaxOpenedConnections                      pool_size + max_overflow

Deviations from Go (``docs/postgres.md``): the URL is built with ``sqlalchemy.URL.create``,
so any password works (bug #25); zero pool sizes and zero timeouts are refused at
construction instead of crashing later; start proves the connection with ``SELECT 1`` and
fails with a clear error instead of exiting the process or returning a nil pool.

.. versionadded:: 0.2.0
"""

try:
    import sqlalchemy.ext.asyncio as _sqlalchemy_asyncio
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.postgres", "postgres") from exc

from service_pkg.postgres._config import PostgresConfig as PostgresConfig
from service_pkg.postgres._config import mask_url as mask_url
from service_pkg.postgres._engine import PoolStats as PoolStats
from service_pkg.postgres._engine import create_engine as create_engine
from service_pkg.postgres._engine import open_postgres as open_postgres
from service_pkg.postgres._engine import pool_stats as pool_stats
from service_pkg.postgres._engine import postgres_engine as postgres_engine
from service_pkg.postgres._engine import postgres_sessions as postgres_sessions

del _sqlalchemy_asyncio

__all__ = (
    "PoolStats",
    "PostgresConfig",
    "create_engine",
    "mask_url",
    "open_postgres",
    "pool_stats",
    "postgres_engine",
    "postgres_sessions",
)
