"""The two lock backends behind one interface, so each behaviour test is written once.

* ``memory``: :class:`InMemoryLock` over a :class:`LockStore` driven by a :class:`ManualClock`
  (no sleeping, no network);
* ``redis`` (marked ``integration``): :class:`RedisLock` against real Redis. The ``backend``
  fixture uses the shared server on 127.0.0.1:6379 under a key prefix unique to the test and
  deletes its keys afterwards; ``flushable_backend`` starts a private ``redis-server`` (see
  ``tests/integration/redis_server.py``), because ``FLUSHALL`` and restarts must never hit
  the shared one. Its client retries a failed call once (redis-py's public ``Retry``), so
  the call after a restart reconnects on every supported redis-py version.

The memory store has been "up" for an hour, like the shared Redis; a restart starts its
uptime from 0, as a restarted ``redis-server`` does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from service_pkg.lock import Lock, RedisLock, RedisLockConfig
from service_pkg.testing import InMemoryLock, LockStore, ManualClock
from tests.integration.conftest import REDIS, require_server
from tests.integration.redis_server import (
    RedisServer,
    redis_server_fixture,  # noqa: F401 - fixture
)

AnyLock = InMemoryLock | RedisLock
"""A lock of either backend: the ``Lock`` protocol plus ``ping`` / ``aclose`` / ``async with``."""

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=pytest.mark.integration),
]


class Backend:
    """Makes competing locks on one store and moves that store's time or data."""

    kind: str

    def make(self, name: str = "job", *, ttl: float = 1.0, restart_grace: bool = False) -> AnyLock:
        """A new lock object (its own token) on the shared store."""
        raise NotImplementedError

    async def elapse(self, seconds: float) -> None:
        """Let ``seconds`` of the store's time pass."""
        raise NotImplementedError

    async def flush(self) -> None:
        """Lose every key while the store keeps running (Redis ``FLUSHALL``)."""
        raise NotImplementedError

    async def restart(self) -> None:
        """Restart the store without its data: its uptime starts again from 0."""
        raise NotImplementedError

    async def up_for(self, seconds: float) -> None:
        """Return once the store has been up for ``seconds`` (a server just started by CI)."""
        raise NotImplementedError

    async def holder(self, name: str = "job") -> str | None:
        """The token holding ``name`` now, read directly from the store."""
        raise NotImplementedError

    async def waiting(self, lock: Lock) -> None:
        """Return once a ``wait_released`` call on ``lock`` is listening."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the backend opened."""


class MemoryBackend(Backend):
    kind = "memory"

    def __init__(self) -> None:
        self.clock = ManualClock(start=1_000.0)
        self.store = LockStore(self.clock, uptime=3_600.0)

    def make(self, name: str = "job", *, ttl: float = 1.0, restart_grace: bool = False) -> AnyLock:
        return InMemoryLock(name, ttl=ttl, store=self.store, restart_grace=restart_grace)

    async def elapse(self, seconds: float) -> None:
        await self.clock.advance_and_settle(seconds)

    async def flush(self) -> None:
        self.store.flushall()

    async def restart(self) -> None:
        self.store.flush()

    async def up_for(self, seconds: float) -> None:
        assert self.store.uptime >= seconds  # the store was made an hour "old"

    async def holder(self, name: str = "job") -> str | None:
        return self.store.holder(name)

    async def waiting(self, lock: Lock) -> None:
        del lock  # the manual clock knows when anyone sleeps
        await self.clock.wait_for_sleepers()


class RedisBackend(Backend):
    kind = "redis"

    def __init__(self, url: str, *, server: RedisServer | None = None) -> None:
        retry = Retry(NoBackoff(), 1)
        self.client = aredis.Redis.from_url(url, retry=retry, retry_on_error=[RedisConnectionError])
        self.prefix = f"service-pkg:test:{uuid.uuid4().hex}:"
        self.server = server
        self.locks: list[RedisLock] = []

    def make(self, name: str = "job", *, ttl: float = 1.0, restart_grace: bool = False) -> AnyLock:
        config = RedisLockConfig(prefix=self.prefix, ttl=ttl, restart_grace=restart_grace)
        lock = RedisLock(self.client, name, config)
        self.locks.append(lock)
        return lock

    async def elapse(self, seconds: float) -> None:
        await asyncio.sleep(seconds + 0.005)  # Redis expires at millisecond precision

    async def flush(self) -> None:
        assert self.server is not None, "FLUSHALL needs the flushable_backend fixture"
        await self.client.flushall()

    async def restart(self) -> None:
        assert self.server is not None, "a restart needs the flushable_backend fixture"
        await asyncio.to_thread(self.server.restart)

    async def up_for(self, seconds: float) -> None:
        async with asyncio.timeout(seconds + 5):
            while True:
                if int((await self.client.info("server"))["uptime_in_seconds"]) >= seconds:
                    return
                await asyncio.sleep(0.1)

    async def holder(self, name: str = "job") -> str | None:
        value = await self.client.get(self.prefix + name)
        return value.decode() if isinstance(value, bytes) else None

    async def waiting(self, lock: Lock) -> None:
        assert isinstance(lock, RedisLock)
        channel = lock.key + ":released"
        async with asyncio.timeout(5):
            while True:
                counts = await self.client.pubsub_numsub(channel)
                if counts and counts[0][1] >= 1:
                    return
                await asyncio.sleep(0.002)

    async def aclose(self) -> None:
        for lock in self.locks:
            await lock.aclose()
        keys = [key async for key in self.client.scan_iter(match=self.prefix + "*")]
        if keys:
            await self.client.delete(*keys)
        await self.client.aclose()


@pytest.fixture(name="backend", params=BACKENDS)
async def _backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    backend: Backend
    if request.param == "memory":
        backend = MemoryBackend()
    else:
        host, port = require_server("Redis", REDIS)
        backend = RedisBackend(f"redis://{host}:{port}/0")
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture(name="flushable_backend", params=BACKENDS)
async def _flushable_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    backend: Backend
    if request.param == "memory":
        backend = MemoryBackend()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        backend = RedisBackend(server.url, server=server)
    try:
        yield backend
    finally:
        await backend.aclose()
