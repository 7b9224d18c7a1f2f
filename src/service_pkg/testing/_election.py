"""``ManualElection``: a leader election the test drives with ``take()`` and ``lose()``."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Self

from service_pkg.clock import Clock, SystemClock
from service_pkg.events import EventBus, current_events
from service_pkg.health import default_health
from service_pkg.leader import LeaderEvent
from service_pkg.leader._fanout import ACQUIRED, EventFanout, announce, check_hold_off, resigned

__all__ = ("ManualElection", "Resignation", "manual_election")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resignation:
    """One :meth:`ManualElection.resign` call, as the test reads it back.

    .. versionadded:: 0.2.0
    """

    reason: str
    hold_off: float
    was_leader: bool
    """Whether the call stepped down (``LOST``) or only set a hold-off."""
    at: float
    """The election's clock time of the call."""


class ManualElection:
    """A :class:`~service_pkg.leader.LeaderElection` whose transitions a test triggers.

    :meth:`take` and :meth:`lose` change leadership and notify every ``events()`` iterator
    (doing nothing when the state already matches, as a real election never repeats an
    event). :meth:`emit` delivers a raw event without changing state, to test how consumers
    treat duplicates. :meth:`close` (or ``await`` :meth:`aclose`) loses leadership (reason
    ``stop``) and ends every iterator; ``async with`` returns the election as is, since there
    is nothing to start.

    :meth:`resign` models the real rule: ``LOST`` with reason ``resigned:<reason>`` if leader,
    and a hold-off of ``hold_off`` seconds of ``clock`` during which :meth:`take` refuses
    (:class:`RuntimeError`) rather than silently doing nothing, so a test cannot believe it
    re-elected a replica that a real election would keep out. Pass a
    :class:`~service_pkg.testing.ManualClock` to move past a hold-off without sleeping.
    :attr:`resignations` lists every call.

    Transitions are published as :class:`~service_pkg.events.LeadershipChanged` on
    ``events`` (default: :func:`~service_pkg.events.current_events`, read here).

    .. versionchanged:: 0.2.0 ``resign``, ``last_reason``, ``resignations``,
       ``hold_off_until``, ``aclose``, ``async with``; ``name``, ``clock`` and ``events``.
    """

    def __init__(
        self,
        *,
        leader: bool = False,
        name: str = "manual",
        clock: Clock | None = None,
        events: EventBus | None = None,
    ) -> None:
        self._name = name
        self._clock = clock or SystemClock()
        self._bus = events if events is not None else current_events()
        self._leader = False
        self._epoch = 0
        self._last_reason: str | None = None
        self._hold_off_until = -math.inf
        self._resignations: list[Resignation] = []
        self._closed = False
        self._fanout = EventFanout()
        if leader:
            self.take()

    def __repr__(self) -> str:
        """Show leadership, epoch and subscribers."""
        return (
            f"<ManualElection name={self._name!r} leader={self._leader} epoch={self._epoch} "
            f"subscribers={self.subscribers}>"
        )

    @property
    def name(self) -> str:
        """The election's name, as published in its events."""
        return self._name

    @property
    def epoch(self) -> int:
        """Grows by one with every :meth:`take`."""
        return self._epoch

    @property
    def last_reason(self) -> str | None:
        """Reason of the last transition; ``None`` before the first."""
        return self._last_reason

    @property
    def hold_off_until(self) -> float:
        """Clock time before which :meth:`take` refuses (``-inf``: no hold-off)."""
        return self._hold_off_until

    @property
    def resignations(self) -> tuple[Resignation, ...]:
        """Every :meth:`resign` call so far, oldest first."""
        return tuple(self._resignations)

    @property
    def subscribers(self) -> int:
        """How many ``events()`` iterators are open."""
        return self._fanout.subscribers

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ran."""
        return self._closed

    def is_leader(self) -> bool:
        """Whether the last transition was ``take()``."""
        return self._leader

    def take(self, reason: str = ACQUIRED) -> None:
        """Become leader (new epoch) and emit ``TAKEN``; no-op if already leader or closed.

        Raises:
            RuntimeError: a :meth:`resign` hold-off is still running.
        """
        if self._leader or self._closed:
            return
        left = self._hold_off_until - self._clock.monotonic()
        if left > 0:
            raise RuntimeError(
                f"take: election {self._name!r} is held off for another {left:g} s by "
                "resign(); a real election would not acquire now (advance its clock)",
            )
        self._leader = True
        self._epoch += 1
        self._last_reason = reason
        announce(self._bus, self._name, LeaderEvent.TAKEN, self._epoch, reason)
        self.emit(LeaderEvent.TAKEN)

    def lose(self, reason: str = "lost") -> None:
        """Stop being leader and emit ``LOST``; no-op if not leader."""
        if not self._leader:
            return
        self._leader = False
        self._last_reason = reason
        announce(self._bus, self._name, LeaderEvent.LOST, self._epoch, reason)
        self.emit(LeaderEvent.LOST)

    async def resign(self, reason: str, *, hold_off: float) -> None:
        """Lose (reason ``resigned:<reason>``) if leader; refuse :meth:`take` for ``hold_off``.

        A later resign extends the hold-off (the later end wins); after :meth:`close` it
        does nothing.

        Raises:
            ConfigError: ``hold_off`` is negative or not a finite number.
        """
        wait = check_hold_off(hold_off)
        if self._closed:
            return
        now = self._clock.monotonic()
        self._resignations.append(
            Resignation(reason=reason, hold_off=wait, was_leader=self._leader, at=now),
        )
        self._hold_off_until = max(self._hold_off_until, now + wait)
        self.lose(resigned(reason))

    def emit(self, event: LeaderEvent) -> None:
        """Deliver ``event`` to every iterator as is (state unchanged)."""
        self._fanout.emit(event)

    def close(self) -> None:
        """Lose leadership (reason ``stop``), then end every iterator. Idempotent."""
        self.lose("stop")
        self._closed = True
        self._fanout.close()

    async def aclose(self) -> None:
        """:meth:`close`, in the kit's one resource shape."""
        self.close()

    async def __aenter__(self) -> Self:
        """Return the election (nothing to start)."""
        return self

    async def __aexit__(self, *_: object) -> None:
        """Call :meth:`aclose`."""
        await self.aclose()

    def ensure_running(self) -> None:
        """Return until :meth:`close` (the default health check).

        Raises:
            RuntimeError: the election was closed.
        """
        if self._closed:
            raise RuntimeError(f"election {self._name!r}: closed")

    def events(self) -> AsyncIterator[LeaderEvent]:
        """Yield ``TAKEN`` first if leader, then every transition until :meth:`close`."""
        return self._fanout.subscribe(lambda: self._leader)


def _open(election: ManualElection) -> None:
    election.ensure_running()


@default_health(_open, affects_readiness=False)
def manual_election(election: ManualElection | None = None) -> ManualElection:
    """Component factory: ``election = Component(manual_election)``; closed at stop.

    Pass an election built by the test to drive it from outside the container. One built
    here publishes on the starting application's event bus.

    .. versionchanged:: 0.2.0 a plain function returning the election (was a generator).
    """
    return election if election is not None else ManualElection()
