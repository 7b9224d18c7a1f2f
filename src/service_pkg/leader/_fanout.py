"""What every election of the kit shares: event fan-out, the bus, the hold-off check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from service_pkg._checks import seconds
from service_pkg.events import EventBus, LeadershipChanged
from service_pkg.leader._protocol import LeaderEvent

__all__ = ("ACQUIRED", "EventFanout", "announce", "check_hold_off", "resigned")

ACQUIRED = "acquired"
"""The reason of every ``TAKEN``."""


def resigned(reason: str) -> str:
    """The ``last_reason`` of a loss caused by ``resign(reason, ...)``."""
    return f"resigned:{reason}"


def check_hold_off(hold_off: object) -> float:
    """Validate ``resign``'s hold-off: a finite number of seconds >= 0.

    Raises:
        ConfigError: ``.field`` is ``hold_off``.
    """
    return seconds("hold_off", hold_off, allow_zero=True)


def announce(bus: EventBus, election: str, event: LeaderEvent, epoch: int, reason: str) -> None:
    """Publish a :class:`~service_pkg.events.LeadershipChanged` if anybody listens."""
    if bus.wants(LeadershipChanged):
        bus.emit(LeadershipChanged(election=election, event=event, epoch=epoch, reason=reason))


class EventFanout:
    """One queue per subscriber: each sees every event, in order, none dropped.

    A new subscriber starts with ``TAKEN`` when ``leading()`` is true as it begins reading;
    :meth:`close` ends every iterator (and refuses new ones).
    """

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[LeaderEvent | None]] = []
        self._closed = False

    @property
    def subscribers(self) -> int:
        """How many iterators are open."""
        return len(self._queues)

    def emit(self, event: LeaderEvent) -> None:
        """Queue ``event`` for every subscriber."""
        for queue in self._queues:
            queue.put_nowait(event)

    def close(self) -> None:
        """End every iterator after the events already queued."""
        self._closed = True
        for queue in self._queues:
            queue.put_nowait(None)

    async def subscribe(self, leading: Callable[[], bool]) -> AsyncIterator[LeaderEvent]:
        """Iterate over the events from now on (see the class docstring)."""
        if self._closed:
            return
        queue: asyncio.Queue[LeaderEvent | None] = asyncio.Queue()
        if leading():
            queue.put_nowait(LeaderEvent.TAKEN)
        self._queues.append(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.remove(queue)
