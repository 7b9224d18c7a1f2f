"""MetricsConfig(job_events=False) + scheduler_metrics: job series from stats, no event per run."""

from __future__ import annotations

import pytest
from dependency_injector import containers, providers
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service_pkg import Application, Component
from service_pkg.app import Runtime
from service_pkg.events import EventBus, JobRun
from service_pkg.exceptions import ConfigError
from service_pkg.metrics import (
    METRICS_PRIORITY,
    KitMetrics,
    MetricsConfig,
    metrics,
    scheduler_metrics,
)
from service_pkg.scheduler import Every, JobConfig, RunContext, SchedulerConfig, scheduler

from .conftest import settle, value

LEAN = MetricsConfig(job_events=False)


async def boom(_ctx: RunContext) -> None:
    raise RuntimeError("job bug")


async def tick(_ctx: RunContext) -> None:
    return None


JOBS = [
    JobConfig(name="tick", func=tick, trigger=Every(0.01)),
    JobConfig(name="boom", func=boom, trigger=Every(0.01)),
]


class Container(containers.DeclarativeContainer):
    runtime = providers.Dependency(instance_of=Runtime)
    metrics = Component(metrics, runtime, LEAN, priority=METRICS_PRIORITY)
    jobs = Component(scheduler, SchedulerConfig(name="main"), JOBS)
    job_metrics = Component(scheduler_metrics, metrics, jobs)


def test_without_job_events_nobody_wants_job_runs() -> None:
    """The scheduler checks bus.wants(JobRun) before building one: it stays false."""
    bus = EventBus()
    KitMetrics(LEAN).subscribe_to(bus)
    assert not bus.wants(JobRun)


def test_with_job_events_job_runs_are_wanted() -> None:
    """The default: the recorder takes every kind."""
    bus = EventBus()
    KitMetrics().subscribe_to(bus)
    assert bus.wants(JobRun)


async def test_the_scrape_reads_runs_and_failures_from_the_scheduler() -> None:
    """Counters by outcome, durations as a summary, one family each in the exposition."""
    container = Container()
    async with Application(container, install_signals=False):
        kit = container.metrics()
        assert isinstance(kit, KitMetrics)
        runs = "service_pkg_job_runs_total"
        ok = {"scheduler": "main", "job": "tick", "outcome": "ok"}
        failed = {"scheduler": "main", "job": "boom", "outcome": "failed"}
        await settle(lambda: (value(kit, runs, **ok) or 0) >= 2)
        await settle(lambda: (value(kit, runs, **failed) or 0) >= 1)
        count = value(kit, "service_pkg_job_duration_seconds_count", scheduler="main", job="tick")
        assert count is not None
        assert count >= 1
        text = kit.exposition().decode()
        reference = generate_latest(kit.registry).decode()
    families = [f.name for f in text_string_to_metric_families(text)]
    assert families.count("service_pkg_job_runs") == 1
    assert families.count("service_pkg_job_duration_seconds") == 1
    # The hand rendering says what prometheus-client says of the same collectors.
    ours = {
        (s.name, tuple(sorted(s.labels.items())))
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name.startswith("service_pkg_job")
    }
    theirs = {
        (s.name, tuple(sorted(s.labels.items())))
        for f in text_string_to_metric_families(reference)
        for s in f.samples
        if s.name.startswith("service_pkg_job")
    }
    assert ours == theirs


async def test_scheduler_metrics_refuses_a_kit_that_records_job_events() -> None:
    """Both sources would expose the same names: a ConfigError says what to pass."""
    with pytest.raises(ConfigError, match="job_events=False"):
        await anext(scheduler_metrics(KitMetrics(), object()))


async def test_scheduler_metrics_refuses_something_without_stats() -> None:
    """The factory names the argument."""
    with pytest.raises(ConfigError, match="scheduler"):
        await anext(scheduler_metrics(KitMetrics(LEAN), object()))


def test_job_events_must_be_a_bool() -> None:
    """MetricsConfig validates the flag."""
    with pytest.raises(ConfigError, match="job_events"):
        MetricsConfig(job_events="no")  # type: ignore[arg-type]
