"""Job series read from ``Scheduler.stats()`` at scrape time, rendered by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from service_pkg.metrics._aggregate import escape_label, format_number, header
from service_pkg.scheduler import SchedulerStats

__all__ = ("SchedulerFamilies",)

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

_TIMINGS = (("duration", "How long ended runs took."), ("lateness", "How late runs started."))

Reader = Callable[[], SchedulerStats]


class SchedulerFamilies:
    """The job families of every scheduler handed to :meth:`add`, from their stats.

    ``service_pkg_job_runs_total`` by outcome, ``service_pkg_job_duration_seconds`` and
    ``service_pkg_job_lateness_seconds`` as summaries (count and sum), and the largest values
    as ``service_pkg_job_duration_max_seconds`` / ``service_pkg_job_lateness_max_seconds``.
    Rendered by hand like the other hot families: a scrape of 10,000 jobs is 130,000 samples.
    """

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._readers: list[Reader] = []
        self._labels: dict[tuple[str, str], str] = {}

    def add(self, read: Reader) -> Callable[[], None]:
        """Read ``read()`` at every scrape; returns the removal (idempotent)."""
        self._readers.append(read)

        def remove() -> None:
            if read in self._readers:
                self._readers.remove(read)

        return remove

    def _snapshots(self) -> list[SchedulerStats]:
        return [read() for read in tuple(self._readers)]

    def _label(self, scheduler: str, job: str) -> str:
        key = (scheduler, job)
        text = self._labels.get(key)
        if text is None:
            text = self._labels[key] = (
                f'scheduler="{escape_label(scheduler)}",job="{escape_label(job)}"'
            )
        return text

    def render(self, out: list[str]) -> None:
        """Append the text exposition of the five families to ``out``."""
        if not self._readers:
            return
        stats = self._snapshots()
        p = self._prefix
        runs = f"{p}job_runs_total"
        out.append(header(runs, "Slots of a job by outcome (the scheduler's counters).", "counter"))
        for s in stats:
            for job in s.jobs.values():
                labels = self._label(s.name, job.name)
                for outcome, field in _OUTCOMES:
                    out.append(f'{runs}{{{labels},outcome="{outcome}"}} {getattr(job, field)}.0\n')
        for name, doc in (
            ("duration", "How long ended runs took."),
            ("lateness", "How late runs started."),
        ):
            family = f"{p}job_{name}_seconds"
            out.append(header(family, doc, "summary"))
            for s in stats:
                for job in s.jobs.values():
                    timing = getattr(job, name)
                    labels = self._label(s.name, job.name)
                    out.append(f"{family}_count{{{labels}}} {timing.count}.0\n")
                    out.append(f"{family}_sum{{{labels}}} {format_number(timing.total)}\n")
            gauge = f"{p}job_{name}_max_seconds"
            out.append(header(gauge, f"The largest {name} so far.", "gauge"))
            for s in stats:
                for job in s.jobs.values():
                    labels = self._label(s.name, job.name)
                    out.append(f"{gauge}{{{labels}}} {format_number(getattr(job, name).max)}\n")

    def collect(self) -> Iterator[Metric]:
        """The same families as prometheus-client objects (``get_sample_value`` and co.)."""
        if not self._readers:
            return
        p, labels = self._prefix, ("scheduler", "job")
        runs = CounterMetricFamily(
            f"{p}job_runs", "Slots of a job by outcome.", labels=(*labels, "outcome")
        )
        families: dict[str, tuple[SummaryMetricFamily, GaugeMetricFamily]] = {
            name: (
                SummaryMetricFamily(f"{p}job_{name}_seconds", "", labels=labels),
                GaugeMetricFamily(f"{p}job_{name}_max_seconds", "", labels=labels),
            )
            for name in ("duration", "lateness")
        }
        for s in self._snapshots():
            for job in s.jobs.values():
                key = (s.name, job.name)
                for outcome, field in _OUTCOMES:
                    runs.add_metric((*key, outcome), float(getattr(job, field)))
                for name, (summary, gauge) in families.items():
                    timing = getattr(job, name)
                    summary.add_metric(key, timing.count, timing.total)
                    gauge.add_metric(key, timing.max)
        yield runs
        for summary, gauge in families.values():
            yield summary
            yield gauge

    def describe(self) -> Iterator[Metric]:
        """The names, so a duplicate registration is refused."""
        p = self._prefix
        yield CounterMetricFamily(f"{p}job_runs", "")
        for name in ("duration", "lateness"):
            yield SummaryMetricFamily(f"{p}job_{name}_seconds", "")
            yield GaugeMetricFamily(f"{p}job_{name}_max_seconds", "")
