"""Job-run series read at scrape time from ``Scheduler.stats()``: no cost per run."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from service_pkg.exceptions import ConfigError
from service_pkg.metrics._events import PREFIX
from service_pkg.metrics._registry import KitMetrics
from service_pkg.scheduler import SchedulerStats

__all__ = ("scheduler_families", "scheduler_metrics")

# JobStats counters → the outcome label of service_pkg_job_runs_total (as the events name them).
_OUTCOMES = (
    ("ok", "succeeded"),
    ("failed", "failed"),
    ("timed_out", "timed_out"),
    ("cancelled", "cancelled"),
    ("skipped", "skipped"),
    ("missed", "missed"),
    ("fenced", "fenced"),
)


def scheduler_families(read: Callable[[], SchedulerStats]) -> Callable[[], Iterator[Metric]]:
    """A scrape-time source (for :meth:`KitMetrics.add_source`) of one scheduler's job series.

    ``service_pkg_job_runs_total`` by outcome, ``service_pkg_job_duration_seconds`` and
    ``service_pkg_job_lateness_seconds`` as summaries (count and sum), and their largest
    values as ``service_pkg_job_duration_max_seconds`` / ``..._lateness_max_seconds``.
    """
    if not callable(read):
        raise ConfigError("read", read, "must be callable")

    def families() -> Iterator[Metric]:
        stats = read()
        labels = ("scheduler", "job")
        runs = CounterMetricFamily(
            f"{PREFIX}job_runs",
            "Slots of a job by outcome (from the scheduler's counters).",
            labels=(*labels, "outcome"),
        )
        duration = SummaryMetricFamily(
            f"{PREFIX}job_duration_seconds", "How long ended runs took.", labels=labels
        )
        lateness = SummaryMetricFamily(
            f"{PREFIX}job_lateness_seconds", "How late runs started.", labels=labels
        )
        duration_max = GaugeMetricFamily(
            f"{PREFIX}job_duration_max_seconds", "The longest run so far.", labels=labels
        )
        lateness_max = GaugeMetricFamily(
            f"{PREFIX}job_lateness_max_seconds", "The latest start so far.", labels=labels
        )
        for job in stats.jobs.values():
            key = (stats.name, job.name)
            for outcome, field in _OUTCOMES:
                runs.add_metric((*key, outcome), float(getattr(job, field)))
            duration.add_metric(key, job.duration.count, job.duration.total)
            lateness.add_metric(key, job.lateness.count, job.lateness.total)
            duration_max.add_metric(key, job.duration.max)
            lateness_max.add_metric(key, job.lateness.max)
        yield from (runs, duration, lateness, duration_max, lateness_max)

    return families


async def scheduler_metrics(
    kit: KitMetrics, scheduler: object
) -> AsyncGenerator[KitMetrics, object]:
    """Component factory: a scheduler's job series from its ``stats()`` at every scrape.

    ``Component(scheduler_metrics, metrics, jobs)`` with
    ``Component(metrics, runtime, MetricsConfig(job_events=False), ...)``: the metrics then
    do not subscribe to job runs, so the scheduler builds no event per run and pays nothing
    for metrics (the event-based series cost about 2 µs per run, see docs/performance.md).
    The price: durations and lateness are count / sum / max, without histogram buckets, and
    a scrape copies every job's counters (``Scheduler.stats()``). Stop removes the source.

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
    remove = kit.add_source(scheduler_families(read))
    try:
        yield kit
    finally:
        remove()
