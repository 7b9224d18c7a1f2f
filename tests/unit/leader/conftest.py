from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from service_pkg.events import Event, EventBus
from service_pkg.leader import LeaderConfig, LeaderEvent, LockElection
from service_pkg.lock import AcquireResult, AcquireStatus, ExtendResult, ReleaseResult
from service_pkg.testing import InMemoryLock, LockStore, ManualClock

E = 3.0


class FaultyLock:
    """An InMemoryLock whose calls can be made to fail or hang on demand."""

    def __init__(self, inner: InMemoryLock) -> None:
        self.inner = inner
        self.fail_extend = 0
        self.unreachable = False
        self.hang_extend = False
        self.late_reply: asyncio.Event | None = None
        """Make extend hang and honour a cancellation only once this is set (a reply read late)."""
        self.hang_acquire = False
        self.hang_after_acquire = False
        self.forced_extend: ExtendResult | None = None
        """Answer every extend with this (the store's TTL is still reset, as on Redis)."""
        self.unconfirmed = False
        self.no_epochs = False
        """Report epoch 0 for every acquisition, as a backend without fencing may."""
        """Answer an acquisition with UNCONFIRMED (too few replicas), as RedisLock does."""
        self.calls: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def token(self) -> str:
        return self.inner.token

    @property
    def ttl(self) -> float:
        return self.inner.ttl

    async def acquire(self) -> AcquireResult:
        self.calls.append("acquire")
        if self.unreachable:
            raise ConnectionError("store unreachable")
        if self.hang_acquire:
            await asyncio.Event().wait()
        result = await self.inner.acquire()
        if self.unconfirmed and result.acquired:
            return AcquireResult(AcquireStatus.UNCONFIRMED)
        if self.hang_after_acquire:  # applied by the store, but the reply never comes back
            await asyncio.Event().wait()
        if self.no_epochs:
            return AcquireResult(result.status, ttl_ms=result.ttl_ms)
        return result

    async def extend(self) -> ExtendResult:
        self.calls.append("extend")
        if self.hang_extend:
            await asyncio.Event().wait()
        if self.late_reply is not None:
            try:
                await asyncio.Event().wait()
            finally:
                await self.late_reply.wait()
        if self.fail_extend or self.unreachable:
            self.fail_extend = max(0, self.fail_extend - 1)
            raise ConnectionError("store unreachable")
        if self.forced_extend is ExtendResult.MASTER_CHANGED:
            await self.inner.release()  # RedisLock's script drops the key on a master change
            return ExtendResult.MASTER_CHANGED
        result = await self.inner.extend()
        return self.forced_extend if self.forced_extend is not None else result

    async def release(self) -> ReleaseResult:
        self.calls.append("release")
        return await self.inner.release()

    async def wait_released(self, within: float) -> bool:
        if self.unreachable:
            raise ConnectionError("store unreachable")
        return await self.inner.wait_released(within)


class World:
    """A manual clock, one lock store, and candidates competing in it."""

    def __init__(self) -> None:
        self.clock = ManualClock(start=1000.0)
        self.store = LockStore(self.clock)
        self.elections: list[LockElection] = []

    def candidate(
        self, *, restart_grace: bool = False, seed: int = 1, events: EventBus | None = None
    ) -> tuple[LockElection, FaultyLock]:
        lock = FaultyLock(
            InMemoryLock("cron", ttl=E, store=self.store, restart_grace=restart_grace),
        )
        election = LockElection(
            lock,
            LeaderConfig(name="cron", expiration=E),
            clock=self.clock,
            rng=random.Random(seed),
            events=events,
        )
        self.elections.append(election)
        return election, lock

    async def advance(self, seconds: float, step: float = 0.05) -> None:
        """Move time in small steps so every loop sees each moment it sleeps to."""
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end - 1e-9:
            await self.clock.advance_and_settle(min(step, end - self.clock.monotonic()), rounds=20)

    async def aclose(self) -> None:
        for election in self.elections:
            await election.aclose()


@pytest.fixture(name="world")
async def _world() -> AsyncIterator[World]:
    world = World()
    yield world
    await world.aclose()


async def collect(events: AsyncIterator[LeaderEvent], out: list[LeaderEvent]) -> None:
    async for event in events:
        out.append(event)  # noqa: PERF401 - visible while the iterator still runs


class Recorded:
    """An event bus and every event published on it, in order."""

    def __init__(self) -> None:
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
