"""The histograms the scheduler keeps per job (``Timing.buckets``), and ``dropped``."""

from __future__ import annotations

import pytest

from service_pkg.events import JobOutcome
from service_pkg.exceptions import ConfigError
from service_pkg.scheduler import (
    DEFAULT_JOB_BUCKETS,
    Every,
    JobConfig,
    Once,
    OverlapPolicy,
    RunContext,
    SchedulerConfig,
    StopMode,
)
from service_pkg.testing import ManualClock

from .conftest import Runs, advance, make, settle

BOUNDS = (0.1, 0.5, 1.0)


async def test_a_duration_is_counted_in_the_bucket_of_its_outcome(
    clock: ManualClock, runs: Runs
) -> None:
    """Two ok runs of 0.25 s fall in (0.1, 0.5]; a failed run of 2 s above the last bound."""
    ok = JobConfig(name="ok", func=runs.job(takes=0.25), trigger=Every(1))
    bad = JobConfig(name="bad", func=runs.job(takes=2, fail=RuntimeError("x")), trigger=Once(0))
    async with make(clock, ok, bad, job_buckets=BOUNDS) as sched:
        await advance(clock, 3, step=0.25)
        jobs = sched.stats().jobs
    assert jobs["ok"].durations[JobOutcome.OK].buckets == (0, 2, 0, 0)
    assert jobs["ok"].durations[JobOutcome.OK].total == 0.5
    assert jobs["bad"].durations[JobOutcome.FAILED].buckets == (0, 0, 0, 1)
    assert JobOutcome.OK not in jobs["bad"].durations


async def test_a_duration_on_a_bound_counts_in_that_bound_s_bucket(
    clock: ManualClock, runs: Runs
) -> None:
    """Prometheus buckets are "less than or equal": 0.5 s is in the 0.5 bucket, not above."""
    job = JobConfig(name="j", func=runs.job(takes=0.5), trigger=Once(0))
    async with make(clock, job, job_buckets=BOUNDS) as sched:
        await advance(clock, 1, step=0.25)
        timing = sched.stats().jobs["j"].durations[JobOutcome.OK]
    assert timing.buckets == (0, 1, 0, 0)


async def test_lateness_is_counted_in_buckets(clock: ManualClock, runs: Runs) -> None:
    """A run 0.4 s late and one on time: one in the first bucket, one in (0.1, 0.5]."""
    async with make(
        clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)), job_buckets=BOUNDS
    ) as sched:
        await advance(clock, 1.4)
        await advance(clock, 0.6)
        lateness = sched.stats().jobs["j"].lateness
    assert lateness.buckets == (1, 1, 0, 0)
    assert lateness.count == 2


async def test_timed_out_and_cancelled_runs_have_their_own_histograms(
    clock: ManualClock, runs: Runs
) -> None:
    """A run its deadline ends counts under TIMED_OUT; a run the stop cancels under CANCELLED."""
    late = JobConfig(name="late", func=runs.job(hang=True), trigger=Once(0), deadline=0.5)
    hung = JobConfig(name="hung", func=runs.job(hang=True), trigger=Once(0))
    sched = make(clock, late, hung, job_buckets=BOUNDS)
    async with sched:
        await advance(clock, 2, step=0.25)
    jobs = sched.stats().jobs
    assert jobs["late"].durations[JobOutcome.TIMED_OUT].buckets == (0, 1, 0, 0)
    assert jobs["hung"].durations[JobOutcome.CANCELLED].count == 1
    assert set(jobs["hung"].durations) == {JobOutcome.CANCELLED}


async def test_the_duration_of_every_ended_run_is_the_sum_of_the_outcomes(
    clock: ManualClock, runs: Runs
) -> None:
    """``duration`` adds the outcomes' histograms up; its last value is the latest run's."""
    calls = iter([None, RuntimeError("x"), None])

    async def body(_ctx: RunContext) -> None:
        await clock.sleep(0.25)
        error = next(calls)
        if error is not None:
            raise error

    async with make(
        clock, JobConfig(name="j", func=body, trigger=Every(1)), job_buckets=BOUNDS
    ) as sched:
        await advance(clock, 3.5, step=0.25)
        stats = sched.stats().jobs["j"]
    assert stats.durations[JobOutcome.OK].count == 2
    assert stats.durations[JobOutcome.FAILED].count == 1
    assert stats.duration.buckets == (0, 3, 0, 0)
    assert (stats.duration.count, stats.duration.total, stats.duration.last) == (3, 0.75, 0.25)


async def test_a_job_without_runs_has_empty_histograms(clock: ManualClock, runs: Runs) -> None:
    """Before any run: every bucket 0, no outcome, and the stats name the bounds."""
    async with make(
        clock, JobConfig(name="j", func=runs.job(), trigger=Every(60)), job_buckets=BOUNDS
    ) as sched:
        stats = sched.stats()
    job = stats.jobs["j"]
    assert stats.job_buckets == BOUNDS
    assert (job.lateness.buckets, job.duration.buckets, job.durations) == ((0,) * 4, (0,) * 4, {})


async def test_slots_the_stop_drops_are_counted_per_job(clock: ManualClock, runs: Runs) -> None:
    """Slots queued for the concurrency cap count as dropped, each on its own job."""
    jobs = [JobConfig(name=f"j{i}", func=runs.job(hang=True), trigger=Every(1)) for i in range(3)]
    sched = make(clock, *jobs, max_concurrent_runs=1)
    async with sched:
        await advance(clock, 1)
    stats = sched.stats().jobs
    assert [(stats[n].runs, stats[n].dropped) for n in ("j0", "j1", "j2")] == [
        (1, 0),
        (0, 1),
        (0, 1),
    ]


async def test_a_deferred_slot_the_stop_drops_is_counted(clock: ManualClock, runs: Runs) -> None:
    """A slot deferred behind the run the stop ends never runs: dropped."""
    job = JobConfig(
        name="j",
        func=runs.job(takes=5),
        trigger=Every(1),
        overlap=OverlapPolicy.DEFER,
        stop_mode=StopMode.IMMEDIATE,
    )
    sched = make(clock, job)
    async with sched:
        await advance(clock, 2, step=1)
    stats = sched.stats().jobs["j"]
    assert (stats.runs, stats.cancelled, stats.dropped) == (1, 1, 1)


async def test_a_run_created_but_not_started_at_the_stop_is_counted_dropped(
    clock: ManualClock, runs: Runs
) -> None:
    """The task existed, its body never ran: dropped, not cancelled."""
    sched = make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)))
    await sched.start()
    await settle()
    clock.advance(1)
    while sched.stats().running == 0:  # stop right after the dispatch
        await settle(1)
    await sched.stop()
    stats = sched.stats().jobs["j"]
    assert (stats.runs, stats.cancelled, stats.dropped) == (0, 0, 1)


def test_the_default_buckets_are_the_published_ones() -> None:
    """SchedulerConfig() counts in DEFAULT_JOB_BUCKETS."""
    assert SchedulerConfig().job_buckets == DEFAULT_JOB_BUCKETS


def test_integer_bounds_become_floats() -> None:
    """The bounds are kept as floats (as the metrics render them)."""
    assert SchedulerConfig(job_buckets=(1, 2)).job_buckets == (1.0, 2.0)


@pytest.mark.parametrize(
    "buckets",
    [(), (1.0, 0.5), (0.1, 0.1), (0.1, float("inf")), [0.1, 1.0], (0.1, True), ("1",)],
    ids=["empty", "decreasing", "repeated", "infinite", "list", "bool", "str"],
)
def test_bad_buckets_are_refused_at_construction(buckets: object) -> None:
    """SchedulerConfig validates job_buckets and names the field."""
    with pytest.raises(ConfigError, match="job_buckets"):
        SchedulerConfig(job_buckets=buckets)  # type: ignore[arg-type]
