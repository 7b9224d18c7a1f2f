"""Shared helpers: a manual clock, a scheduler on it, and jobs that record their runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from service_pkg.events import EventBus
from service_pkg.scheduler import JobConfig, RunContext, Scheduler, SchedulerConfig, StopReport
from service_pkg.testing import ManualClock

WALL0 = 1_700_000_000.0
"""Epoch seconds at manual time 0 (2023-11-14T22:13:20Z): cron tests count from here."""


async def settle(rounds: int = 12) -> None:
    """Yield to the loop enough times for woken dispatchers and runs to move on."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def advance(clock: ManualClock, seconds: float, *, step: float | None = None) -> None:
    """Move manual time forward by ``seconds`` (in ``step`` increments), settling after each."""
    if step is None:
        clock.advance(seconds)
        await settle()
        return
    steps = round(seconds / step)
    for _ in range(steps):
        clock.advance(step)
        await settle()


async def advance_to(clock: ManualClock, when: float) -> None:
    """Move manual time to exactly ``when`` (no accumulated rounding), then settle."""
    clock.advance(when - clock.monotonic())
    assert clock.monotonic() == when
    await settle()


async def begin_stop(sched: Scheduler) -> asyncio.Task[StopReport]:
    """Start ``sched.stop()`` in a task and let it begin, so its clock waits start now."""
    task = asyncio.create_task(sched.stop())
    await settle()
    return task


class Runs:
    """Makes job functions that record every run's context in ``ctxs``."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.ctxs: list[RunContext] = []
        self.ended: list[str] = []
        self.active = 0
        self.peak = 0

    def of(self, name: str) -> list[RunContext]:
        return [c for c in self.ctxs if c.job == name]

    def job(
        self,
        *,
        takes: float = 0.0,
        hang: bool = False,
        fail: BaseException | None = None,
        ignore_cancel: bool = False,
    ) -> Callable[[RunContext], Awaitable[None]]:
        """A job body: records, then takes clock time, hangs, raises, or ignores a cancel."""

        async def body(ctx: RunContext) -> None:
            self.ctxs.append(ctx)
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                if takes:
                    await self.clock.sleep(takes)
                if hang:
                    await asyncio.Event().wait()
                if ignore_cancel:
                    await _ignore_cancel(self.clock)
                if fail is not None:
                    raise fail
            finally:
                self.active -= 1
                self.ended.append(ctx.job)

        return body


async def _ignore_cancel(clock: ManualClock) -> None:
    """Swallow every cancellation until 100 s of clock time have passed."""
    deadline = clock.monotonic() + 100
    while clock.monotonic() < deadline:
        try:
            await clock.sleep(deadline - clock.monotonic())
        except asyncio.CancelledError:  # the misbehaving job under test
            continue


class BreakableWall:
    """A wall clock that follows the manual clock until it is broken, then raises."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.broken = False

    def __call__(self) -> float:
        if self.broken:
            raise OSError("wall clock unavailable")
        return WALL0 + self.clock.monotonic()


def make(
    clock: ManualClock,
    *jobs: JobConfig,
    wall: bool = False,
    events: EventBus | None = None,
    **config: object,
) -> Scheduler:
    """A scheduler on the manual clock (and a wall clock that follows it, if asked)."""
    sched = Scheduler(
        SchedulerConfig(**config),  # type: ignore[arg-type]
        clock=clock,
        wall_clock=(lambda: WALL0 + clock.monotonic()) if wall else None,
        events=events,
    )
    for job in jobs:
        sched.add(job)
    return sched


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(name="runs")
def _runs(clock: ManualClock) -> Runs:
    return Runs(clock)


@pytest.fixture(autouse=True)
async def _no_leftover_tasks() -> AsyncIterator[None]:
    """Every test ends with no task but its own: the scheduler leaves nothing behind."""
    yield
    await settle()
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not left, left
