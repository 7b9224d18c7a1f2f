"""Stop: modes, bounds, the report, idempotence, concurrency, restart (manual clock)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from service_pkg.scheduler import (
    Every,
    JobConfig,
    SchedulerConfig,
    SchedulerState,
    StopMode,
    StopReport,
)
from service_pkg.testing import ManualClock

from .conftest import Runs, advance, begin_stop, make, settle

GRACEFUL = StopMode.GRACEFUL


async def test_immediate_stop_cancels_the_run(clock: ManualClock, runs: Runs) -> None:
    """IMMEDIATE: the run in progress is cancelled at once and reported cancelled."""
    sched = make(clock, JobConfig(name="j", func=runs.job(hang=True), trigger=Every(1)))
    await sched.start()
    await advance(clock, 1)
    report = await sched.stop()
    assert report == StopReport(cancelled=1, duration=0.0)
    assert runs.ended == ["j"]
    assert sched.stats().jobs["j"].cancelled == 1


async def test_graceful_stop_lets_the_run_finish(clock: ManualClock, runs: Runs) -> None:
    """GRACEFUL: stop waits for the run in progress, which ends on its own."""
    job = JobConfig(name="g", func=runs.job(takes=2), trigger=Every(1), stop_mode=GRACEFUL)
    sched = make(clock, job)
    await sched.start()
    await advance(clock, 1)
    stopping = await begin_stop(sched)
    await advance(clock, 1.5)
    assert not stopping.done()
    assert sched.state is SchedulerState.STOPPING
    await advance(clock, 0.5)
    assert await stopping == StopReport(completed=1, duration=2.0)
    assert sched.stats().jobs["g"].succeeded == 1


async def test_graceful_run_is_bounded_by_its_deadline(clock: ManualClock, runs: Runs) -> None:
    """GRACEFUL: a hung run still ends at its own deadline, and the stop with it."""
    job = JobConfig(
        name="g", func=runs.job(hang=True), trigger=Every(1), stop_mode=GRACEFUL, deadline=3
    )
    sched = make(clock, job, stop_timeout=10)
    await sched.start()
    await advance(clock, 1)
    stopping = await begin_stop(sched)
    await advance(clock, 3)
    assert await stopping == StopReport(completed=1, duration=3.0)
    assert sched.stats().jobs["g"].timed_out == 1


async def test_graceful_run_is_cancelled_at_stop_timeout(clock: ManualClock, runs: Runs) -> None:
    """GRACEFUL without a deadline: the run is cancelled when stop_timeout runs out."""
    job = JobConfig(name="g", func=runs.job(hang=True), trigger=Every(1), stop_mode=GRACEFUL)
    sched = make(clock, job, stop_timeout=2)
    await sched.start()
    await advance(clock, 1)
    stopping = await begin_stop(sched)
    await advance(clock, 2)
    assert await stopping == StopReport(cancelled=1, duration=2.0)


async def test_stop_abandons_a_run_that_ignores_cancellation(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """A run that swallows its cancellation is abandoned after cancel_timeout and reported."""
    job = JobConfig(name="stubborn", func=runs.job(ignore_cancel=True), trigger=Every(1))
    sched = make(clock, job, cancel_timeout=0.5)
    await sched.start()
    await advance(clock, 1)
    stopping = await begin_stop(sched)
    await advance(clock, 0.5)
    report = await stopping
    assert report == StopReport(abandoned=1, abandoned_jobs=("stubborn",), duration=0.5)
    assert not report.clean
    assert sched.stats().running == 1
    [line] = [r for r in caplog.records if r.message == "job run abandoned"]
    assert (line.levelno, line.__dict__["job"]) == (logging.ERROR, "stubborn")
    await advance(clock, 100)  # the run gives up on its own; nothing is left behind
    assert sched.stats().running == 0
    assert runs.ended == ["stubborn"]


async def test_stop_is_bounded_by_stop_timeout_plus_cancel_timeout(
    clock: ManualClock, runs: Runs
) -> None:
    """However a GRACEFUL run behaves, stop returns after stop_timeout + cancel_timeout."""
    job = JobConfig(
        name="g", func=runs.job(ignore_cancel=True), trigger=Every(1), stop_mode=GRACEFUL
    )
    sched = make(clock, job, stop_timeout=2, cancel_timeout=1)
    await sched.start()
    await advance(clock, 1)
    stopping = await begin_stop(sched)
    await advance(clock, 2)
    assert not stopping.done()
    await advance(clock, 1)
    assert (await stopping).abandoned == 1
    await advance(clock, 100)


async def test_graceful_run_ignoring_its_deadline_is_abandoned_soon_after_it(
    clock: ManualClock, runs: Runs
) -> None:
    """A GRACEFUL run that survives its deadline is given up at deadline + cancel_timeout."""
    job = JobConfig(
        name="g",
        func=runs.job(ignore_cancel=True),
        trigger=Every(1),
        stop_mode=GRACEFUL,
        deadline=1,
    )
    sched = make(clock, job, stop_timeout=5, cancel_timeout=0.5)
    await sched.start()
    await advance(clock, 1)
    stopping = await begin_stop(sched)
    await advance(clock, 1)
    assert not stopping.done()
    await advance(clock, 0.5)
    report = await stopping
    assert (report.abandoned, report.duration) == (1, 1.5)
    await advance(clock, 100)


async def test_stop_report_counts_runs_that_never_started(clock: ManualClock, runs: Runs) -> None:
    """Slots waiting for the concurrency cap are dropped by the stop and reported."""
    jobs = [JobConfig(name=f"j{i}", func=runs.job(hang=True), trigger=Every(1)) for i in range(3)]
    sched = make(clock, *jobs, max_concurrent_runs=1)
    await sched.start()
    await advance(clock, 1)
    assert await sched.stop() == StopReport(cancelled=1, dropped=2)
    assert [c.job for c in runs.ctxs] == ["j0"]


async def test_run_created_but_not_started_at_stop_is_dropped(
    clock: ManualClock, runs: Runs
) -> None:
    """A run whose task exists but whose body has not started never starts after a stop."""
    sched = make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1), stop_mode=GRACEFUL))
    await sched.start()
    await settle()
    clock.advance(1)
    while sched.stats().running == 0:  # noqa: ASYNC110 - stop right after the dispatch
        await asyncio.sleep(0)
    assert await sched.stop() == StopReport(dropped=1)
    assert runs.ctxs == []


async def test_stopping_a_stopped_scheduler_returns_an_empty_report(
    clock: ManualClock, runs: Runs
) -> None:
    """stop() is idempotent: before start and after a stop it does nothing."""
    sched = make(clock, JobConfig(name="j", func=runs.job(hang=True), trigger=Every(1)))
    assert await sched.stop() == StopReport()
    await sched.start()
    await advance(clock, 1)
    assert (await sched.stop()).cancelled == 1
    assert await sched.stop() == StopReport()
    assert sched.state is SchedulerState.STOPPED


async def test_concurrent_stops_share_one_report(clock: ManualClock, runs: Runs) -> None:
    """Callers of stop() during a stop wait for it and get its report."""
    job = JobConfig(name="g", func=runs.job(takes=2), trigger=Every(1), stop_mode=GRACEFUL)
    sched = make(clock, job)
    await sched.start()
    await advance(clock, 1)
    first = await begin_stop(sched)
    second = await begin_stop(sched)
    await advance(clock, 2)
    assert await first is await second
    assert (await first).completed == 1


async def test_restart_after_stop_anchors_a_new_grid(clock: ManualClock, runs: Runs) -> None:
    """start() after stop() works: the grid restarts at the new start; counters go on."""
    sched = make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)))
    await sched.start()
    await advance(clock, 1.5)
    await sched.stop()
    await advance(clock, 8.25)
    await sched.start()
    await advance(clock, 1, step=0.5)
    await sched.stop()
    assert [c.scheduled_at for c in runs.ctxs] == [1.0, 10.75]
    assert sched.stats().jobs["j"].runs == 2


async def test_start_while_running_logs_and_changes_nothing(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """A second start() logs 'scheduler already started' (as Go) and runs nothing twice."""
    sched = make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)))
    async with sched:
        await sched.start()
        await advance(clock, 1)
    assert len(runs.ctxs) == 1
    assert [r.levelno for r in caplog.records if r.message == "scheduler already started"] == [
        logging.WARNING
    ]


async def test_concurrent_starts_and_stops_never_deadlock(clock: ManualClock, runs: Runs) -> None:
    """Start/stop races (Go bugs #7 and #8) end in a consistent state with nothing left over."""
    job = JobConfig(name="j", func=runs.job(takes=0.5), trigger=Every(1), stop_mode=GRACEFUL)
    sched = make(clock, job)
    async with asyncio.timeout(5):
        for _ in range(20):
            await asyncio.gather(sched.start(), sched.stop(), sched.start(), sched.start())
            await advance(clock, 1)
            stopping = asyncio.gather(sched.stop(), sched.stop(), sched.start(), sched.stop())
            await advance(clock, 0.5)
            await stopping
        assert sched.state is SchedulerState.RUNNING  # the start queued behind the last stop
        await sched.stop()
    assert sched.stats().state is SchedulerState.STOPPED
    assert sched.stats().running == 0


async def test_cancelled_stop_still_stops_everything(clock: ManualClock, runs: Runs) -> None:
    """If the caller of stop() is cancelled, every run is cancelled and the scheduler stops."""
    job = JobConfig(name="g", func=runs.job(hang=True), trigger=Every(1), stop_mode=GRACEFUL)
    sched = make(clock, job)
    await sched.start()
    await advance(clock, 1)
    stopping = await begin_stop(sched)
    await settle()
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert sched.state is SchedulerState.STOPPED
    await settle()
    assert runs.ended == ["g"]
    assert sched.stats().jobs["g"].cancelled == 1


async def test_stop_of_10000_idle_jobs_leaves_nothing_behind(clock: ManualClock) -> None:
    """Idle jobs cost no task: 10,000 of them stop at once, with nothing left over."""

    async def noop(ctx: object) -> None:
        pass

    jobs = [JobConfig(name=f"j{i}", func=noop, trigger=Every(60)) for i in range(10_000)]
    sched = make(clock, *jobs)
    await sched.start()
    await settle()
    assert len(asyncio.all_tasks()) <= 3  # the test, the dispatcher, its clock sleeper
    assert await sched.stop() == StopReport()


async def test_async_with_starts_and_stops(clock: ManualClock, runs: Runs) -> None:
    """`async with scheduler:` runs it inside the block and stops it on exit."""
    sched = make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)))
    assert sched.config == SchedulerConfig()
    async with sched as entered:
        assert entered is sched
        assert sched.state is SchedulerState.RUNNING
    assert sched.stats().state is SchedulerState.STOPPED
    assert repr(sched) == "<Scheduler name='scheduler' state=stopped jobs=1 running=0>"


async def test_running_scheduler_collected_by_the_gc_warns(clock: ManualClock, runs: Runs) -> None:
    """A scheduler dropped while running emits ResourceWarning: its jobs would run on."""
    sched = make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)))
    await sched.start()
    engine = sched._engine
    assert engine is not None
    with pytest.warns(ResourceWarning, match="garbage-collected while running"):
        del sched  # no reference cycle: collected right here
    await engine.stop()


async def test_aclose_is_idempotent(clock: ManualClock, runs: Runs) -> None:
    """aclose() stops a running scheduler; a second aclose() (and __aexit__ after it) is a no-op."""
    sched = make(clock, JobConfig(name="j", func=runs.job(hang=True), trigger=Every(1)))
    async with sched:
        await advance(clock, 1)
        await sched.aclose()
        assert sched.state is SchedulerState.STOPPED
        await sched.aclose()
    assert sched.stats().jobs["j"].cancelled == 1


async def test_aclose_ends_every_task_the_scheduler_owns(clock: ManualClock, runs: Runs) -> None:
    """After aclose() no task of the scheduler is left: dispatcher, clock sleepers and runs."""
    jobs = [
        JobConfig(name="hung", func=runs.job(hang=True), trigger=Every(1), deadline=30),
        JobConfig(name="slow", func=runs.job(takes=5), trigger=Every(1), stop_mode=GRACEFUL),
        JobConfig(name="idle", func=runs.job(), trigger=Every(3600)),
    ]
    sched = make(clock, *jobs, max_concurrent_runs=2)
    await sched.start()
    await advance(clock, 1)
    assert len(asyncio.all_tasks()) > 1
    stopping = await begin_stop(sched)
    await advance(clock, 5)
    await stopping
    assert asyncio.all_tasks() == {asyncio.current_task()}
