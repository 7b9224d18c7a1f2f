"""What happens inside a run: deadlines, errors, the concurrency cap, stats (manual clock)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from service_pkg.scheduler import Cron, Every, JobConfig, Once, RunContext, SchedulerState
from service_pkg.scheduler._cron import CronCursor
from service_pkg.testing import ManualClock

from .conftest import Runs, advance, make, settle


async def test_deadline_cancels_a_hung_run(clock: ManualClock, runs: Runs) -> None:
    """A run past its deadline is cancelled and counted as timed out; the job runs on."""
    job = JobConfig(name="hung", func=runs.job(hang=True), trigger=Every(1), deadline=0.5)
    async with make(clock, job) as sched:
        await advance(clock, 1)
        assert sched.stats().jobs["hung"].running
        await advance(clock, 0.5)
        stats = sched.stats().jobs["hung"]
        assert (stats.runs, stats.timed_out, stats.running) == (1, 1, False)
        await advance(clock, 0.5)
        assert sched.stats().jobs["hung"].runs == 2
    assert runs.ended == ["hung", "hung"]


async def test_deadline_shorter_than_the_next_slot_wakes_the_dispatcher(
    clock: ManualClock, runs: Runs
) -> None:
    """Deadlines earlier than every pending slot are still enforced on time."""
    hung = [
        JobConfig(name=f"hung{i}", func=runs.job(hang=True), trigger=Once(0), deadline=0.2)
        for i in range(2)
    ]
    idle = JobConfig(name="idle", func=runs.job(), trigger=Every(3600))
    async with make(clock, *hung, idle) as sched:
        await settle()
        await advance(clock, 0.2)
        assert [s.timed_out for s in sched.stats().jobs.values()] == [1, 1, 0]


async def test_deadline_of_a_finished_run_does_nothing(clock: ManualClock, runs: Runs) -> None:
    """A run that ended before its deadline is not touched when the deadline comes."""
    job = JobConfig(name="j", func=runs.job(takes=0.1), trigger=Every(1), deadline=0.5)
    async with make(clock, job) as sched:
        await advance(clock, 1)
        await advance(clock, 0.1)
        await advance(clock, 0.4)
        stats = sched.stats().jobs["j"]
    assert (stats.succeeded, stats.timed_out) == (1, 0)


async def test_aligned_burst_starts_every_run(clock: ManualClock, runs: Runs) -> None:
    """Hundreds of jobs due at once all run in that slot (started in chunks)."""
    jobs = [JobConfig(name=f"j{i}", func=runs.job(), trigger=Every(1)) for i in range(300)]
    async with make(clock, *jobs):
        await advance(clock, 1)
        await settle(20)
    assert len(runs.ctxs) == 300
    assert {c.scheduled_at for c in runs.ctxs} == {1.0}


async def test_trigger_without_a_first_slot_never_runs(
    clock: ManualClock, runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cron spec that has no slot left (cronsim gave up) leaves its job idle."""
    monkeypatch.setattr(CronCursor, "first", lambda *_, **__: None)
    job = JobConfig(name="c", func=runs.job(), trigger=Cron("0 * * * * *"))
    async with make(clock, job, wall=True):
        await advance(clock, 120, step=30)
    assert runs.ctxs == []


async def test_timeout_raised_by_the_job_itself_is_a_failure(
    clock: ManualClock, runs: Runs
) -> None:
    """A TimeoutError of the job's own making counts as a failure, not as its deadline."""
    job = JobConfig(name="j", func=runs.job(fail=TimeoutError()), trigger=Every(1), deadline=5)
    async with make(clock, job) as sched:
        await advance(clock, 1)
        stats = sched.stats().jobs["j"]
    assert (stats.failed, stats.timed_out) == (1, 0)


async def test_failing_job_is_isolated_and_logged_with_its_name(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception is logged with the job name and counted; the scheduler and other jobs go on."""
    bad = JobConfig(name="bad", func=runs.job(fail=ValueError("boom")), trigger=Every(1))
    good = JobConfig(name="good", func=runs.job(), trigger=Every(1))
    async with make(clock, bad, good) as sched:
        await advance(clock, 3, step=1)
        assert sched.state is SchedulerState.RUNNING
        stats = sched.stats().jobs
    assert (stats["bad"].runs, stats["bad"].failed) == (3, 3)
    assert (stats["good"].runs, stats["good"].succeeded) == (3, 3)
    failures = [r for r in caplog.records if r.message == "job run failed"]
    assert len(failures) == 3
    assert all(r.levelno == logging.ERROR and r.__dict__["job"] == "bad" for r in failures)
    assert all(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in failures)


async def test_function_returning_a_non_awaitable_is_a_failure(clock: ManualClock) -> None:
    """A lambda that returns something other than an awaitable fails its runs, loudly."""
    job = JobConfig(name="j", func=lambda _: None, trigger=Every(1))  # type: ignore[arg-type,return-value]
    async with make(clock, job) as sched:
        await advance(clock, 1)
        assert sched.stats().jobs["j"].failed == 1


async def test_concurrency_cap_limits_runs_across_jobs(clock: ManualClock, runs: Runs) -> None:
    """max_concurrent_runs (Go's rate) caps runs of all jobs; waiting slots start in order."""
    jobs = [JobConfig(name=f"j{i}", func=runs.job(takes=1), trigger=Every(10)) for i in range(4)]
    async with make(clock, *jobs, max_concurrent_runs=2) as sched:
        await advance(clock, 10)
        stats = sched.stats()
        assert (stats.running, stats.waiting, runs.active) == (2, 2, 2)
        await advance(clock, 1)
        await advance(clock, 1)
    assert runs.peak == 2
    assert [(c.job, c.started_at) for c in runs.ctxs] == [
        ("j0", 10.0),
        ("j1", 10.0),
        ("j2", 11.0),
        ("j3", 11.0),
    ]
    assert all(c.scheduled_at == 10.0 for c in runs.ctxs)


async def test_job_waiting_for_the_cap_skips_its_next_slot(clock: ManualClock, runs: Runs) -> None:
    """A slot of a job whose previous slot still waits for the cap is skipped, not queued twice."""
    blocker = JobConfig(name="blocker", func=runs.job(takes=2.5), trigger=Once(0))
    quick = JobConfig(name="quick", func=runs.job(), trigger=Every(1))
    async with make(clock, blocker, quick, max_concurrent_runs=1) as sched:
        await settle()
        await advance(clock, 3, step=0.5)
        stats = sched.stats().jobs["quick"]
    assert [(c.job, c.scheduled_at, c.started_at) for c in runs.ctxs] == [
        ("blocker", 0.0, 0.0),
        ("quick", 1.0, 2.5),
        ("quick", 3.0, 3.0),
    ]
    assert stats.skipped == 1


async def test_stats_report_lateness_and_duration(clock: ManualClock, runs: Runs) -> None:
    """Lateness and duration figures are kept per job."""
    job = JobConfig(name="j", func=runs.job(takes=0.25), trigger=Every(1))
    async with make(clock, job) as sched:
        await advance(clock, 1.5)
        await advance(clock, 0.25)
        await advance(clock, 0.25)
        await advance(clock, 0.25)
        stats = sched.stats().jobs["j"]
    assert (stats.lateness.count, stats.lateness.max, stats.lateness.last) == (2, 0.5, 0.0)
    assert stats.lateness.mean == 0.25
    assert (stats.duration.count, stats.duration.total, stats.duration.last) == (2, 0.5, 0.25)


async def test_run_lines_are_logged_at_debug_with_figures(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG every run logs start and end with its lateness and duration in ms."""
    caplog.set_level(logging.DEBUG, "service_pkg.scheduler")
    job = JobConfig(name="j", func=runs.job(takes=0.25), trigger=Every(1))
    async with make(clock, job):
        await advance(clock, 1.5)
        await advance(clock, 0.25)
    started = next(r for r in caplog.records if r.message == "job run started")
    finished = next(r for r in caplog.records if r.message == "job run finished")
    assert (started.__dict__["job"], started.__dict__["lateness_ms"]) == ("j", 500.0)
    assert (finished.__dict__["scheduler"], finished.__dict__["duration_ms"]) == (
        "scheduler",
        250.0,
    )


async def test_scheduler_logs_use_stable_lower_case_messages(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """Start and stop are logged under service_pkg.scheduler with the scheduler's name."""
    caplog.set_level(logging.INFO, "service_pkg.scheduler")
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)), name="etl"):
        pass
    lines = [(r.name, r.message, r.__dict__["scheduler"]) for r in caplog.records]
    assert lines == [
        ("service_pkg.scheduler", "scheduler started", "etl"),
        ("service_pkg.scheduler", "scheduler stopping", "etl"),
        ("service_pkg.scheduler", "scheduler stopped", "etl"),
    ]
    assert all(m == m.lower() for _, m, _ in lines)


async def test_dispatcher_survives_a_broken_trigger(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """A trigger that raises is logged and drops that job only; the others keep running."""
    broken = JobConfig(name="broken", func=runs.job(), trigger=Every(1))
    good = JobConfig(name="good", func=runs.job(), trigger=Every(1))
    sched = make(clock, broken, good)

    class Broken:
        def advance(self, *_: object) -> tuple[float, int, float]:
            raise ArithmeticError("bad trigger")

    async with sched:
        sched._jobs["broken"].cursor = Broken()  # type: ignore[assignment]
        await advance(clock, 3, step=1)
    assert [c.job for c in runs.ctxs] == ["good"] * 3
    assert [r.__dict__["job"] for r in caplog.records if r.message == "job scheduling failed"] == [
        "broken"
    ]


async def test_context_is_a_read_only_tuple(clock: ManualClock, runs: Runs) -> None:
    """A run cannot change its own context."""
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1))):
        await advance(clock, 1)
    [ctx] = runs.ctxs
    assert isinstance(ctx, RunContext)
    with pytest.raises(AttributeError):
        ctx.job = "x"  # type: ignore[misc]


async def test_sleeping_job_yields_the_loop(clock: ManualClock) -> None:
    """Runs are tasks: a run awaiting something does not block other jobs' runs."""
    gate = asyncio.Event()
    seen: list[str] = []

    async def waits(ctx: RunContext) -> None:
        seen.append("waits")
        await gate.wait()

    async def quick(ctx: RunContext) -> None:
        seen.append("quick")

    jobs = [
        JobConfig(name="w", func=waits, trigger=Every(1), deadline=10),
        JobConfig(name="q", func=quick, trigger=Every(1)),
    ]
    async with make(clock, *jobs):
        await advance(clock, 1)
        gate.set()
        await advance(clock, 0)
    assert seen == ["waits", "quick"]
