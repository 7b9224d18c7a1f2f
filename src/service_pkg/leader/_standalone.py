"""``StandaloneElection``: an election of one, for development and single-replica services."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from typing import Self

from service_pkg._tasks import cancel_and_wait
from service_pkg.clock import Clock, SystemClock
from service_pkg.events import EventBus, current_events
from service_pkg.exceptions import ConfigError
from service_pkg.health import default_health
from service_pkg.leader._fanout import ACQUIRED, EventFanout, announce, check_hold_off, resigned
from service_pkg.leader._protocol import LeaderEvent

__all__ = ("StandaloneElection", "standalone_election")

log = logging.getLogger("service_pkg.leader")


class StandaloneElection:
    """A :class:`~service_pkg.leader.LeaderElection` with one candidate: leader while open.

    Lifecycle contract:

    * ``async with election:`` takes leadership (``TAKEN``, epoch 1) and returns the
      election. Entering twice, or after :meth:`aclose`, raises :class:`RuntimeError`.
    * :meth:`resign` gives leadership up (``LOST``, reason ``resigned:<reason>``) and takes it
      again, with a new epoch, once ``hold_off`` seconds of its clock have passed; a later
      resign extends the wait. The wait runs in a task the election owns.
    * :meth:`aclose` (idempotent; ``__aexit__`` calls it) ends that task, emits a final
      ``LOST`` (reason ``stop``) if leader and ends every ``events()`` iterator. It never
      raises.

    Every transition is published as a :class:`~service_pkg.events.LeadershipChanged` on
    ``events`` (default: :func:`~service_pkg.events.current_events`, read here).

    .. versionchanged:: 0.2.0 ``async with`` / ``aclose()`` replace ``start()`` / ``stop()``;
       ``resign``, ``last_reason``, ``name``, ``clock`` and ``events`` are new.
    """

    def __init__(
        self,
        *,
        name: str = "standalone",
        clock: Clock | None = None,
        events: EventBus | None = None,
    ) -> None:
        checked: object = name  # checked at runtime: callers may not be type-checked
        if not isinstance(checked, str) or not checked.strip():
            raise ConfigError("name", checked, "must be a non-empty election name")
        self._name = name
        self._clock = clock or SystemClock()
        self._bus = events if events is not None else current_events()
        self._fanout = EventFanout()
        self._leader = False
        self._epoch = 0
        self._last_reason: str | None = None
        self._hold_off_until = -math.inf
        self._retake: asyncio.Task[None] | None = None
        self._entered = False
        self._closed = False

    def __repr__(self) -> str:
        """Show the name, leadership and epoch."""
        return f"<StandaloneElection name={self._name!r} leader={self._leader} epoch={self._epoch}>"

    @property
    def name(self) -> str:
        """The election's name, as published in its events."""
        return self._name

    @property
    def epoch(self) -> int:
        """0 before the first ``TAKEN``; grows by one with every ``TAKEN``."""
        return self._epoch

    @property
    def last_reason(self) -> str | None:
        """``acquired``, ``resigned:<reason>`` or ``stop``; ``None`` before the first."""
        return self._last_reason

    def is_leader(self) -> bool:
        """True while open, except during a resign hold-off."""
        return self._leader

    def events(self) -> AsyncIterator[LeaderEvent]:
        """Yield ``TAKEN`` / ``LOST`` transitions until :meth:`aclose`."""
        return self._fanout.subscribe(lambda: self._leader)

    async def __aenter__(self) -> Self:
        """Take leadership (or wait out a hold-off set before entering); return self."""
        if self._entered or self._closed:
            raise RuntimeError(f"{self!r} is entered once; create a new StandaloneElection")
        self._entered = True
        await self._schedule_take()
        return self

    async def __aexit__(self, *_: object) -> None:
        """Call :meth:`aclose`."""
        await self.aclose()

    async def aclose(self) -> None:
        """Final ``LOST`` if leader, then end every iterator. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        if self._retake is not None:
            await cancel_and_wait(self._retake)
        if self._leader:
            self._lose("stop")
        self._fanout.close()

    async def resign(self, reason: str, *, hold_off: float) -> None:
        """Step down if leader; lead again once ``hold_off`` seconds have passed.

        Raises:
            ConfigError: ``hold_off`` is negative or not a finite number.
        """
        wait = check_hold_off(hold_off)
        if self._closed:
            return
        self._hold_off_until = max(self._hold_off_until, self._clock.monotonic() + wait)
        if self._leader:
            self._lose(resigned(reason))
            log.info(
                "leadership resigned",
                extra={"election": self._name, "reason": reason, "hold_off": wait},
            )
        if self._entered:
            await self._schedule_take()

    def ensure_running(self) -> None:
        """Return while open (the default health check); raise otherwise.

        Raises:
            RuntimeError: not entered yet, or closed.
        """
        if not self._entered or self._closed:
            state = "closed" if self._closed else "not started"
            raise RuntimeError(f"election {self._name!r}: {state}")

    # -- internals -------------------------------------------------------------------------

    async def _schedule_take(self) -> None:
        if self._retake is not None:
            await cancel_and_wait(self._retake)  # a later hold-off supersedes the earlier one
            self._retake = None
        left = self._hold_off_until - self._clock.monotonic()
        if left <= 0:
            self._take()
            return
        self._retake = asyncio.create_task(
            self._take_at(self._hold_off_until), name=f"service_pkg:election:{self._name}:hold-off"
        )

    async def _take_at(self, until: float) -> None:
        # Measured from when the task runs, so time that passed before it did is not added.
        await self._clock.sleep(until - self._clock.monotonic())
        self._take()

    def _take(self) -> None:
        if self._leader or self._closed:
            return
        self._leader = True
        self._epoch += 1
        self._last_reason = ACQUIRED
        announce(self._bus, self._name, LeaderEvent.TAKEN, self._epoch, ACQUIRED)
        self._fanout.emit(LeaderEvent.TAKEN)

    def _lose(self, reason: str) -> None:
        self._leader = False
        self._last_reason = reason
        announce(self._bus, self._name, LeaderEvent.LOST, self._epoch, reason)
        self._fanout.emit(LeaderEvent.LOST)


def _open(election: StandaloneElection) -> None:
    election.ensure_running()


@default_health(_open, affects_readiness=False)
def standalone_election(
    *,
    name: str = "standalone",
    clock: Clock | None = None,
) -> StandaloneElection:
    """Component factory: ``election = Component(standalone_election)``.

    Returns the unstarted election; the component's start enters it (leader at once) and its
    stop closes it (final ``LOST``). Its default health check passes while it is open and
    does not affect readiness.
    """
    return StandaloneElection(name=name, clock=clock)
