"""A real scrape over loopback of a running application: jobs, leadership, a gated restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from dependency_injector import containers, providers
from prometheus_client.parser import text_string_to_metric_families

from service_pkg import Application, Component
from service_pkg.app import Runtime
from service_pkg.metrics import (
    METRICS_PRIORITY,
    ExporterConfig,
    MetricsExporter,
    metrics,
    metrics_exporter,
    scheduler_metrics,
)
from service_pkg.scheduler import Every, JobConfig, RunContext, SchedulerConfig, scheduler
from service_pkg.testing import ManualElection, manual_election

pytestmark = pytest.mark.integration


async def tick(_ctx: RunContext) -> None:
    return None


JOBS = [JobConfig(name="tick", func=tick, trigger=Every(0.02))]


class Container(containers.DeclarativeContainer):
    runtime = providers.Dependency(instance_of=Runtime)
    metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
    exporter = Component(metrics_exporter, metrics, ExporterConfig(host="127.0.0.1", port=0))
    vote = Component(manual_election)
    jobs = Component(scheduler, SchedulerConfig(name="main"), JOBS, vote, leader=vote)
    job_metrics = Component(scheduler_metrics, metrics, jobs, leader=vote)


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polls real components, bounded above
            await asyncio.sleep(0.01)


async def test_a_scrape_of_the_running_application_shows_jobs_leadership_and_restarts() -> None:
    """TAKEN, runs, LOST, TAKEN again: the scrape over HTTP shows all of it."""
    container = Container()
    async with Application(container, install_signals=False):
        exporter = container.exporter()
        election = container.vote()
        assert isinstance(exporter, MetricsExporter)
        assert isinstance(election, ManualElection)
        await until(lambda: election.subscribers == 1)
        election.take()
        runs = (
            "service_pkg_job_runs_total",
            (("job", "tick"), ("outcome", "ok"), ("scheduler", "main")),
        )
        await until(lambda: container.jobs.started)
        first = await scrape(exporter.url)
        election.lose()
        await until(lambda: not container.jobs.started)
        election.take()
        await until(lambda: container.jobs.started)
        async with asyncio.timeout(10):  # the restarted scheduler runs again
            while (second := await scrape(exporter.url)).get(runs, 0.0) <= first.get(runs, 0.0):  # noqa: ASYNC110 - polls a real scrape
                await asyncio.sleep(0.02)

    assert second[runs] > first.get(runs, 0.0)
    leader = ("service_pkg_leader_is_leader", (("election", "manual"),))
    epoch = ("service_pkg_leader_epoch", (("election", "manual"),))
    assert second[leader] == 1
    assert second[epoch] == 2
    starts = (
        "service_pkg_component_start_duration_seconds_count",
        (("component", "jobs"), ("outcome", "ok")),
    )
    assert second[starts] == 2
    stops = (
        "service_pkg_component_stop_duration_seconds_count",
        (("component", "jobs"), ("outcome", "ok"), ("reason", "leadership_lost")),
    )
    assert second[stops] == 1
    lost = (
        "service_pkg_leader_transitions_total",
        (("election", "manual"), ("event", "lost"), ("reason", "lost")),
    )
    assert second[lost] == 1
    running = ("service_pkg_application_state", (("state", "running"),))
    assert second[running] == 1
