"""Redis Cluster clients: ``open_redis_cluster`` and the ``redis_cluster`` component."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from redis.asyncio.cluster import ClusterNode, RedisCluster

from service_pkg._checks import exactly_one
from service_pkg.exceptions import ConfigError
from service_pkg.health import default_health
from service_pkg.redis._client import (
    _EXTERNAL_PING_TIMEOUT,
    _SOCKET_TIMEOUT,
    _common,
    _ping,
)
from service_pkg.redis._config import RedisConfig, _parse_cluster_url

__all__ = ("describe_cluster", "open_redis_cluster", "redis_cluster")

logger = logging.getLogger("service_pkg.redis")


def _build_cluster(config: RedisConfig) -> RedisCluster:
    """Create (without connecting) the cluster client of a ``cluster=True`` config."""
    target = _parse_cluster_url(config.url)
    kwargs: dict[str, Any] = _common(config)
    kwargs["ssl"] = target.ssl
    for name in ("username", "password", "client_name"):
        value = getattr(target, name)
        if value is not None:
            kwargs[name] = value
    if config.password is not None:
        kwargs["password"] = config.password  # Go: options override the URL
    if config.client_name is not None:
        kwargs["client_name"] = config.client_name
    nodes = [ClusterNode(host, port) for host, port in target.nodes]
    return RedisCluster(startup_nodes=nodes, **kwargs)


def describe_cluster(client: RedisCluster) -> str:
    """``redis+cluster://host:port,...``: the nodes the client knows (seeds until it connects)."""
    known = client.get_nodes() or list(client.nodes_manager.startup_nodes.values())
    return "redis+cluster://" + ",".join(f"{node.host}:{node.port}" for node in known)


async def _check_health(client: RedisCluster) -> None:
    """``redis_cluster``'s default health check: ``PING`` to every node, within the timeout.

    Raises:
        BrokenResourceError: a node did not answer; names the nodes (never a password).
    """
    timeout = client.get_connection_kwargs().get("socket_timeout")
    within = timeout if isinstance(timeout, int | float) and timeout > 0 else _SOCKET_TIMEOUT
    await _ping(client, describe_cluster(client), float(within))


def _require_cluster(config: RedisConfig) -> None:
    if not config.cluster:
        raise ConfigError(
            "cluster", config.cluster, "must be True for a cluster client (or use redis_client)"
        )


@contextlib.asynccontextmanager
async def open_redis_cluster(config: RedisConfig) -> AsyncIterator[RedisCluster]:
    """Create a ``RedisCluster`` from a ``cluster=True`` config, ``PING`` it, close it at exit.

    The ``PING`` (sent to every node, after the client has read the slot map from a seed)
    is bounded by ``connect_timeout + socket_timeout``.

    Raises:
        ConfigError: ``config.cluster`` is not set.
        BrokenResourceError: no seed answered, or a node did not answer the ``PING``; the
            message names the masked URL and the driver's error is ``__cause__``. Nothing is
            left open.

    .. versionadded:: 0.3.0
    """
    _require_cluster(config)
    client = _build_cluster(config)
    address = config.address
    try:
        await _ping(client, address, config.connect_timeout + config.socket_timeout)
    except BaseException:
        await client.aclose()
        raise
    logger.info("redis cluster connected", extra={"service_pkg_redis_address": address})
    try:
        yield client
    finally:
        await client.aclose()
        logger.info("redis cluster closed", extra={"service_pkg_redis_address": address})


@default_health(_check_health, affects_readiness=True)
async def redis_cluster(
    config: RedisConfig | None = None,
    *,
    url: str | None = None,
    client: RedisCluster | None = None,
) -> AsyncGenerator[RedisCluster, object]:
    """Component factory: a pinged ``redis.asyncio.cluster.RedisCluster``, closed at stop.

    Give exactly one of ``config`` (a :class:`RedisConfig` with ``cluster=True``), ``url``
    (shorthand for ``RedisConfig(url=url, cluster=True)``) or ``client`` (an existing
    ``RedisCluster``: pinged at start, **never closed** by the kit).

    Start means ready: the factory yields only after every node answered a ``PING``. Health:
    a default check (one ``PING`` to every node, bounded by the socket timeout) that affects
    readiness. The client follows ``MOVED``/``ASK`` and re-reads the slot map after a
    failover by itself; ``RedisLock`` and ``leader_election`` accept it.

    Raises:
        ConfigError: not exactly one of ``config``, ``url`` and ``client``, or a ``config``
            without ``cluster=True``.
        BrokenResourceError: the ``PING`` at start failed (names the masked address).

    .. versionadded:: 0.3.0
    """
    exactly_one(config=config, url=url, client=client)
    if client is not None:
        address = describe_cluster(client)
        await _ping(client, address, _EXTERNAL_PING_TIMEOUT)
        logger.info(
            "redis cluster client given, not owned", extra={"service_pkg_redis_address": address}
        )
        yield client  # the caller's client: never closed here
        return
    chosen = config if config is not None else RedisConfig(url=str(url), cluster=True)
    async with open_redis_cluster(chosen) as owned:
        yield owned
