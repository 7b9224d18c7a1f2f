"""A short smoke run on the real clock: the loop's own timers drive slots and deadlines."""

from __future__ import annotations

import asyncio
import time

from service_pkg.scheduler import (
    Cron,
    Every,
    JobConfig,
    RunContext,
    Scheduler,
    SchedulerConfig,
    StopMode,
)


async def test_smoke_run_on_the_real_clock() -> None:
    """Interval, @every and deadline jobs run on time for 0.3 s, then stop cleanly."""
    lateness: list[float] = []
    timeouts = 0

    async def tick(ctx: RunContext) -> None:
        lateness.append(time.monotonic() - ctx.scheduled_at)

    async def hang(ctx: RunContext) -> None:
        nonlocal timeouts
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            timeouts += 1
            raise

    sched = Scheduler(SchedulerConfig(name="smoke"))
    sched.add(JobConfig(name="tick", func=tick, trigger=Every(0.02), run_immediately=True))
    sched.add(JobConfig(name="every", func=tick, trigger=Cron("@every 30ms")))
    sched.add(JobConfig(name="hang", func=hang, trigger=Every(0.05), deadline=0.03))
    async with sched:
        await asyncio.sleep(0.3)
    stats = sched.stats().jobs
    assert stats["tick"].runs >= 8
    assert stats["every"].runs >= 5
    assert stats["hang"].timed_out >= 2
    assert timeouts == stats["hang"].timed_out + stats["hang"].cancelled
    assert all(-1e-3 < late < 0.1 for late in lateness)
    assert sched.stats().running == 0


async def test_graceful_stop_on_the_real_clock_waits_for_the_run() -> None:
    """A GRACEFUL run in progress finishes before stop() returns."""
    started = asyncio.Event()
    finished = asyncio.Event()

    async def work(ctx: RunContext) -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.set()

    sched = Scheduler(SchedulerConfig(stop_timeout=2))
    sched.add(
        JobConfig(
            name="work", func=work, trigger=Every(0.01), stop_mode=StopMode.GRACEFUL, deadline=1
        )
    )
    await sched.start()
    # The run must be under way when the stop comes; a fixed sleep raced it on a loaded machine.
    await asyncio.wait_for(started.wait(), 10)
    report = await sched.stop()
    assert finished.is_set()
    assert report.completed == 1
