"""Building, pinging and closing ``redis.asyncio`` clients: ``open_redis`` and ``redis_client``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import EqualJitterBackoff
from redis.exceptions import AuthenticationError, RedisClusterException, RedisError

from service_pkg._checks import exactly_one
from service_pkg.exceptions import BrokenResourceError, ConfigError
from service_pkg.health import default_health
from service_pkg.redis._config import RedisConfig, _parse, _Sentinel
from service_pkg.redis._url import MASK

__all__ = ("open_redis", "redis_client")

logger = logging.getLogger("service_pkg.redis")

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Built:
    """A client plus what must be closed with it (a Sentinel manager's own connections)."""

    client: Redis
    closers: tuple[Closer, ...]


def _retry(config: RedisConfig) -> Retry:
    # go-redis backs off min..max with jitter; EqualJitterBackoff is the closest redis-py
    # policy available in every supported version: base·2^n/2 + U(0, base·2^n/2), capped.
    return Retry(
        EqualJitterBackoff(cap=config.max_backoff, base=config.min_backoff), config.retries
    )


def _common(config: RedisConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": config.connect_timeout,
        "socket_timeout": config.socket_timeout,
        "retry": _retry(config),
        "decode_responses": config.decode_responses,
    }
    if config.max_connections is not None:
        kwargs["max_connections"] = config.max_connections
    if config.client_name is not None:
        kwargs["client_name"] = config.client_name
    return kwargs


def _build(config: RedisConfig) -> _Built:
    """Create (without connecting) the client the config describes."""
    target = _parse(config.url)
    if isinstance(target, _Sentinel):
        return _build_sentinel(config, target)
    kwargs = _common(config)
    kwargs.update(target.kwargs)  # URL query parameters win, as in redis-py's from_url
    if config.password is not None:
        kwargs["password"] = config.password  # Go: options override the URL
    client = Redis.from_pool(ConnectionPool(**kwargs))
    return _Built(client, (client.aclose,))


def _build_sentinel(config: RedisConfig, target: _Sentinel) -> _Built:
    common = _common(config)
    sentinel_kwargs: dict[str, Any] = {
        key: common[key] for key in ("socket_connect_timeout", "socket_timeout", "retry")
    }
    sentinel_kwargs["ssl"] = target.ssl
    sentinel_password = config.sentinel_password or target.password
    if target.username is not None:
        sentinel_kwargs["username"] = target.username
    if sentinel_password is not None:
        sentinel_kwargs["password"] = sentinel_password
    master_kwargs = dict(common, db=target.db, ssl=target.ssl)
    if config.password is not None:
        master_kwargs["password"] = config.password
    if target.client_name is not None:
        master_kwargs["client_name"] = target.client_name
    manager = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        list(target.sentinels), sentinel_kwargs=sentinel_kwargs, **master_kwargs
    )
    client = manager.master_for(target.master_name)

    async def close_sentinels() -> None:
        # Each sentinel is a Redis client; Sentinel.aclose() only exists from redis-py 5.1.
        for sentinel in manager.sentinels:
            await sentinel.aclose()

    return _Built(client, (client.aclose, close_sentinels))


def describe(client: Redis) -> str:
    """The address a client connects to, as a URL without any password."""
    pool = client.connection_pool
    service = getattr(pool, "service_name", None)
    if service is not None:
        return f"redis+sentinel://{service}"
    kwargs = pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    scheme = "rediss" if "SSL" in pool.connection_class.__name__ else "redis"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"{scheme}://{host}:{port}/{db}"


def _auth_failure(client: Redis | RedisCluster, address: str, exc: AuthenticationError) -> str:
    """What a refused login means, in words (the server's are about HELLO and AUTH)."""
    text = str(exc)
    if "without any password configured" in text or "no password is set" in text:
        return f"redis: authentication failed: the server at {address} has no password set"
    options = (
        client.get_connection_kwargs()
        if isinstance(client, RedisCluster)
        else client.connection_pool.connection_kwargs
    )
    if options.get("password") is None:
        return (
            f"redis: authentication required: the server at {address} needs a password "
            "(RedisConfig(password=...), or in the URL percent-encoded)"
        )
    login = "user name or password" if options.get("username") else "password"
    return f"redis: authentication failed: the server at {address} refused the {login}"


def _secrets_of(client: Redis | RedisCluster) -> tuple[str, ...]:
    """The passwords a client (and a Sentinel client's sentinels) log in with."""
    if isinstance(client, RedisCluster):
        options = [client.get_connection_kwargs()]
    else:
        pool = client.connection_pool
        options = [pool.connection_kwargs]
        manager = getattr(pool, "sentinel_manager", None)  # a Sentinel master_for pool
        for sentinel in getattr(manager, "sentinels", ()):
            options.append(sentinel.connection_pool.connection_kwargs)
    found = {o.get("password") for o in options}
    return tuple(sorted((p for p in found if isinstance(p, str) and p), key=len, reverse=True))


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return chain


def _leaks(exc: BaseException, secrets: tuple[str, ...]) -> bool:
    """Whether a password occurs in the driver's error or its chain.

    redis-py 6.x (6.4.0 checked) shows passwords in reprs, and ``MasterNotFoundError``
    quotes the sentinel client's repr (``No master found for 'm' : <Redis(<...password=...>)>``).
    """
    texts = [t for e in _chain(exc) for t in (str(e), repr(e), repr(e.args))]
    return any(secret in text for secret in secrets for text in texts)


async def _ping(client: Redis | RedisCluster, address: str, within: float) -> None:
    """PING once; a failure is a :class:`BrokenResourceError` naming the masked address.

    The driver's error stays the ``__cause__``, unless its text (or its chain's) holds a
    password: then the message is given with every password as ``***`` and the driver's
    error is dropped. A cluster client answers only when every node does; one that reached
    no seed raises ``RedisClusterException`` (not a ``RedisError``).
    """
    secrets = _secrets_of(client)
    leaked: BrokenResourceError | None = None
    try:
        async with asyncio.timeout(within):
            await client.ping()
    except AuthenticationError as exc:
        raise BrokenResourceError(_auth_failure(client, address, exc), address=address) from exc
    except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
        reason = (
            f"no answer within {within:g} s"
            if isinstance(exc, TimeoutError) and not str(exc)
            else str(exc)
        )
        message = f"redis: PING to {address} failed: {reason}"
        if not _leaks(exc, secrets):
            raise BrokenResourceError(message, address=address) from exc
        for secret in secrets:
            message = message.replace(secret, MASK)
        leaked = BrokenResourceError(message, address=address)
    if leaked is not None:
        raise leaked  # outside the handler: no __context__ carries the driver's text


async def _check_health(client: Redis) -> None:
    """``redis_client``'s default health check: one ``PING`` within the socket timeout.

    Raises:
        BrokenResourceError: no ``PONG``; names the masked address. redis-py reconnects on
            the next call, so the check passes again once the server is back.
    """
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    within = timeout if isinstance(timeout, int | float) and timeout > 0 else _SOCKET_TIMEOUT
    await _ping(client, describe(client), float(within))


async def _close(closers: tuple[Closer, ...]) -> None:
    errors: list[BaseException] = []
    for close in closers:
        try:
            await close()
        except Exception as exc:  # noqa: BLE001 - every closer runs; the first error is raised
            errors.append(exc)
    if errors:
        raise errors[0]


@contextlib.asynccontextmanager
async def open_redis(config: RedisConfig) -> AsyncIterator[Redis]:
    """Create a client from ``config``, ``PING`` it, and close it (and its sentinels) at exit.

    ``async with open_redis(RedisConfig(url=...)) as client: ...``. The ``PING`` is bounded by
    ``connect_timeout + socket_timeout``, so a server that is down fails fast and clearly.

    Raises:
        BrokenResourceError: the ``PING`` failed; the message names the masked address and
            the driver's error is ``__cause__``. Nothing is left open.

    Raises ``ConfigError`` for a ``cluster=True`` config: that one is for
    :func:`~service_pkg.redis.open_redis_cluster`.

    .. versionadded:: 0.1.0
    """
    if config.cluster:
        raise ConfigError("cluster", config.cluster, "a cluster config needs open_redis_cluster")
    built = _build(config)
    address = config.address
    try:
        await _ping(built.client, address, config.connect_timeout + config.socket_timeout)
    except BaseException:
        await _close(built.closers)
        raise
    logger.info("redis connected", extra={"service_pkg_redis_address": address})
    try:
        yield built.client
    finally:
        await _close(built.closers)
        logger.info("redis closed", extra={"service_pkg_redis_address": address})


@default_health(_check_health, affects_readiness=True)
async def redis_client(
    config: RedisConfig | None = None,
    *,
    url: str | None = None,
    client: Redis | None = None,
) -> AsyncGenerator[Redis, object]:
    """Component factory: a pinged ``redis.asyncio.Redis``, closed when the component stops.

    Give exactly one of:

    * ``config``: a :class:`RedisConfig`;
    * ``url``: shorthand for ``RedisConfig(url=url)`` with the Go defaults
      (``Component(redis_client, url=config.redis_url)``);
    * ``client``: an existing client. It is pinged at start too, but the kit **never closes
      it**: whoever created it closes it.

    Start means ready: the factory yields only after a ``PING`` answered.

    Health: ``Component(redis_client, ...)`` gets a check with no user code, one ``PING``
    bounded by the socket timeout that affects readiness; a failure names the masked
    address (``Component(..., health=...)`` replaces it).

    For Redis Cluster use :func:`~service_pkg.redis.redis_cluster` (same arguments).

    Raises:
        ConfigError: not exactly one of ``config``, ``url`` and ``client`` was given, or the
            config has ``cluster=True``.
        BrokenResourceError: the ``PING`` at start failed (names the masked address; a server
            that refuses the login says ``authentication required`` or ``authentication
            failed``).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Carries a default health check (:func:`service_pkg.health.default_health`).
    """
    exactly_one(config=config, url=url, client=client)
    if client is not None:
        address = describe(client)
        await _ping(client, address, _EXTERNAL_PING_TIMEOUT)
        logger.info("redis client given, not owned", extra={"service_pkg_redis_address": address})
        yield client  # the caller's client: never closed here
        return
    async with open_redis(config if config is not None else RedisConfig(url=str(url))) as owned:
        yield owned


_EXTERNAL_PING_TIMEOUT = 13.0
"""Seconds the start ``PING`` of a client given from outside may take (Go's 10 s + 3 s)."""
_SOCKET_TIMEOUT = 3.0
"""Seconds the health ``PING`` of a client without a socket timeout may take (Go's 3 s)."""
