"""A job's mutable state: its counters (kept across restarts) and its current run."""

from __future__ import annotations

import asyncio

from service_pkg.scheduler._config import JobConfig, JobFunc
from service_pkg.scheduler._stats import JobStats, Timing
from service_pkg.scheduler._triggers import Cursor

__all__ = ("JobState",)


class JobState:
    """One job inside a scheduler. Plain slots: the dispatcher touches these on every slot.

    Per start: ``cursor``, ``slot`` (grid time of the next slot), ``pending`` (a deferred
    slot) and ``waiting`` (queued for a concurrency slot). Per run: ``task`` (a run never
    overlaps another run of its job, so one is enough), ``scheduled`` (its slot), ``started``
    and ``scope`` (its deadline scope, for clocks the loop does not know). The rest are
    counters.
    """

    __slots__ = (
        "cancelled",
        "config",
        "cursor",
        "deadline_at",
        "dur_last",
        "dur_max",
        "dur_sum",
        "failed",
        "fenced",
        "func",
        "index",
        "lat_last",
        "lat_max",
        "lat_sum",
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

    def __init__(self, config: JobConfig, index: int) -> None:
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
        self.skipped = self.missed = self.fenced = 0
        self.lat_sum = self.lat_max = self.lat_last = 0.0
        self.dur_sum = self.dur_max = self.dur_last = 0.0

    def reset(self, cursor: Cursor) -> None:
        """Forget the previous start's slots."""
        self.cursor = cursor
        self.pending = None
        self.waiting = False

    def record_lateness(self, value: float) -> None:
        """Add one run's lateness."""
        self.lat_sum += value
        self.lat_last = value
        if value > self.lat_max:  # noqa: PLR1730 - a hot path: max() is a call
            self.lat_max = value

    def record_duration(self, value: float) -> None:
        """Add one run's duration."""
        self.dur_sum += value
        self.dur_last = value
        if value > self.dur_max:  # noqa: PLR1730 - a hot path: max() is a call
            self.dur_max = value

    def snapshot(self) -> JobStats:
        """The public, frozen view of the counters."""
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
            running=self.task is not None,
            lateness=Timing(
                count=self.runs, total=self.lat_sum, max=self.lat_max, last=self.lat_last
            ),
            duration=Timing(
                count=self.succeeded + self.failed + self.timed_out + self.cancelled,
                total=self.dur_sum,
                max=self.dur_max,
                last=self.dur_last,
            ),
        )
