"""The scheduler's default health check: healthy while its dispatcher runs (manual clock)."""

from __future__ import annotations

import logging

import pytest
from dependency_injector import containers, providers

from service_pkg import Component
from service_pkg.exceptions import DispatcherError
from service_pkg.health import HealthCheck, factory_health
from service_pkg.scheduler import (
    Every,
    JobConfig,
    Scheduler,
    SchedulerConfig,
    SchedulerState,
    scheduler,
)
from service_pkg.testing import ManualClock, run_components

from .conftest import BreakableWall, Runs, advance


def default_check() -> HealthCheck:
    check = factory_health(scheduler)
    assert check is not None
    return check


def test_scheduler_factory_brings_a_check_that_does_not_affect_readiness() -> None:
    """Component(scheduler, ...) gets a health check with no user code, not affecting readiness."""
    assert default_check().affects_readiness is False


async def test_check_passes_while_the_dispatcher_runs_whatever_the_jobs_do(
    clock: ManualClock, runs: Runs
) -> None:
    """Failing, timed-out and skipped runs leave the scheduler healthy."""
    jobs = [
        JobConfig(name="bad", func=runs.job(fail=ValueError("x")), trigger=Every(1)),
        JobConfig(name="hung", func=runs.job(hang=True), trigger=Every(1), deadline=1.5),
    ]

    class Container(containers.DeclarativeContainer):
        jobs_ = Component(scheduler, None, jobs, clock=providers.Object(clock))

    container = Container()
    async with run_components(container):
        await advance(clock, 3, step=0.5)
        sched = container.jobs_()
        stats = sched.stats().jobs
        assert (stats["bad"].failed, stats["hung"].timed_out, stats["hung"].skipped) == (3, 1, 1)
        assert default_check().check(sched) is None


async def test_check_fails_clearly_when_the_dispatcher_crashed(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """A crashed dispatcher is logged once and fails the check, naming the scheduler and cause."""
    wall = BreakableWall(clock)
    sched = scheduler(
        None, [JobConfig(name="j", func=runs.job(), trigger=Every(1))], clock=clock, wall_clock=wall
    )
    async with sched:
        wall.broken = True
        await advance(clock, 1)
        with pytest.raises(DispatcherError) as info:
            default_check().check(sched)
        assert sched.state is SchedulerState.RUNNING  # still stoppable as usual
    assert str(info.value) == (
        "scheduler 'scheduler': dispatcher crashed, no job is dispatched until a restart "
        "(got OSError('wall clock unavailable'))"
    )
    assert isinstance(info.value.__cause__, OSError)
    crashes = [r for r in caplog.records if r.message == "scheduler dispatcher crashed"]
    assert [(r.levelno, r.__dict__["scheduler"]) for r in crashes] == [(logging.ERROR, "scheduler")]
    assert runs.ctxs == []


def test_check_fails_on_a_scheduler_that_is_not_running(clock: ManualClock) -> None:
    """A stopped scheduler dispatches nothing: the check says so, with the state."""
    sched = Scheduler(SchedulerConfig(name="nightly"), clock=clock)
    with pytest.raises(DispatcherError, match=r"'nightly': not running, .*got state 'stopped'"):
        default_check().check(sched)
