"""``ManualClock``: time that moves only when the test says so."""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ("ManualClock",)


class ManualClock:
    """A :class:`~service_pkg.clock.Clock` for tests.

    ``monotonic()`` returns the manual time (``start`` at first). ``sleep(d)`` suspends the
    caller until :meth:`advance` moves the time to at least ``now + d``. Woken sleepers run
    the next time the test yields to the loop (``await asyncio.sleep(0)``), or use
    :meth:`advance_and_settle`, which does that for you.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._new_sleeper: asyncio.Event | None = None

    def __repr__(self) -> str:
        """Show the time and the number of sleepers."""
        return f"<ManualClock now={self._now:g} sleepers={self.sleepers}>"

    @property
    def sleepers(self) -> int:
        """How many callers are suspended in :meth:`sleep`."""
        return sum(1 for *_, fut in self._sleepers if not fut.done())

    def monotonic(self) -> float:
        """Return the manual time."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Suspend until the manual time reaches ``now + seconds``."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        if self._new_sleeper is not None:
            self._new_sleeper.set()
        await fut

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Return once at least ``count`` callers are suspended in :meth:`sleep`.

        Use it before :meth:`advance` so a task that is about to sleep is not skipped over.
        """
        while self.sleepers < count:
            self._new_sleeper = asyncio.Event()
            await self._new_sleeper.wait()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    async def advance_and_settle(self, seconds: float, *, rounds: int = 5) -> None:
        """:meth:`advance`, then yield to the loop a few times so woken tasks run."""
        self.advance(seconds)
        for _ in range(rounds):
            await asyncio.sleep(0)
