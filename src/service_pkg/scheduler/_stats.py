"""What the scheduler tells its jobs and its users: run context, stats, stop report."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from service_pkg.events import JobOutcome

__all__ = ("JobStats", "RunContext", "SchedulerState", "SchedulerStats", "StopReport", "Timing")


class SchedulerState(enum.Enum):
    """Where a :class:`Scheduler` is; it can go round ``STOPPED → RUNNING → STOPPING`` again.

    .. versionadded:: 0.1.0
    """

    STOPPED = "stopped"
    RUNNING = "running"
    STOPPING = "stopping"


class RunContext(NamedTuple):
    """What a run is given: ``async def job(ctx: RunContext)``.

    Times are seconds on the scheduler's clock (``time.monotonic()`` by default). Read-only;
    a tuple, so making one per run costs next to nothing.

    .. versionadded:: 0.1.0
    """

    job: str
    """The job's name."""
    scheduled_at: float
    """The slot this run is for (with its jitter): when it should have started."""
    started_at: float
    """When the body started (after any wait for a concurrency slot)."""
    epoch: int | None
    """The election's fencing token, read right before the start, when the scheduler is gated
    (pass it with writes made on the leader's behalf); ``None`` otherwise."""
    deadline_at: float | None
    """When the run will be cancelled (``started_at + deadline``), or ``None``."""

    @property
    def lateness(self) -> float:
        """``started_at - scheduled_at``: how late the run started, in seconds."""
        return self.started_at - self.scheduled_at


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """Aggregate of one figure (seconds) over a job's runs, with its histogram.

    ``buckets`` counts the values per bucket of the scheduler's
    :attr:`~SchedulerConfig.job_buckets` (``SchedulerStats.job_buckets``), not cumulatively:
    ``buckets[i]`` the values in ``(bounds[i-1], bounds[i]]`` (``buckets[0]``: up to
    ``bounds[0]``, negative values included), ``buckets[-1]`` the values above the last bound.
    ``len(buckets) == len(bounds) + 1`` and ``sum(buckets) == count``; a Prometheus histogram
    is their running sum. The scheduler counts them per run (a bisection of a short tuple),
    so metrics read histograms from :meth:`Scheduler.stats` without an event per run.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``buckets``.
    """

    count: int = 0
    """Runs measured."""
    total: float = 0.0
    """Sum of the figure over those runs."""
    max: float = 0.0
    """Largest value seen."""
    last: float = 0.0
    """Value of the latest run."""
    buckets: tuple[int, ...] = ()
    """Values per bucket (see above); empty in a ``Timing()`` built by hand."""

    @property
    def mean(self) -> float:
        """``total / count`` (0.0 before the first run)."""
        return self.total / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStats:
    """Counters of one job since the scheduler was created (they survive restarts).

    Every slot that came due ends in exactly one of: a run (``runs``), ``skipped``,
    ``missed``, ``fenced`` or ``dropped``. Every run that ended ends in exactly one of
    ``succeeded``, ``failed``, ``timed_out`` or ``cancelled``.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``dropped``, ``durations`` and the ``buckets`` of each :class:`Timing`.
    """

    name: str
    runs: int = 0
    """Runs whose body started."""
    succeeded: int = 0
    """Runs that returned."""
    failed: int = 0
    """Runs that raised (the exception was logged with the job name)."""
    timed_out: int = 0
    """Runs cancelled by their deadline."""
    cancelled: int = 0
    """Runs cancelled by a stop."""
    skipped: int = 0
    """Slots that came while the previous run was still going (overlap)."""
    missed: int = 0
    """Slots that passed without a run: stalls (all but the one late run), or later than
    ``misfire_grace``."""
    fenced: int = 0
    """Slots not run because the election said this process is not the leader."""
    dropped: int = 0
    """Slots a stop dropped before their run's body started: queued for
    ``max_concurrent_runs``, deferred behind a running run, or created a moment before the
    stop (the :class:`~service_pkg.events.JobRun` of each says ``CANCELLED``)."""
    running: bool = False
    """Whether a run is in progress."""
    lateness: Timing = field(default_factory=Timing)
    """How late runs started (``started_at - scheduled_at``)."""
    duration: Timing = field(default_factory=Timing)
    """How long ended runs took."""
    durations: Mapping[JobOutcome, Timing] = field(default_factory=dict)
    """``duration`` by how the run ended (``OK``, ``FAILED``, ``TIMED_OUT``, ``CANCELLED``),
    for the outcomes that have at least one run (read it with ``.get``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStats:
    """A snapshot of :meth:`Scheduler.stats`.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``job_buckets``.
    """

    name: str
    state: SchedulerState
    running: int = 0
    """Runs in progress (abandoned ones included)."""
    waiting: int = 0
    """Slots waiting for a free place under ``max_concurrent_runs``."""
    jobs: Mapping[str, JobStats] = field(default_factory=dict)
    """Per job, in the order they were added."""
    job_buckets: tuple[float, ...] = ()
    """The bucket bounds of every :attr:`Timing.buckets` (``SchedulerConfig.job_buckets``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StopReport:
    """What :meth:`Scheduler.stop` did to the runs that were in progress.

    .. versionadded:: 0.1.0
    """

    completed: int = 0
    """Runs that ended by themselves during the stop (``GRACEFUL`` ones, mostly)."""
    cancelled: int = 0
    """Runs the stop cancelled, which then ended."""
    abandoned: int = 0
    """Runs still going when the stop gave up on them (they ignored the cancellation); they
    are kept referenced and counted when they end, but the stop did not wait for them."""
    dropped: int = 0
    """Runs that had not started their body yet (waiting for a concurrency slot, or created
    a moment before the stop); they never will."""
    abandoned_jobs: tuple[str, ...] = ()
    """Names of the jobs whose runs were abandoned."""
    duration: float = 0.0
    """Seconds the stop took, on the scheduler's clock."""

    @property
    def clean(self) -> bool:
        """True when nothing was abandoned."""
        return self.abandoned == 0
