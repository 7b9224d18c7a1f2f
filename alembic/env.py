"""alembic environment for example_service's schema, async (asyncpg or aiosqlite).

Two ways in:

* the ``alembic`` command line (``make migrate``): the URL is ``-x url=...``, else
  ``$DATABASE_URL``, else ``sqlalchemy.url`` of ``alembic.ini``; an engine is created for the
  run and disposed after it;
* :mod:`service_pkg.migrations` (the embedded mode applies migrations at start): it passes the
  component's own connection in ``config.attributes["connection"]`` and the migrations run
  on it, inside its transaction. Logging is left to the service then.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from example_service.db import metadata
from service_pkg.postgres import PostgresConfig, create_engine

config = context.config
target_metadata = metadata


def _url() -> str:
    given = context.get_x_argument(as_dictionary=True).get("url")
    url = given or os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=..., set DATABASE_URL or sqlalchemy.url")
    return url


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    url = PostgresConfig(url=_url()).sqlalchemy_url
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on one (sync-facing) connection."""
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Create an engine for this run only and migrate through it."""
    engine = create_engine(PostgresConfig(url=_url(), pool_size=1, max_overflow=0))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Migrate the connection the kit passed in, or a new engine's (command line)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
