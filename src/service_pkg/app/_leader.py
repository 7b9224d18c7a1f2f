"""Leader gating: one supervisor task per election drives its gated group (Go LeaderSupervisor)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from service_pkg._tasks import cancel_and_wait
from service_pkg.app._health import mask_secrets
from service_pkg.app._state import ShutdownReason
from service_pkg.app._steps import Steps
from service_pkg.leader import LeaderElection, LeaderEvent

__all__ = ("GATED_START_FAILED", "Backoff", "GroupSupervisor", "close_all")

log = logging.getLogger("service_pkg.app")

GATED_START_FAILED = "gated_start_failed"
"""The ``resign()`` reason of an election whose gated group failed to start."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Hold-off after the n-th consecutive failed start of a gated group: base·2^(n-1), capped."""

    base: float
    cap: float

    def after(self, failures: int) -> float:
        """The hold-off after ``failures`` (≥ 1) consecutive failures."""
        return min(self.cap, self.base * 2.0 ** min(failures - 1, 62))


class GroupSupervisor:
    """Starts a gated group on ``TAKEN`` and stops it on ``LOST``, one transition at a time.

    Fixes of the Go supervisor: no lock is held across user code, so shutdown never waits on
    a mutex (bug #12); shutdown always stops a running group itself instead of trusting a
    flag another goroutine may clear (bug #11); the loop is started by the application, not
    left to the user (bug #15). Duplicate events do nothing. A ``LOST`` that arrives while
    the group starts is read right after the start and stops it.

    When the group fails to start, what started of it is rolled back and the election is
    asked to :meth:`~service_pkg.leader.LeaderElection.resign` with a hold-off that doubles on
    each consecutive failure (capped), so another replica can lead; :attr:`failure` says why
    until a start succeeds.
    """

    def __init__(  # noqa: PLR0917 - internal; one call site
        self,
        steps: Steps,
        election: str,
        members: Sequence[str],
        value: LeaderElection,
        stop_budget: float,
        backoff: Backoff,
    ) -> None:
        self._steps = steps
        self._stop_budget = stop_budget
        self._election = election
        self._members = tuple(members)
        self._value = value
        self._backoff = backoff
        self._running = False
        self._busy = False
        self._closing = False
        self._failures = 0
        self._failure: str | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def members(self) -> tuple[str, ...]:
        """The gated components, in start order."""
        return self._members

    @property
    def failure(self) -> str | None:
        """Why the last start failed and when it is retried; ``None`` once a start succeeds."""
        return self._failure

    def spawn(self) -> None:
        """Start reading the election's events in a task the application owns."""
        self._task = asyncio.create_task(self._loop(), name=f"service_pkg:leader:{self._election}")

    def begin_close(self) -> asyncio.Task[None] | None:
        """Stop reading events; return the task to wait for, if it still runs.

        An idle supervisor is cancelled at once; one in the middle of a transition is left to
        finish it (its loop ends right after).
        """
        self._closing = True
        if self._task is None or self._task.done():
            return None
        if not self._busy:
            self._task.cancel()
        return self._task

    async def _loop(self) -> None:
        try:
            async for event in self._value.events():
                self._busy = True
                try:
                    await self._apply(event)
                finally:
                    self._busy = False
                if self._closing:
                    return
        except asyncio.CancelledError:
            if not self._closing:
                raise
            return
        except Exception:
            log.exception("election events failed", extra={"component": self._election})
        if not self._closing:
            # No more events means no more leadership we can vouch for.
            await self._lose()

    async def _apply(self, event: LeaderEvent) -> None:
        # == and not `is`: an election may yield the plain Go numbers 1 and 2.
        if event == LeaderEvent.TAKEN:
            await self._take()
        elif event == LeaderEvent.LOST:
            await self._lose()

    async def _take(self) -> None:
        if self._running:
            return
        log.info("leadership taken, starting gated group", extra={"component": self._election})
        self._running = True
        try:
            for name in self._members:
                await self._steps.start(name)
        except Exception as exc:  # noqa: BLE001 - logged per component; roll back, step down
            await self._stop_members(ShutdownReason.START_FAILURE)
            self._running = False
            await self._step_down(exc)
            return
        self._failures = 0
        self._failure = None

    async def _step_down(self, exc: Exception) -> None:
        self._failures += 1
        hold_off = self._backoff.after(self._failures)
        self._failure = mask_secrets(f"{exc}; resigned, retrying in {hold_off:g} s")
        log.error(
            "gated group failed to start; resigning leadership",
            extra={
                "component": self._election,
                "failures": self._failures,
                "hold_off": hold_off,
            },
        )
        try:
            await self._value.resign(GATED_START_FAILED, hold_off=hold_off)
        except Exception:  # the election's own loop keeps trying; the lease expires anyway
            log.exception("resign failed", extra={"component": self._election})

    async def _lose(self) -> None:
        if not self._running:
            return
        log.info("leadership lost, stopping gated group", extra={"component": self._election})
        await self._stop_members(ShutdownReason.LEADERSHIP_LOST)
        self._running = False

    async def _stop_members(self, reason: ShutdownReason) -> None:
        deadline = time.monotonic() + self._stop_budget
        errors = await self._steps.stop_all(reversed(self._members), reason, deadline)
        self._steps.late_errors += errors


async def close_all(supervisors: Sequence[GroupSupervisor], deadline: float) -> None:
    """Close every supervisor; cancel transitions still running at ``deadline``."""
    tasks = [t for t in (s.begin_close() for s in supervisors) if t is not None]
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    await cancel_and_wait(*pending)
