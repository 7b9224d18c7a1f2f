"""The leader_election component over a real redis-server: shape, owned lock, health."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from dependency_injector import containers, providers

from service_pkg import Component
from service_pkg.exceptions import ClosedResourceError
from service_pkg.health import factory_health
from service_pkg.leader import LeaderConfig, LockElection, leader_election
from service_pkg.lock import RedisLock
from service_pkg.redis import RedisConfig, redis_client
from service_pkg.testing import run_components
from tests.integration.redis_server import RedisServer, redis_server_fixture  # noqa: F401

pytestmark = pytest.mark.integration


def container_for(server: RedisServer) -> containers.DeclarativeContainer:
    class Service(containers.DeclarativeContainer):
        redis = Component(redis_client, providers.Object(RedisConfig(url=server.url)))
        election = Component(
            leader_election,
            redis,
            LeaderConfig(name="component", expiration=1.0),
            restart_grace=False,
        )

    return Service()


async def test_the_component_leads_passes_its_check_and_closes_its_lock(
    redis_server: RedisServer,
) -> None:
    """Started: leader, healthy; stopped: key released and the owned RedisLock closed."""
    container = container_for(redis_server)
    check = factory_health(leader_election)
    assert check is not None
    async with run_components(container, "election"):
        election = container.election()
        assert isinstance(election, LockElection)
        assert election.is_leader()
        check.check(election)
    lock = election.lock
    assert isinstance(lock, RedisLock)
    client = aioredis.Redis(host=redis_server.host, port=redis_server.port)
    try:
        assert await client.exists(lock.key) == 0
    finally:
        await client.aclose()
    with pytest.raises(ClosedResourceError):
        await lock.acquire()


async def test_a_resigning_component_releases_the_key_at_once(
    redis_server: RedisServer,
) -> None:
    """resign() on a real RedisLock steps down and deletes the key before it returns."""
    container = container_for(redis_server)
    async with run_components(container, "election"):
        election = container.election()
        assert isinstance(election, LockElection)
        lock = election.lock
        assert isinstance(lock, RedisLock)
        await election.resign("test", hold_off=30)
        assert not election.is_leader()
        assert election.last_reason == "resigned:test"
        client = aioredis.Redis(host=redis_server.host, port=redis_server.port)
        try:
            assert await client.exists(lock.key) == 0
        finally:
            await client.aclose()
