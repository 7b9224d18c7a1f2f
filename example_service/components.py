"""The example's own components: a heartbeat and a leader-only job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from service_pkg.clock import Clock
from service_pkg.leader import LeaderElection

__all__ = ("Ticker", "heartbeat", "leader_job")

log = logging.getLogger("example_service")


class Ticker:
    """Calls ``tick`` every ``interval`` seconds of ``clock`` time in a task it owns."""

    def __init__(
        self, clock: Clock, interval: float, tick: Callable[[int], Awaitable[None]]
    ) -> None:
        self._clock = clock
        self._interval = interval
        self._tick = tick
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0

    def start(self) -> None:
        """Start ticking."""
        self._task = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        """Stop ticking; a tick in progress is cancelled."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._clock.sleep(self._interval)
            self.ticks += 1
            await self._tick(self.ticks)


async def heartbeat(clock: Clock, interval: float) -> AsyncIterator[Ticker]:
    """Always-on component: logs ``heartbeat`` every ``interval`` seconds."""

    async def beat(n: int) -> None:
        log.info("heartbeat", extra={"beats": n})

    ticker = Ticker(clock, interval, beat)
    ticker.start()
    reason = yield ticker
    await ticker.aclose()
    log.info("heartbeat stopped", extra={"beats": ticker.ticks, "reason": str(reason)})


async def leader_job(
    clock: Clock,
    interval: float,
    election: LeaderElection,
) -> AsyncIterator[Ticker]:
    """Leader-gated component: does its work only while ``election`` holds leadership."""

    async def work(n: int) -> None:
        # Leadership can end between ticks; check before each action (the fencing epoch
        # would go with any write made on the leader's behalf).
        if election.is_leader():
            log.info("leader work", extra={"runs": n, "epoch": election.epoch})

    ticker = Ticker(clock, interval, work)
    ticker.start()
    log.info("leader job started", extra={"epoch": election.epoch})
    reason = yield ticker
    await ticker.aclose()
    log.info("leader job stopped", extra={"runs": ticker.ticks, "reason": str(reason)})
