"""``ManualElection``: a leader election the test drives with ``take()`` and ``lose()``."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from service_pkg.leader import LeaderEvent
from service_pkg.leader._fanout import EventFanout

__all__ = ("ManualElection", "manual_election")


class ManualElection:
    """A :class:`~service_pkg.leader.LeaderElection` whose transitions a test triggers.

    :meth:`take` and :meth:`lose` change leadership and notify every ``events()`` iterator
    (doing nothing when the state already matches, as a real election never repeats an
    event). :meth:`emit` delivers a raw event without changing state, to test how consumers
    treat duplicates. :meth:`close` loses leadership and ends every iterator.
    """

    def __init__(self, *, leader: bool = False) -> None:
        self._leader = False
        self._epoch = 0
        self._closed = False
        self._fanout = EventFanout()
        if leader:
            self.take()

    def __repr__(self) -> str:
        """Show leadership, epoch and subscribers."""
        return (
            f"<ManualElection leader={self._leader} epoch={self._epoch} "
            f"subscribers={self.subscribers}>"
        )

    @property
    def epoch(self) -> int:
        """Grows by one with every :meth:`take`."""
        return self._epoch

    @property
    def subscribers(self) -> int:
        """How many ``events()`` iterators are open."""
        return self._fanout.subscribers

    def is_leader(self) -> bool:
        """Whether the last transition was ``take()``."""
        return self._leader

    def take(self) -> None:
        """Become leader (new epoch) and emit ``TAKEN``; no-op if already leader."""
        if self._leader or self._closed:
            return
        self._leader = True
        self._epoch += 1
        self.emit(LeaderEvent.TAKEN)

    def lose(self) -> None:
        """Stop being leader and emit ``LOST``; no-op if not leader."""
        if not self._leader:
            return
        self._leader = False
        self.emit(LeaderEvent.LOST)

    def emit(self, event: LeaderEvent) -> None:
        """Deliver ``event`` to every iterator as is (state unchanged)."""
        self._fanout.emit(event)

    def close(self) -> None:
        """Lose leadership, then end every iterator."""
        self.lose()
        self._closed = True
        self._fanout.close()

    def events(self) -> AsyncIterator[LeaderEvent]:
        """Yield ``TAKEN`` first if leader, then every transition until :meth:`close`."""
        return self._fanout.subscribe(lambda: self._leader)


async def manual_election(
    election: ManualElection | None = None,
) -> AsyncGenerator[ManualElection, object]:
    """Component factory: ``election = Component(manual_election)``; closed at stop."""
    election = election or ManualElection()
    try:
        yield election
    finally:
        election.close()
