"""The ``LeaderElection`` protocol the runtime gates components on, and the election of one.

A component declared with ``leader=election`` starts when ``election.events()`` yields
:attr:`LeaderEvent.TAKEN` and stops when it yields :attr:`LeaderEvent.LOST` (or the iterator
ends). The numbers are the Go ``watchdog`` constants (``LostAcquire = 1``,
``TakenAcquire = 2``), so logs and metrics read the same across both implementations.

:func:`standalone_election` is an election of one: it holds leadership from start to stop.
It is the embedded default for development and single-replica deployments.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol, runtime_checkable

__all__ = (
    "LeaderElection",
    "LeaderEvent",
    "StandaloneElection",
    "standalone_election",
)


class LeaderEvent(enum.IntEnum):
    """A leadership transition, numbered as in Go."""

    LOST = 1
    TAKEN = 2


@runtime_checkable
class LeaderElection(Protocol):
    """What the runtime needs from an election component's value.

    Contract for implementers:

    * ``events()`` returns a new async iterator; it yields ``TAKEN`` first if leadership is
      already held, then strictly alternating transitions, and ends when the election stops
      (after a final ``LOST`` if it was leader).
    * ``is_leader()`` answers from local state without I/O and must be false once the local
      lease may have expired, so gated code can check it before each action.
    * ``epoch`` is a fencing token that only grows; it changes with each ``TAKEN``.
    """

    def events(self) -> AsyncIterator[LeaderEvent]:
        """Return an iterator over leadership transitions (see the class contract)."""
        ...

    def is_leader(self) -> bool:
        """Tell whether this process may act as leader right now."""
        ...

    @property
    def epoch(self) -> int:
        """Fencing token of the current (or last) term."""
        ...


class StandaloneElection:
    """An election with one candidate: leader while running.

    Lifecycle: :meth:`start` takes leadership (epoch 1), :meth:`stop` gives it up and ends
    every ``events()`` iterator after a final ``LOST``. Never raises.
    """

    def __init__(self) -> None:
        self._leader = False
        self._epoch = 0
        self._changed = asyncio.Condition()

    def __repr__(self) -> str:
        """Show leadership and epoch."""
        return f"<StandaloneElection leader={self._leader} epoch={self._epoch}>"

    @property
    def epoch(self) -> int:
        """1 after the first start; grows with every start."""
        return self._epoch

    def is_leader(self) -> bool:
        """True between start and stop."""
        return self._leader

    async def start(self) -> None:
        """Take leadership."""
        async with self._changed:
            self._epoch += 1
            self._leader = True
            self._changed.notify_all()

    async def stop(self) -> None:
        """Give leadership up; iterators yield ``LOST`` and end."""
        async with self._changed:
            self._leader = False
            self._changed.notify_all()

    async def events(self) -> AsyncIterator[LeaderEvent]:
        """Yield ``TAKEN`` while leader, then ``LOST`` at stop, then end."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._leader)
        yield LeaderEvent.TAKEN
        async with self._changed:
            await self._changed.wait_for(lambda: not self._leader)
        yield LeaderEvent.LOST


async def standalone_election() -> AsyncGenerator[StandaloneElection, object]:
    """Component factory: ``election = Component(standalone_election)``."""
    election = StandaloneElection()
    await election.start()
    try:
        yield election
    finally:
        await election.stop()
