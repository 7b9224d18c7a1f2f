"""``redis_cluster`` / ``open_redis_cluster`` on a real 6-node Redis Cluster (issue 10).

PING at start (every node), the lock on the built client, health while the cluster is down
and back, connections closed at stop, and an unreachable seed.
"""

from __future__ import annotations

import asyncio
import inspect
import time

import pytest
from dependency_injector import containers
from redis.asyncio.cluster import RedisCluster

from service_pkg import Component
from service_pkg.exceptions import BrokenResourceError
from service_pkg.health import HealthCheck, factory_health
from service_pkg.lock import AcquireStatus, RedisLock, RedisLockConfig
from service_pkg.redis import RedisConfig, open_redis_cluster, redis_cluster
from service_pkg.testing import run_components
from tests.integration.cluster_topology import (  # noqa: F401 - the fixture
    ClusterTopology,
    cluster_topology_fixture,
)
from tests.integration.redis_server import HOST, RedisServer, free_port, wait_until

pytestmark = pytest.mark.integration


def _url(topology: ClusterTopology) -> str:
    first, second = topology.nodes[0], topology.nodes[1]
    return f"redis://{HOST}:{first.port}?addr={HOST}:{second.port}"


def _clients(node: RedisServer) -> int:
    """Normal client connections on ``node``, not counting the one asking."""
    listed = node.command("CLIENT", "LIST", "TYPE", "normal")
    assert isinstance(listed, bytes)
    return len(listed.splitlines()) - 1


async def _run_check(spec: HealthCheck, value: object) -> None:
    async with asyncio.timeout(spec.timeout):
        result = spec.check(value)
        if inspect.isawaitable(result):
            await result


async def test_component_yields_a_pinged_cluster_client_and_closes_it_at_stop(
    cluster_topology: ClusterTopology,
) -> None:
    """Component(redis_cluster, url=...): a RedisCluster routing by slot; nothing left open."""
    before = sum(_clients(n) for n in cluster_topology.nodes)

    class Container(containers.DeclarativeContainer):
        redis = Component(redis_cluster, url=_url(cluster_topology))

    container = Container()
    async with run_components(container):
        client = await container.redis()
        assert isinstance(client, RedisCluster)
        for key in ("a", "b", "c", "d"):  # spread over the masters' slots
            await client.set(key, key)
        assert await client.get("d") == b"d"
        assert sum(_clients(n) for n in cluster_topology.nodes) > before
    assert sum(_clients(n) for n in cluster_topology.nodes) == before


async def test_lock_works_on_the_client_the_component_built(
    cluster_topology: ClusterTopology,
) -> None:
    """RedisLock on the kit's cluster client: one holder, the other sees HELD."""
    config = RedisConfig(url=_url(cluster_topology), cluster=True)
    async with open_redis_cluster(config) as client:
        lock_config = RedisLockConfig(restart_grace=False, ttl=5)
        async with (
            RedisLock(client, "jobs", lock_config) as first,
            RedisLock(client, "jobs", lock_config) as second,
        ):
            assert (await first.acquire()).status is AcquireStatus.ACQUIRED
            assert (await second.acquire()).status is AcquireStatus.HELD


async def test_health_fails_naming_the_cluster_while_it_is_down_and_recovers(
    cluster_topology: ClusterTopology,
) -> None:
    """The default check PINGs the nodes: it fails while they are stopped, passes once back."""
    spec = factory_health(redis_cluster)
    assert spec is not None
    config = RedisConfig(url=_url(cluster_topology), cluster=True, socket_timeout=1, retries=0)
    async with open_redis_cluster(config) as client:
        await _run_check(spec, client)
        for node in cluster_topology.nodes:
            node.stop()  # SIGTERM to the PIDs the fixture started
        with pytest.raises(BrokenResourceError, match=r"^redis: PING to redis\+cluster://"):
            await _run_check(spec, client)
        for node in cluster_topology.nodes:
            node.start()  # same ports and nodes.conf: the cluster comes back as it was
        wait_until(cluster_topology.healthy, 30, "the cluster to be back")
        deadline = time.monotonic() + 20
        while True:
            try:
                await _run_check(spec, client)
                break
            except BrokenResourceError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def test_unreachable_seed_is_a_broken_resource_error_naming_the_url() -> None:
    url = f"redis://{HOST}:{free_port()}"
    started = time.monotonic()
    with pytest.raises(BrokenResourceError, match=rf"^redis: PING to {url} failed"):
        async with open_redis_cluster(RedisConfig(url=url, cluster=True, retries=0)):
            pytest.fail("must not start")
    assert time.monotonic() - started < 5
