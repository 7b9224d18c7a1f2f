"""The scheduler as a component: factory, leader gating and fencing, several schedulers."""

from __future__ import annotations

import logging

import pytest
from dependency_injector import containers, providers

from service_pkg import Component, Priority
from service_pkg.scheduler import (
    Every,
    JobConfig,
    Scheduler,
    SchedulerConfig,
    SchedulerState,
    scheduler,
)
from service_pkg.testing import ManualClock, ManualElection, manual_election, run_components

from .conftest import Runs, advance, settle


async def test_component_runs_jobs_and_stops_with_the_application(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """Component(scheduler, ...) starts the jobs and stops them with the shutdown reason."""
    caplog.set_level(logging.INFO, "service_pkg.scheduler")
    jobs = [JobConfig(name="j", func=runs.job(), trigger=Every(1))]

    class Container(containers.DeclarativeContainer):
        # providers.Object keeps the clock itself: containers deep-copy plain arguments
        jobs_ = Component(
            scheduler, SchedulerConfig(name="etl"), jobs, clock=providers.Object(clock)
        )

    container = Container()
    async with run_components(container):
        sched = container.jobs_()
        assert isinstance(sched, Scheduler)
        await advance(clock, 2, step=1)
    assert len(runs.ctxs) == 2
    [stopping] = [r for r in caplog.records if r.message == "scheduler stopping"]
    assert (stopping.__dict__["scheduler"], stopping.__dict__["reason"]) == ("etl", "requested")


def test_factory_returns_the_unstarted_scheduler_with_its_jobs(runs: Runs) -> None:
    """scheduler(...) only builds: the Component starts it (async with) and stops it."""
    jobs = [JobConfig(name=n, func=runs.job(), trigger=Every(1)) for n in ("a", "b")]
    sched = scheduler(SchedulerConfig(name="etl"), jobs)
    assert (sched.state, [j.name for j in sched.jobs]) == (SchedulerState.STOPPED, ["a", "b"])


async def test_component_stop_logs_the_application_shutdown_reason(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped by the application, the scheduler's stop lines carry its ShutdownReason."""
    caplog.set_level(logging.INFO, "service_pkg.scheduler")

    class Container(containers.DeclarativeContainer):
        election_ = Component(manual_election)
        jobs_ = Component(
            scheduler,
            None,
            [JobConfig(name="j", func=runs.job(), trigger=Every(1))],
            clock=providers.Object(clock),
            leader=election_,
        )

    container = Container()
    async with run_components(container):
        container.election_().take()
        await settle()
        container.election_().lose()
        await settle()
    reasons = [r.__dict__["reason"] for r in caplog.records if r.message == "scheduler stopped"]
    assert reasons == ["leadership_lost"]


async def test_run_is_fenced_when_the_election_says_not_leader(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """Each run checks is_leader() right before it starts; a follower's slot is counted fenced."""
    caplog.set_level(logging.INFO, "service_pkg.scheduler")
    election = ManualElection(leader=True)
    sched = Scheduler(clock=clock, election=election)
    sched.add(JobConfig(name="j", func=runs.job(), trigger=Every(1)))
    async with sched:
        await advance(clock, 1)
        election.lose()  # no stop yet: only the per-run check stands in the way
        await advance(clock, 1)
        election.take()
        await advance(clock, 1)
        stats = sched.stats().jobs["j"]
    assert [(c.scheduled_at, c.epoch) for c in runs.ctxs] == [(1.0, 1), (3.0, 2)]
    assert (stats.runs, stats.fenced) == (2, 1)
    assert [r.__dict__["job"] for r in caplog.records if "not leader" in r.message] == ["j"]


async def test_gated_scheduler_runs_only_while_leader(clock: ManualClock, runs: Runs) -> None:
    """With leader=, the scheduler starts on TAKEN and stops on LOST; runs carry the epoch."""
    jobs = [JobConfig(name="j", func=runs.job(), trigger=Every(1))]

    class Container(containers.DeclarativeContainer):
        election = Component(manual_election)
        jobs_ = Component(
            scheduler, None, jobs, election, clock=providers.Object(clock), leader=election
        )

    container = Container()
    async with run_components(container):
        election = container.election()
        await advance(clock, 3, step=1)
        assert runs.ctxs == []
        election.take()
        await settle()
        await advance(clock, 2, step=1)
        election.lose()
        await settle()
        await advance(clock, 3, step=1)
        election.take()
        await settle()
        await advance(clock, 1)
    assert [(c.scheduled_at, c.epoch) for c in runs.ctxs] == [(4.0, 1), (5.0, 1), (9.0, 2)]


async def test_several_schedulers_run_side_by_side(clock: ManualClock, runs: Runs) -> None:
    """The Go TaskSupervisor is just several scheduler components under one application."""

    class Container(containers.DeclarativeContainer):
        fast = Component(
            scheduler,
            SchedulerConfig(name="fast"),
            providers.List(
                providers.Object(JobConfig(name="f", func=runs.job(), trigger=Every(1)))
            ),
            clock=providers.Object(clock),
            priority=Priority.HIGH,
        )
        slow = Component(
            scheduler,
            SchedulerConfig(name="slow"),
            [JobConfig(name="s", func=runs.job(), trigger=Every(2))],
            clock=providers.Object(clock),
            priority=Priority.LOW,
        )

    async with run_components(Container()) as app:
        await advance(clock, 4, step=1)
        assert app.plan.stop_order == ("fast", "slow")
    assert sorted(c.job for c in runs.ctxs) == ["f", "f", "f", "f", "s", "s"]
