"""A job's mutable state: its counters (kept across restarts) and its current run."""

from __future__ import annotations

import asyncio
from bisect import bisect_left

from service_pkg.events import JobOutcome
from service_pkg.scheduler._config import JobConfig, JobFunc
from service_pkg.scheduler._stats import JobStats, Timing
from service_pkg.scheduler._triggers import Cursor

__all__ = ("JobState", "Tally")


class Tally:
    """One figure of one job: per-bucket counts, sum, max and last.

    The count is kept by the job's counters. Plain slots, updated by :class:`JobState` on
    every run.
    """

    __slots__ = ("counts", "last", "max", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        self.total = self.max = self.last = 0.0

    def timing(self, count: int) -> Timing:
        """The public, frozen view."""
        return Timing(
            count=count, total=self.total, max=self.max, last=self.last, buckets=tuple(self.counts)
        )


class JobState:
    """One job inside a scheduler. Plain slots: the dispatcher touches these on every slot.

    Per start: ``cursor``, ``slot`` (grid time of the next slot), ``pending`` (a deferred
    slot) and ``waiting`` (queued for a concurrency slot). Per run: ``task`` (a run never
    overlaps another run of its job, so one is enough), ``scheduled`` (its slot), ``started``
    and ``scope`` (its deadline scope, for clocks the loop does not know). The rest are
    counters, and the histograms of lateness and of durations by outcome over ``bounds``
    (the scheduler's ``job_buckets``).
    """

    __slots__ = (
        "bounds",
        "cancelled",
        "config",
        "cursor",
        "deadline_at",
        "dropped",
        "dur_cancelled",
        "dur_failed",
        "dur_last",
        "dur_ok",
        "dur_timed_out",
        "failed",
        "fenced",
        "func",
        "index",
        "lat",
        "low",
        "missed",
        "name",
        "pending",
        "run_id",
        "runs",
        "scheduled",
        "scope",
        "skipped",
        "slot",
        "started",
        "succeeded",
        "task",
        "timed_out",
        "waiting",
    )

    def __init__(self, config: JobConfig, index: int, bounds: tuple[float, ...]) -> None:
        self.config = config
        self.index = index
        self.name = config.name
        self.func: JobFunc = config.func
        self.cursor: Cursor | None = None
        self.slot = 0.0
        self.pending: float | None = None
        self.waiting = False
        self.task: asyncio.Task[None] | None = None
        self.run_id = 0
        self.scheduled = 0.0
        self.started = False
        self.deadline_at: float | None = None
        self.scope: asyncio.Timeout | None = None
        self.runs = self.succeeded = self.failed = self.timed_out = self.cancelled = 0
        self.skipped = self.missed = self.fenced = self.dropped = 0
        self.bounds = bounds
        self.low = bounds[0]
        size = len(bounds) + 1  # the last bucket is above the last bound (+Inf)
        self.lat = Tally(size)
        self.dur_ok, self.dur_failed = Tally(size), Tally(size)
        self.dur_timed_out, self.dur_cancelled = Tally(size), Tally(size)
        self.dur_last = 0.0

    def reset(self, cursor: Cursor) -> None:
        """Forget the previous start's slots."""
        self.cursor = cursor
        self.pending = None
        self.waiting = False

    def record_lateness(self, value: float) -> None:
        """Add one run's lateness (its count is ``runs``)."""
        lat = self.lat
        # bisect_left: a value on a bound counts in that bound's bucket (Prometheus' ``le``).
        # Most values fall in the first bucket: the comparison saves them the call (40 ns).
        lat.counts[0 if value <= self.low else bisect_left(self.bounds, value)] += 1
        lat.total += value
        lat.last = value
        if value > lat.max:  # noqa: PLR1730 - a hot path: max() is a call
            lat.max = value

    def record_duration(self, value: float, tally: Tally) -> None:
        """Add one ended run's duration to ``tally``, its outcome's (one of the ``dur_*``)."""
        tally.counts[0 if value <= self.low else bisect_left(self.bounds, value)] += 1
        tally.total += value
        tally.last = value
        if value > tally.max:  # noqa: PLR1730 - a hot path: max() is a call
            tally.max = value
        self.dur_last = value

    def snapshot(self) -> JobStats:
        """The public, frozen view of the counters."""
        durations: dict[JobOutcome, Timing] = {}
        for outcome, tally, count in (
            (JobOutcome.OK, self.dur_ok, self.succeeded),
            (JobOutcome.FAILED, self.dur_failed, self.failed),
            (JobOutcome.TIMED_OUT, self.dur_timed_out, self.timed_out),
            (JobOutcome.CANCELLED, self.dur_cancelled, self.cancelled),
        ):
            if count:
                durations[outcome] = tally.timing(count)
        return JobStats(
            name=self.name,
            runs=self.runs,
            succeeded=self.succeeded,
            failed=self.failed,
            timed_out=self.timed_out,
            cancelled=self.cancelled,
            skipped=self.skipped,
            missed=self.missed,
            fenced=self.fenced,
            dropped=self.dropped,
            running=self.task is not None,
            lateness=self.lat.timing(self.runs),
            duration=self._duration(durations),
            durations=durations,
        )

    def _duration(self, durations: dict[JobOutcome, Timing]) -> Timing:
        """Every ended run's duration: the sum of the outcomes' histograms."""
        if not durations:
            return Timing(buckets=(0,) * (len(self.bounds) + 1))
        if len(durations) == 1:  # the usual case: every run so far ended alike
            (only,) = durations.values()
            return Timing(
                count=only.count,
                total=only.total,
                max=only.max,
                last=self.dur_last,
                buckets=only.buckets,
            )
        parts = tuple(durations.values())
        return Timing(
            count=sum(t.count for t in parts),
            total=sum(t.total for t in parts),
            max=max(t.max for t in parts),
            last=self.dur_last,
            buckets=tuple(map(sum, zip(*(t.buckets for t in parts), strict=True))),
        )
