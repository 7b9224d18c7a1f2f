"""``scheduler_metrics``: job series read at scrape time from ``Scheduler.stats()``."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from service_pkg.exceptions import ConfigError
from service_pkg.metrics._registry import KitMetrics

__all__ = ("scheduler_metrics",)


async def scheduler_metrics(
    kit: KitMetrics, scheduler: object
) -> AsyncGenerator[KitMetrics, object]:
    """Component factory: a scheduler's job series from its ``stats()`` at every scrape.

    ``Component(scheduler_metrics, metrics, jobs)`` with
    ``Component(metrics, runtime, MetricsConfig(job_events=False), ...)``: the metrics then
    do not subscribe to job runs, so the scheduler builds no event per run and pays nothing
    for metrics (the event-based series cost about 2 µs per run, see docs/performance.md).
    The price: durations and lateness are count / sum / max, without histogram buckets, and
    a scrape copies every job's counters (``Scheduler.stats()``). Stop removes the reader.

    Raises:
        ConfigError: ``kit`` records job runs from events (the series would clash), or
            ``scheduler`` has no ``stats()``.
    """
    if kit.config.job_events:
        raise ConfigError(
            "job_events",
            kit.config.job_events,
            "scheduler_metrics needs Component(metrics, runtime, MetricsConfig(job_events=False))",
        )
    read = getattr(scheduler, "stats", None)
    if not callable(read):
        raise ConfigError("scheduler", type(scheduler).__name__, "must be a Scheduler")
    remove = kit.scheduler_stats.add(read)
    try:
        yield kit
    finally:
        remove()
