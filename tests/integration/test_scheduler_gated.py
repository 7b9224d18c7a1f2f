"""A leader-gated scheduler on the real clock, under an Application, with a manual election."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from dependency_injector import containers, providers

from service_pkg import Component
from service_pkg.events import EventBus, JobOutcome, JobRun
from service_pkg.scheduler import (
    Every,
    JobConfig,
    RunContext,
    Scheduler,
    SchedulerConfig,
    scheduler,
)
from service_pkg.testing import ManualElection, manual_election, run_components

pytestmark = pytest.mark.integration

SLOW_STOP = 0.25


async def settle_until(condition: object, seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - bounded poll
            await asyncio.sleep(0.005)


async def test_gated_scheduler_runs_only_while_leader_and_never_after_lost() -> None:
    """Runs happen only while leader; after LOST none starts, even while the group stops slowly."""
    runs: list[RunContext] = []

    async def job(ctx: RunContext) -> None:
        runs.append(ctx)

    async def slow_to_stop(sched: Scheduler) -> AsyncIterator[Scheduler]:
        # Stops before the scheduler (it depends on it) and takes its time: the scheduler
        # keeps dispatching meanwhile, and only the per-run leader check holds runs back.
        yield sched
        await asyncio.sleep(SLOW_STOP)

    class Container(containers.DeclarativeContainer):
        election = Component(manual_election)
        jobs = Component(
            scheduler,
            None,
            [JobConfig(name="j", func=job, trigger=Every(0.01))],
            election,
            leader=election,
        )
        downstream = Component(slow_to_stop, jobs, leader=election)

    container = Container()
    async with run_components(container):
        election = container.election()
        assert isinstance(election, ManualElection)
        await asyncio.sleep(0.05)
        assert runs == []

        election.take()
        await settle_until(lambda: len(runs) >= 5)
        sched = container.jobs()
        lost_at = time.monotonic()
        election.lose()
        await asyncio.sleep(SLOW_STOP / 2)
        assert sched.stats().state.value == "running"  # the group is still stopping
        await settle_until(lambda: sched.stats().state.value == "stopped")
        first_term = list(runs)
        assert all(c.started_at < lost_at for c in first_term)
        assert {c.epoch for c in first_term} == {1}
        assert sched.stats().jobs["j"].fenced >= 5

        election.take()
        await settle_until(lambda: len(runs) >= len(first_term) + 3)
    assert {c.epoch for c in runs[len(first_term) :]} == {2}


async def test_every_slot_of_a_gated_scheduler_ends_in_one_event_on_the_real_clock() -> None:
    """Runs while leader end ok, slots after LOST end fenced; the events match the counters."""
    events: list[JobRun] = []
    bus = EventBus()
    bus.subscribe(lambda e: events.append(e) if isinstance(e, JobRun) else None)

    async def job(_: RunContext) -> None:
        await asyncio.sleep(0)

    async def slow_to_stop(sched: Scheduler) -> AsyncIterator[Scheduler]:
        yield sched
        await asyncio.sleep(SLOW_STOP)

    class Container(containers.DeclarativeContainer):
        election = Component(manual_election)
        jobs = Component(
            scheduler,
            SchedulerConfig(name="gated"),
            [JobConfig(name="j", func=job, trigger=Every(0.01))],
            election,
            events=providers.Object(bus),
            leader=election,
        )
        downstream = Component(slow_to_stop, jobs, leader=election)

    container = Container()
    async with run_components(container):
        election = container.election()
        assert isinstance(election, ManualElection)
        election.take()
        await settle_until(lambda: len(events) >= 5)
        sched = container.jobs()
        election.lose()
        await settle_until(lambda: sched.stats().state.value == "stopped")
    stats = sched.stats().jobs["j"]
    outcomes = [e.outcome for e in events]
    assert {e.scheduler for e in events} == {"gated"}
    assert outcomes.count(JobOutcome.OK) == stats.succeeded
    assert outcomes.count(JobOutcome.FENCED) == stats.fenced >= 5
    assert sum(e.slots for e in events) == stats.runs + stats.skipped + stats.missed + stats.fenced
