"""The job series, read from ``Scheduler.stats()`` at scrape time and rendered by hand.

The scheduler keeps every job's counters and its histograms of lateness and of durations by
outcome (``Timing.buckets``) whatever listens; reading them here costs a run nothing, where a
``JobRun`` event per run cost about a quarter of the run (docs/observability.md, "Jobs").
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from service_pkg.events import JobOutcome
from service_pkg.metrics._aggregate import escape_label, format_number, header
from service_pkg.scheduler import JobStats, SchedulerState, SchedulerStats, Timing

__all__ = ("SchedulerFamilies",)

log = logging.getLogger("service_pkg.metrics")

Reader = Callable[[], SchedulerStats]

_RUNS_DOC = (
    "Slots of a job by outcome (ok, failed, timed_out, skipped, missed, fenced, "
    "cancelled); a stall's missed slots count one each."
)
_DURATION_DOC = "How long a run ran, by outcome (runs that began only)."
_LATENESS_DOC = "How long after its slot a run began (runs that began only)."

# The outcomes of a run that ended by itself: the duration histogram's outcome label.
_ENDED = ((JobOutcome.OK, "ok"), (JobOutcome.FAILED, "failed"), (JobOutcome.TIMED_OUT, "timed_out"))


def _slots(job: JobStats) -> tuple[tuple[str, int], ...]:
    """The run counter's outcomes, as the ``JobRun`` events name them."""
    return (
        ("ok", job.succeeded),
        ("failed", job.failed),
        ("timed_out", job.timed_out),
        # A CANCELLED event: a run the stop cancelled, or a slot it dropped before the run.
        ("cancelled", job.cancelled + job.dropped),
        ("skipped", job.skipped),
        ("missed", job.missed),
        ("fenced", job.fenced),
    )


def _add_timing(a: Timing, b: Timing) -> Timing:
    if not a.buckets:
        return b
    if not b.buckets:
        return a
    return Timing(
        count=a.count + b.count,
        total=a.total + b.total,
        max=max(a.max, b.max),
        last=b.last,
        buckets=tuple(x + y for x, y in zip(a.buckets, b.buckets, strict=True)),
    )


def _add(a: JobStats, b: JobStats) -> JobStats:
    """``b``'s figures on top of ``a``'s: a restarted scheduler goes on from its predecessor."""
    durations = dict(a.durations)
    for outcome, timing in b.durations.items():
        known = durations.get(outcome)
        durations[outcome] = timing if known is None else _add_timing(known, timing)
    return dataclasses.replace(
        b,
        runs=a.runs + b.runs,
        succeeded=a.succeeded + b.succeeded,
        failed=a.failed + b.failed,
        timed_out=a.timed_out + b.timed_out,
        cancelled=a.cancelled + b.cancelled,
        skipped=a.skipped + b.skipped,
        missed=a.missed + b.missed,
        fenced=a.fenced + b.fenced,
        dropped=a.dropped + b.dropped,
        lateness=_add_timing(a.lateness, b.lateness),
        duration=_add_timing(a.duration, b.duration),
        durations=durations,
    )


class _Retired:
    """The figures of the schedulers of one name that stopped, kept for their successors."""

    __slots__ = ("bounds", "jobs")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.jobs: dict[str, JobStats] = {}


_Row = tuple[tuple[str, str], str, JobStats, Sequence[str]]
"""``((scheduler, job), their label text, figures, formatted bucket bounds)``."""


class SchedulerFamilies:
    """``service_pkg_job_runs_total`` and the job duration and lateness histograms.

    Read at every scrape from the ``stats()`` of every scheduler handed to :meth:`add`. A
    scheduler whose reader was removed (its ``scheduler_metrics`` component stopped, as a
    leader-gated group does on ``LOST``) is still read until it has stopped, then its
    figures are kept under its name and job names, and the next scheduler of that name (the
    gated group started again) counts on from them: the counters never go back. Rendered by
    hand, like the other hot families: 10,000 jobs are about 290,000 lines.
    """

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._readers: list[Reader] = []
        self._retiring: list[Reader] = []
        self._retired: dict[str, _Retired] = {}
        self._labels: dict[tuple[str, str], str] = {}
        self._les: dict[tuple[float, ...], tuple[str, ...]] = {}

    def add(self, read: Reader) -> Callable[[], None]:
        """Read ``read()`` at every scrape; returns the removal (idempotent).

        After the removal the scheduler is read until its state is ``STOPPED`` (runs that
        end during its stop are counted), then its figures are folded in for good.
        """
        self._fold()
        self._readers.append(read)

        def remove() -> None:
            if read in self._readers:
                self._readers.remove(read)
                self._retiring.append(read)
                self._fold()

        return remove

    # -- reading ----------------------------------------------------------------------------

    def _read(self, read: Reader) -> SchedulerStats | None:
        try:
            return read()
        except Exception:  # one broken reader must not take the whole scrape down
            log.exception("scheduler stats failed; its jobs are left out of this scrape")
            return None

    def _fold(self) -> None:
        """Keep the figures of every retiring scheduler that has stopped, and drop it."""
        for read in tuple(self._retiring):
            stats = self._read(read)
            if stats is None or stats.state is not SchedulerState.STOPPED:
                continue
            self._retiring.remove(read)
            retired = self._retired.get(stats.name)
            if retired is None or retired.bounds != stats.job_buckets:
                # New buckets cannot be added to the old ones: the series start again.
                retired = self._retired[stats.name] = _Retired(stats.job_buckets)
            for name, job in stats.jobs.items():
                known = retired.jobs.get(name)
                retired.jobs[name] = job if known is None else _add(known, job)

    def _rows(self) -> list[_Row]:
        """Every job to expose: live schedulers first (on top of their predecessors)."""
        self._fold()
        rows: list[_Row] = []
        shown: set[tuple[str, str]] = set()
        for read in (*self._readers, *self._retiring):
            stats = self._read(read)
            if stats is None:
                continue
            les = self._bounds(stats.job_buckets)
            retired = self._retired.get(stats.name)
            if retired is not None and retired.bounds != stats.job_buckets:
                retired = None
            for job in stats.jobs.values():
                key = (stats.name, job.name)
                if retired is not None:
                    before = retired.jobs.get(job.name)
                    if before is not None:
                        job = _add(before, job)  # noqa: PLW2901 - the figure to show
                shown.add(key)
                rows.append((key, self._label(*key), job, les))
        for scheduler, retired in self._retired.items():
            les = self._bounds(retired.bounds)
            for job in retired.jobs.values():
                key = (scheduler, job.name)
                if key not in shown:
                    rows.append((key, self._label(*key), job, les))
        return rows

    def _label(self, scheduler: str, job: str) -> str:
        key = (scheduler, job)
        text = self._labels.get(key)
        if text is None:
            text = self._labels[key] = (
                f'scheduler="{escape_label(scheduler)}",job="{escape_label(job)}"'
            )
        return text

    def _bounds(self, bounds: tuple[float, ...]) -> tuple[str, ...]:
        les = self._les.get(bounds)
        if les is None:
            les = self._les[bounds] = tuple(format_number(b) for b in bounds)
        return les

    # -- exposition -------------------------------------------------------------------------

    def render(self, out: list[str]) -> None:
        """Append the text exposition of the three families to ``out`` (headers always)."""
        rows = self._rows()
        p = self._prefix
        runs = f"{p}job_runs_total"
        out.append(header(runs, _RUNS_DOC, "counter"))
        for _, labels, job, _ in rows:
            for outcome, n in _slots(job):
                if n:
                    out.append(f'{runs}{{{labels},outcome="{outcome}"}} {n}.0\n')
        family = f"{p}job_duration_seconds"
        out.append(header(family, _DURATION_DOC, "histogram"))
        for _, labels, job, les in rows:
            for outcome, label in _ENDED:
                timing = job.durations.get(outcome)
                if timing is not None:
                    _histogram(out, family, f'{labels},outcome="{label}"', timing, les)
        family = f"{p}job_lateness_seconds"
        out.append(header(family, _LATENESS_DOC, "histogram"))
        for _, labels, job, les in rows:
            if job.runs:
                _histogram(out, family, labels, job.lateness, les)

    def collect(self) -> Iterator[Metric]:
        """The same families as prometheus-client objects (``get_sample_value`` and co.)."""
        p, labels = self._prefix, ("scheduler", "job")
        runs = CounterMetricFamily(f"{p}job_runs", _RUNS_DOC, labels=(*labels, "outcome"))
        durations = HistogramMetricFamily(
            f"{p}job_duration_seconds", _DURATION_DOC, labels=(*labels, "outcome")
        )
        lateness = HistogramMetricFamily(f"{p}job_lateness_seconds", _LATENESS_DOC, labels=labels)
        for key, _, job, les in self._rows():
            for outcome, n in _slots(job):
                if n:
                    runs.add_metric((*key, outcome), float(n))
            for outcome, label in _ENDED:
                timing = job.durations.get(outcome)
                if timing is not None:
                    durations.add_metric((*key, label), _cumulative(timing, les), timing.total)
            if job.runs:
                lateness.add_metric(key, _cumulative(job.lateness, les), job.lateness.total)
        yield runs
        yield durations
        yield lateness

    def describe(self) -> Iterator[Metric]:
        """The names, so a duplicate registration is refused."""
        p = self._prefix
        yield CounterMetricFamily(f"{p}job_runs", "")
        yield HistogramMetricFamily(f"{p}job_duration_seconds", "")
        yield HistogramMetricFamily(f"{p}job_lateness_seconds", "")


def _histogram(
    out: list[str], family: str, labels: str, timing: Timing, les: Sequence[str]
) -> None:
    prefix = f'{family}_bucket{{{labels},le="'
    running = 0
    for le, n in zip(les, timing.buckets, strict=False):  # the last bucket is +Inf
        running += n
        out.append(f'{prefix}{le}"}} {running}.0\n')
    count = timing.count
    out.append(f'{prefix}+Inf"}} {count}.0\n{family}_count{{{labels}}} {count}.0\n')
    out.append(f"{family}_sum{{{labels}}} {format_number(timing.total)}\n")


def _cumulative(timing: Timing, les: Sequence[str]) -> list[tuple[str, float]]:
    buckets, running = [], 0
    for le, n in zip(les, timing.buckets, strict=False):
        running += n
        buckets.append((le, float(running)))
    buckets.append(("+Inf", float(timing.count)))
    return buckets
