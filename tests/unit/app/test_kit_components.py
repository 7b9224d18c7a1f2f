"""The kit's own components under the Application: health with no user code, job-run events."""

from __future__ import annotations

import asyncio

from dependency_injector import containers, providers

from service_pkg import Component
from service_pkg.events import Event, JobOutcome, JobRun
from service_pkg.health import HealthStatus
from service_pkg.leader import LeaderConfig, lock_election, standalone_election
from service_pkg.scheduler import Every, JobConfig, RunContext, scheduler
from service_pkg.testing import InMemoryLock, ManualClock, run_components


async def tick(_: RunContext) -> None:
    await asyncio.sleep(0)


async def test_scheduler_and_elections_report_health_without_user_code() -> None:
    """The scheduler, a lock election and the standalone election are `ok` and optional."""
    lock = InMemoryLock("cron", ttl=1.0)

    class C(containers.DeclarativeContainer):
        jobs = Component(scheduler, None, [JobConfig(name="t", func=tick, trigger=Every(60))])
        vote = Component(
            lock_election, providers.Object(lock), LeaderConfig(name="cron", expiration=1.0)
        )
        solo = Component(standalone_election)

    async with run_components(C()) as app:
        report = await app.health()
    assert [(c.name, c.status, c.affects_readiness) for c in report.components] == [
        ("jobs", HealthStatus.OK, False),
        ("vote", HealthStatus.OK, False),
        ("solo", HealthStatus.OK, False),
    ]


async def test_job_runs_reach_the_application_stream() -> None:
    """A scheduler started by the Application publishes its JobRun events on app.events."""
    clock = ManualClock()
    seen: list[Event] = []

    class C(containers.DeclarativeContainer):
        jobs = Component(
            scheduler,
            None,
            [JobConfig(name="t", func=tick, trigger=Every(1))],
            clock=providers.Object(clock),
        )

    async with run_components(C()) as app:
        app.subscribe(seen.append, JobRun)
        for _ in range(3):
            clock.advance(1)
            for _ in range(20):
                await asyncio.sleep(0)
    runs = [e for e in seen if isinstance(e, JobRun) and e.outcome is JobOutcome.OK]
    assert [(r.job, r.scheduler) for r in runs[:2]] == [("t", "scheduler"), ("t", "scheduler")]
