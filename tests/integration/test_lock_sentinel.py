"""``RedisLock`` through Sentinel (issue 10): after a failover, calls and release
notifications reach the new master. Candidates and fault statistics are in
``tests/integration/leader/test_sentinel_faults.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from service_pkg.lock import AcquireStatus, RedisLock, RedisLockConfig, ReleaseResult
from service_pkg.redis import RedisConfig, open_redis
from tests.integration.sentinel_topology import (  # noqa: F401 - the fixture
    SentinelTopology,
    sentinel_topology_fixture,
)

pytestmark = pytest.mark.integration

CONFIG = RedisLockConfig(ttl=1.0, restart_grace=False)


async def test_after_a_killed_master_calls_and_notifications_reach_the_new_one(
    sentinel_topology: SentinelTopology,
) -> None:
    """SIGKILL of the master: the same lock objects work on the promoted replica, and a
    release there wakes a follower whose subscription was opened on the old master."""
    url = RedisConfig(url=sentinel_topology.url, socket_timeout=0.5, connect_timeout=0.5)
    async with (
        open_redis(url) as client,
        RedisLock(client, "job", CONFIG) as holder,
        RedisLock(client, "job", CONFIG) as follower,
    ):
        assert (await holder.acquire()).acquired
        assert not await follower.wait_released(0.05)  # opens the subscription, on the old one
        old = sentinel_topology.master_server()
        old.kill()
        sentinel_topology.wait_for_new_master(old.port)
        async with asyncio.timeout(20):
            while True:  # the holder's key may or may not have reached the replica
                try:
                    result = await holder.acquire()
                except Exception:  # noqa: BLE001 - retried until the new master answers
                    await asyncio.sleep(0.1)
                    continue
                if result.acquired:
                    break
                await asyncio.sleep(0.1)
        waiting = asyncio.create_task(follower.wait_released(10))
        await asyncio.sleep(0.5)  # the subscription finds the new master and subscribes
        assert await holder.release() is ReleaseResult.RELEASED
        async with asyncio.timeout(10):
            assert await waiting
        assert (await follower.acquire()).status is AcquireStatus.ACQUIRED
