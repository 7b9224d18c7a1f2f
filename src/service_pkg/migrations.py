"""alembic migrations from inside a running service: ``upgrade``, ``downgrade``, a component.

The embedded (zero-setup) mode of a service applies its migrations when it starts, on the
engine of its :func:`~service_pkg.postgres.postgres_engine` component; production deploys run
``alembic upgrade head`` (``make migrate``) as their own step, and the service only checks
that the database is at the head revision. Extra ``migrations``:
``pip install 'service-pkg[migrations]'``.

How it runs without blocking the loop badly: alembic's command API is synchronous, so the
migrations run on one connection of the async engine through ``AsyncConnection.run_sync``.
Every database round trip is still awaited on the loop (SQLAlchemy's greenlet bridge); only
alembic's own Python work (loading ``env.py`` and the revision files, a few milliseconds)
runs on the loop, once, before the service serves. The same call works for PostgreSQL
(transactional DDL: one transaction for the whole upgrade) and SQLite.

The project's ``env.py`` must run the migrations on ``config.attributes["connection"]`` when
it is set (alembic's "connection sharing" recipe; ``alembic/env.py`` of this repository does).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from os import PathLike
from pathlib import Path

try:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.migrations", "migrations") from exc

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from service_pkg.exceptions import BrokenResourceError, ConfigError
from service_pkg.postgres import mask_url

__all__ = ("current_revision", "downgrade", "head_revision", "schema_migrations", "upgrade")

logger = logging.getLogger("service_pkg.migrations")

StrPath = str | PathLike[str]


def _config(script_location: StrPath) -> Config:
    path = Path(script_location)
    if not (path / "env.py").is_file():
        raise ConfigError("script_location", str(path), "must be a folder with alembic's env.py")
    config = Config()
    config.set_main_option("script_location", str(path))
    return config


def head_revision(script_location: StrPath) -> str | None:
    """The head revision of the scripts in ``script_location`` (``None`` if there are none).

    Raises:
        ConfigError: ``script_location`` has no ``env.py``.
    """
    heads = ScriptDirectory.from_config(_config(script_location)).get_heads()
    return ",".join(sorted(heads)) or None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (``None``: never migrated)."""

    def read(connection: Connection) -> str | None:
        heads = MigrationContext.configure(connection).get_current_heads()
        return ",".join(sorted(heads)) or None

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def _run(engine: AsyncEngine, script_location: StrPath, action: str, revision: str) -> None:
    config = _config(script_location)

    def migrate(connection: Connection) -> None:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(migrate)
    logger.info(
        "migrations applied",
        extra={
            "service_pkg_migration": f"{action} {revision}",
            "service_pkg_postgres_address": mask_url(engine.url),
        },
    )


async def upgrade(engine: AsyncEngine, script_location: StrPath, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` on ``engine``, in one transaction where the backend can.

    Raises:
        ConfigError: ``script_location`` has no ``env.py``.
    """
    await _run(engine, script_location, "upgrade", revision)


async def downgrade(engine: AsyncEngine, script_location: StrPath, revision: str = "base") -> None:
    """``alembic downgrade <revision>`` on ``engine``.

    Raises:
        ConfigError: ``script_location`` has no ``env.py``.
    """
    await _run(engine, script_location, "downgrade", revision)


async def schema_migrations(
    engine: AsyncEngine,
    *,
    script_location: StrPath,
    apply: bool = False,
    require_head: bool = True,
) -> AsyncGenerator[str | None, object]:
    """Component factory: the database schema, migrated or checked at start.

    ``Component(schema_migrations, db, script_location=..., apply=settings.embedded)``:

    * ``apply=True`` (embedded and development mode): ``alembic upgrade head`` at start;
    * ``apply=False`` (the default, production): nothing is changed. With ``require_head``
      the start fails unless the database is at the head revision, so a service never runs
      against a schema it was not written for; deploys run ``alembic upgrade head`` first.

    The value is the revision the database is at. Stop does nothing (a schema is not undone
    by stopping a service).

    Raises:
        ConfigError: ``script_location`` has no ``env.py``.
        BrokenResourceError: ``apply=False`` and the database is not at the head revision
            (names both revisions and the masked address).

    .. versionadded:: 0.2.0
    """
    if apply:
        await upgrade(engine, script_location)
    current = await current_revision(engine)
    head = head_revision(script_location)
    if require_head and current != head:
        address = mask_url(engine.url)
        raise BrokenResourceError(
            f"migrations: the database at {address} is at revision {current or 'none'}, "
            f"the code needs {head}: run `alembic upgrade head` (make migrate) first, or "
            "apply=True in embedded mode",
            address=address,
        )
    yield current
