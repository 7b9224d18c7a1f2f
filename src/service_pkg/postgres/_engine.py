"""Creating, pinging and disposing async engines: ``open_postgres`` and ``postgres_engine``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import QueuePool

from service_pkg._checks import exactly_one
from service_pkg._pooling import install_idle_limit
from service_pkg.exceptions import BrokenResourceError
from service_pkg.health import default_health
from service_pkg.postgres._config import PostgresConfig, mask_url

__all__ = (
    "PoolStats",
    "create_engine",
    "open_postgres",
    "pool_stats",
    "postgres_engine",
    "postgres_sessions",
)

logger = logging.getLogger("service_pkg.postgres")

# SQLSTATEs that mean "this will not get better by retrying" (PostgreSQL Appendix A).
_WRONG_PASSWORD = "28P01"  # noqa: S105 - an SQLSTATE, not a password
_LOGIN_REFUSED = "28000"
_NO_DATABASE = "3D000"
# "the database system is starting up" / "too many connections": worth another try.
_RETRY = frozenset({"57P03", "53300"})
_EXTERNAL_PING_TIMEOUT = 10.0
"""Seconds the start ``SELECT 1`` of an engine given from outside may take."""
_HEALTH_TIMEOUT = 3.0
"""Seconds the health check's ``SELECT 1`` may take when the app's own timeout is longer."""


@dataclass(frozen=True, slots=True)
class PoolStats:
    """What the connection pool holds right now (SQLAlchemy's public pool counters).

    ``size`` is the configured ``pool_size``; ``checked_out`` the connections in use;
    ``checked_in`` the idle ones; ``overflow`` the connections beyond ``pool_size`` (negative
    while the pool has not opened ``pool_size`` connections yet, as SQLAlchemy reports it).
    A pool without these counters (SQLite's in-memory ``StaticPool``) reports zeros.
    """

    size: int
    checked_out: int
    checked_in: int
    overflow: int


def pool_stats(engine: AsyncEngine) -> PoolStats:
    """The pool counters of ``engine``, for metrics and tests.

    .. versionadded:: 0.2.0
    """
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool):
        return PoolStats(
            size=pool.size(),
            checked_out=pool.checkedout(),
            checked_in=pool.checkedin(),
            overflow=pool.overflow(),
        )
    return PoolStats(size=0, checked_out=0, checked_in=0, overflow=0)


def _enable_sqlite_foreign_keys(engine: AsyncEngine) -> None:
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    event.listen(engine.sync_engine, "connect", on_connect)


def create_engine(config: PostgresConfig, **engine_kwargs: Any) -> AsyncEngine:
    """Create (without connecting) the engine ``config`` describes.

    PostgreSQL URLs get the asyncpg driver, ``application_name``, the timeouts and the pool
    settings. An ``sqlite+aiosqlite://`` URL gets foreign keys on and the pool SQLAlchemy
    picks for it (a single shared connection for ``:memory:``, where pool sizes do not apply).
    ``engine_kwargs`` go to ``create_async_engine`` and win over the config.

    .. versionadded:: 0.2.0
    """
    url = config.sqlalchemy_url
    kwargs: dict[str, Any] = {"pool_pre_ping": config.pre_ping}
    in_memory = config.is_sqlite and url.database in {None, "", ":memory:"}
    if not in_memory:
        kwargs.update(
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            pool_timeout=config.pool_timeout,
            pool_recycle=-1 if config.max_lifetime is None else config.max_lifetime,
        )
    if not config.is_sqlite:
        kwargs["connect_args"] = config.connect_args()
    kwargs.update(engine_kwargs)
    engine = create_async_engine(url, **kwargs)
    if config.is_sqlite:
        _enable_sqlite_foreign_keys(engine)
    if config.max_idle is not None and not in_memory:
        install_idle_limit(engine.sync_engine.pool, config.max_idle)
    return engine


def _root(error: BaseException) -> BaseException:
    """The driver's own error under SQLAlchemy's wrapper, if there is one."""
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        return error.orig.__cause__ or error.orig
    return error


def _sqlstate(error: BaseException) -> str | None:
    value = getattr(error, "sqlstate", None)
    return value if isinstance(value, str) else None


def _failure(error: BaseException, address: str, within: float) -> tuple[str, bool]:
    """A message for a failed ``SELECT 1`` and whether retrying may help.

    PostgreSQL's and asyncpg's messages name the role, the database and host:port, never
    the password, so they may be quoted.
    """
    root = _root(error)
    state = _sqlstate(root)
    if state == _WRONG_PASSWORD:
        return f"postgres: authentication failed at {address}: wrong password ({root})", False
    if state == _LOGIN_REFUSED:
        return f"postgres: login refused at {address}: {root}", False
    if state == _NO_DATABASE:
        return f"postgres: the database does not exist at {address}: {root}", False
    if isinstance(root, TimeoutError):
        return f"postgres: no answer from {address} within {within:g} s", True
    if isinstance(root, OSError):
        return f"postgres: cannot connect to {address}: {root}", True
    return f"postgres: SELECT 1 at {address} failed: {root}", state is None or state in _RETRY


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def ping(
    engine: AsyncEngine, address: str, *, within: float, attempts: int = 1, backoff: float = 0.0
) -> None:
    """``SELECT 1`` up to ``attempts`` times; a failure is a :class:`BrokenResourceError`.

    Only refused connections and timeouts are retried (the server may be starting); a
    wrong password, a refused login or a missing database fail at once.
    """
    delay = backoff
    for attempt in range(1, attempts + 1):
        try:
            async with asyncio.timeout(within):
                await _select_one(engine)
        except Exception as error:  # asyncpg raises its own types, unwrapped, at connect
            message, transient = _failure(error, address, within)
            if not transient or attempt == attempts:
                if attempts > 1 and transient:
                    message += f" (after {attempts} attempts)"
                raise BrokenResourceError(message, address=address) from error
            logger.warning(
                "postgres not reachable yet, retrying",
                extra={"service_pkg_postgres_address": address, "service_pkg_attempt": attempt},
            )
            await asyncio.sleep(delay)
            delay *= 2
        else:
            return


def _describe(engine: AsyncEngine) -> str:
    return mask_url(engine.url)


async def _check_health(engine: AsyncEngine) -> None:
    """``postgres_engine``'s default health check: one ``SELECT 1`` through the pool.

    Raises:
        BrokenResourceError: the query failed; names the masked address. The pool replaces
            dead connections (pre-ping), so the check passes again once the server is back.
    """
    await ping(engine, _describe(engine), within=_HEALTH_TIMEOUT)


@contextlib.asynccontextmanager
async def open_postgres(config: PostgresConfig) -> AsyncIterator[AsyncEngine]:
    """Create the engine, prove it with ``SELECT 1``, and dispose it at exit.

    The ``SELECT 1`` is tried ``config.start_attempts`` times, each bounded by
    ``connect_timeout + 1`` seconds.

    Raises:
        BrokenResourceError: the server is unreachable, refused the login (wrong password,
            unknown role) or has no such database; each says so and names the masked
            address; the driver's error is ``__cause__``. Nothing is left open.

    .. versionadded:: 0.2.0
    """
    engine = create_engine(config)
    address = config.address
    try:
        await ping(
            engine,
            address,
            within=config.connect_timeout + 1.0,
            attempts=config.start_attempts,
            backoff=config.start_backoff,
        )
    except BaseException:
        await engine.dispose()
        raise
    logger.info("postgres connected", extra={"service_pkg_postgres_address": address})
    try:
        yield engine
    finally:
        await engine.dispose()
        logger.info("postgres closed", extra={"service_pkg_postgres_address": address})


@default_health(_check_health, affects_readiness=True)
async def postgres_engine(
    config: PostgresConfig | None = None,
    *,
    url: str | None = None,
    engine: AsyncEngine | None = None,
) -> AsyncGenerator[AsyncEngine, object]:
    """Component factory: a proven ``AsyncEngine``, disposed when the component stops.

    Give exactly one of:

    * ``config``: a :class:`PostgresConfig`;
    * ``url``: shorthand for ``PostgresConfig(url=url)`` with the defaults
      (``Component(postgres_engine, url=config.database_url)``);
    * ``engine``: an existing engine. It gets a ``SELECT 1`` at start too, but the kit
      **never disposes it**: whoever created it disposes it.

    Start means ready: the factory yields only after ``SELECT 1`` answered (see
    :func:`open_postgres` for the retries). Stop disposes the engine: its pool closes every
    connection once returned.

    Health: ``Component(postgres_engine, ...)`` gets a check with no user code, one
    ``SELECT 1`` through the pool that affects readiness.

    Raises:
        ConfigError: not exactly one of ``config``, ``url`` and ``engine`` was given.
        BrokenResourceError: the start ``SELECT 1`` failed (unreachable server, wrong
            password, missing database: each its own message, with the masked address).

    .. versionadded:: 0.2.0
    """
    exactly_one(config=config, url=url, engine=engine)
    if engine is not None:
        address = _describe(engine)
        await ping(engine, address, within=_EXTERNAL_PING_TIMEOUT)
        logger.info(
            "postgres engine given, not owned", extra={"service_pkg_postgres_address": address}
        )
        yield engine  # the caller's engine: never disposed here
        return
    async with open_postgres(config if config is not None else PostgresConfig(url=url)) as owned:
        yield owned


def postgres_sessions(engine: AsyncEngine, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    """An ``async_sessionmaker`` bound to ``engine``, to declare as its own provider.

    ``sessions = providers.Singleton(postgres_sessions, db)``: services get sessions, not the
    engine. ``expire_on_commit`` defaults to ``False`` (attributes stay readable after a
    commit without another round trip, which is what async code needs); ``kwargs`` go to
    ``async_sessionmaker``.

    .. versionadded:: 0.2.0
    """
    kwargs.setdefault("expire_on_commit", False)
    return async_sessionmaker(engine, **kwargs)
