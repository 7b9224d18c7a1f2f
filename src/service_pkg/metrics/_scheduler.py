"""``scheduler_metrics``: a scheduler's job series, read at scrape time from its stats."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from service_pkg.metrics._registry import KitMetrics

__all__ = ("scheduler_metrics",)


async def scheduler_metrics(
    kit: KitMetrics, scheduler: object
) -> AsyncGenerator[KitMetrics, object]:
    """Component factory: the job series of a scheduler, from ``Scheduler.stats()``.

    ``Component(scheduler_metrics, metrics, jobs)`` (with ``leader=election`` too when
    ``jobs`` is leader-gated, as a component using a gated one must be). Its value is ``kit``.
    At every scrape: ``service_pkg_job_runs_total`` by outcome and the
    ``service_pkg_job_duration_seconds`` / ``service_pkg_job_lateness_seconds`` histograms,
    from the counters and bucket counts the scheduler keeps anyway (its
    ``SchedulerConfig.job_buckets``), so a run pays nothing for metrics: no ``JobRun`` event
    is built for them.

    Start registers the reader; stop removes it but keeps the figures: the stopping
    scheduler is read until it has stopped (runs cancelled by its stop are counted), and a
    new scheduler of the same name, such as the gated group started again on ``TAKEN``,
    counts on from them.

    Raises:
        ConfigError: ``scheduler`` has no ``stats()``.
    """
    remove = kit.watch_scheduler(scheduler)
    try:
        yield kit
    finally:
        remove()
