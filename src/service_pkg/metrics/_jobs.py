"""Scheduler metrics, kept by hand: the job-run path is the kit's hottest."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from service_pkg.events import JobOutcome, JobRun
from service_pkg.metrics._aggregate import (
    FastFamilies,
    HistogramFamily,
    HistogramSeries,
    ValueFamily,
)

__all__ = ("JobStats",)

_RAN = frozenset({JobOutcome.OK, JobOutcome.FAILED, JobOutcome.TIMED_OUT})


class _Entry:
    """What one (scheduler, job, outcome) updates per run: one lookup, then attributes."""

    __slots__ = ("duration", "labels", "lateness", "runs")

    def __init__(
        self,
        labels: tuple[str, str, str],
        duration: HistogramSeries | None,
        lateness: HistogramSeries | None,
    ) -> None:
        self.labels = labels
        self.runs = 0
        self.duration = duration
        self.lateness = lateness


class _Runs(ValueFamily):
    """The run counter, read from the entries at scrape time."""

    def __init__(self, name: str, doc: str, entries: dict[object, _Entry]) -> None:
        super().__init__(name, doc, ("scheduler", "job", "outcome"), counter=True)
        self._entries = entries

    @property
    def values(self) -> dict[tuple[str, ...], float]:
        return {e.labels: float(e.runs) for e in tuple(self._entries.values())}

    @values.setter
    def values(self, _: dict[tuple[str, ...], float]) -> None:
        pass  # ValueFamily.__init__ assigns an empty dict; the entries are the truth


class JobStats:
    """``service_pkg_job_runs_total`` and the job duration and lateness histograms.

    A run costs one dict lookup and a few additions, inlined (the scheduler spends about
    4 µs per slot on this machine; prometheus-client's locked instruments would add 2 µs).
    """

    def __init__(
        self, prefix: str, durations: Sequence[float], lateness: Sequence[float], fast: FastFamilies
    ) -> None:
        self._entries: dict[tuple[str, str, JobOutcome], _Entry] = {}
        self.runs = _Runs(
            f"{prefix}job_runs",
            "Slots of a job by outcome (ok, failed, timed_out, skipped, missed, fenced, "
            "cancelled); a stall's missed slots count one each.",
            self._entries,  # type: ignore[arg-type]  # read as values only
        )
        self.durations = HistogramFamily(
            f"{prefix}job_duration_seconds",
            "How long a run ran, by outcome (runs that began only).",
            ("scheduler", "job", "outcome"),
            durations,
        )
        self.lateness = HistogramFamily(
            f"{prefix}job_lateness_seconds",
            "How long after its slot a run began (runs that began only).",
            ("scheduler", "job"),
            lateness,
        )
        for family in (self.runs, self.durations, self.lateness):
            fast.add(family)

    def record(self, event: JobRun) -> None:
        """Count one slot (``slots`` of them for a stall's missed event)."""
        key = (event.scheduler, event.job, event.outcome)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = self._new(key)
        entry.runs += event.slots
        d = entry.duration
        if d is None:
            return
        # HistogramSeries.observe, inlined twice: this is per run.
        value = event.duration
        d.counts[bisect_left(d.bounds, value)] += 1
        d.count += 1
        d.total += value
        late = entry.lateness
        assert late is not None  # noqa: S101 - set together with duration
        value = event.lateness if event.lateness > 0 else 0.0
        late.counts[bisect_left(late.bounds, value)] += 1
        late.count += 1
        late.total += value

    def _new(self, key: tuple[str, str, JobOutcome]) -> _Entry:
        scheduler, job, outcome = key
        labels = (scheduler, job, outcome.value)
        if outcome not in _RAN:
            return _Entry(labels, None, None)
        return _Entry(labels, self.durations.child(*labels), self.lateness.child(scheduler, job))
