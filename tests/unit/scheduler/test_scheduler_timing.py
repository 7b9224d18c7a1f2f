"""When runs happen: the grid, first runs, overlap, misfires, jitter, cron (manual clock)."""

from __future__ import annotations

import logging

import pytest

from service_pkg.scheduler import Cron, Every, JobConfig, Once, OverlapPolicy
from service_pkg.testing import ManualClock

from .conftest import WALL0, Runs, advance, advance_to, make, settle


async def test_grid_does_not_drift_over_1000_ticks(clock: ManualClock, runs: Runs) -> None:
    """Slot k is exactly start + k * interval after 1,000 ticks, though each run takes time."""
    interval = 0.1  # not exact in binary: adding it up 1,000 times would drift
    job = JobConfig(name="tick", func=runs.job(takes=0.04), trigger=Every(interval))
    async with make(clock, job) as sched:
        for k in range(1, 1001):
            await advance_to(clock, (k - 0.5) * interval)
            await advance_to(clock, k * interval)
        stats = sched.stats().jobs["tick"]
    scheduled = [c.scheduled_at for c in runs.ctxs]
    assert len(scheduled) == 1000
    assert scheduled == [k * interval for k in range(1, 1001)]
    assert all(c.started_at == c.scheduled_at for c in runs.ctxs)
    assert (stats.runs, stats.skipped, stats.missed) == (1000, 0, 0)


async def test_late_start_does_not_move_the_grid(clock: ManualClock, runs: Runs) -> None:
    """A run that starts late is late only once: the next slot stays on the grid."""
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1.0))):
        await advance(clock, 1.4)
        await advance(clock, 0.6)
    assert [(c.scheduled_at, c.started_at) for c in runs.ctxs] == [(1.0, 1.4), (2.0, 2.0)]


async def test_first_run_is_one_interval_after_start(clock: ManualClock, runs: Runs) -> None:
    """By default (as Go's ticker) nothing runs at start; the first run is at start + interval."""
    clock.advance(50)
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(5))):
        await advance(clock, 4.9)
        assert runs.ctxs == []
        await advance(clock, 0.1)
    assert [c.scheduled_at for c in runs.ctxs] == [55.0]


async def test_run_immediately_runs_at_start(clock: ManualClock, runs: Runs) -> None:
    """run_immediately=True runs at start, then on the same grid."""
    job = JobConfig(name="j", func=runs.job(), trigger=Every(5), run_immediately=True)
    async with make(clock, job):
        await settle()
        await advance(clock, 5)
    assert [c.scheduled_at for c in runs.ctxs] == [0.0, 5.0]


async def test_offset_shifts_the_grid(clock: ManualClock, runs: Runs) -> None:
    """Every(interval, offset=o) puts the slots at start + o + k * interval."""
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1, offset=0.25))):
        await advance(clock, 3, step=0.25)
    assert [c.scheduled_at for c in runs.ctxs] == [1.25, 2.25]


async def test_once_runs_once_after_its_delay(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """A one-shot job runs once, delay after start, and never again in that start."""
    caplog.set_level(logging.DEBUG, "service_pkg.scheduler")
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Once(2))) as sched:
        await advance(clock, 10, step=1)
        assert sched.stats().jobs["j"].runs == 1
    assert [c.scheduled_at for c in runs.ctxs] == [2.0]
    assert [r.__dict__["job"] for r in caplog.records if r.message == "job has no more slots"] == [
        "j"
    ]


async def test_once_runs_again_after_a_restart(clock: ManualClock, runs: Runs) -> None:
    """A one-shot job runs once per start."""
    sched = make(clock, JobConfig(name="j", func=runs.job(), trigger=Once(0)))
    for _ in range(2):
        await sched.start()
        await advance(clock, 1)
        await sched.stop()
    assert [c.scheduled_at for c in runs.ctxs] == [0.0, 1.0]


async def test_overlapping_slot_is_skipped_and_counted(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """A slot that comes while the previous run goes on is skipped, counted and logged."""
    job = JobConfig(name="slow", func=runs.job(takes=2.5), trigger=Every(1))
    async with make(clock, job) as sched:
        await advance(clock, 6, step=0.5)
        stats = sched.stats().jobs["slow"]
    assert [c.scheduled_at for c in runs.ctxs] == [1.0, 4.0]
    assert runs.peak == 1
    assert (stats.runs, stats.skipped) == (2, 4)
    skips = [
        r for r in caplog.records if r.message == "job run skipped: previous run still running"
    ]
    assert len(skips) == 4
    assert {r.__dict__["job"] for r in skips} == {"slow"}


async def test_defer_runs_the_first_overlapping_slot_after_the_run(
    clock: ManualClock, runs: Runs
) -> None:
    """OverlapPolicy.DEFER (Go's ticker): one slot waits for the run, later ones are skipped."""
    job = JobConfig(
        name="slow", func=runs.job(takes=2.5), trigger=Every(1), overlap=OverlapPolicy.DEFER
    )
    async with make(clock, job) as sched:
        await advance(clock, 4, step=0.5)
        stats = sched.stats().jobs["slow"]
    assert [(c.scheduled_at, c.started_at) for c in runs.ctxs] == [(1.0, 1.0), (2.0, 3.5)]
    assert runs.peak == 1
    assert stats.skipped == 1  # the slot at 3.0 found slot 2.0 already waiting


async def test_stall_gives_one_late_run_and_counts_the_rest_missed(
    clock: ManualClock, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    """After a stall, the latest passed slot runs once, late; the others are counted missed."""
    caplog.set_level(logging.WARNING, "service_pkg.scheduler")
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1))) as sched:
        await advance(clock, 1)
        await advance(clock, 3.5)  # the loop "stalls" over the slots 2, 3 and 4
        stats = sched.stats().jobs["j"]
        await advance(clock, 0.5)
    assert [(c.scheduled_at, c.started_at) for c in runs.ctxs] == [
        (1.0, 1.0),
        (4.0, 4.5),
        (5.0, 5.0),
    ]
    assert (stats.runs, stats.missed) == (2, 2)
    [record] = [r for r in caplog.records if r.message == "job runs missed"]
    assert (record.__dict__["job"], record.__dict__["missed"]) == ("j", 2)


async def test_run_later_than_misfire_grace_is_missed(clock: ManualClock, runs: Runs) -> None:
    """With misfire_grace, a slot later than the grace does not run and counts as missed."""
    job = JobConfig(name="j", func=runs.job(), trigger=Every(1), misfire_grace=0.3)
    async with make(clock, job) as sched:
        await advance(clock, 1.2)  # 0.2 late: runs
        await advance(clock, 1.3)  # slot 2 is 0.5 late: missed
        await advance(clock, 0.5)
        stats = sched.stats().jobs["j"]
    assert [c.scheduled_at for c in runs.ctxs] == [1.0, 3.0]
    assert (stats.runs, stats.missed) == (2, 1)


async def test_jitter_is_bounded_and_does_not_drift(clock: ManualClock, runs: Runs) -> None:
    """Each slot is delayed by [0, jitter) from the grid; the grid itself never moves."""
    job = JobConfig(name="j", func=runs.job(), trigger=Every(1), jitter=0.4)
    async with make(clock, job):
        await advance(clock, 200.5, step=0.05)
    assert len(runs.ctxs) == 200
    offsets = [c.scheduled_at - k for k, c in enumerate(runs.ctxs, start=1)]
    assert all(0 <= o < 0.4 for o in offsets)
    assert len({round(o, 6) for o in offsets}) > 100  # drawn per slot
    assert all(abs(c.started_at - c.scheduled_at) < 0.05 + 1e-9 for c in runs.ctxs)


async def test_cron_job_runs_at_the_wall_clock_times_of_its_spec(
    clock: ManualClock, runs: Runs
) -> None:
    """A cron job fires on its spec's seconds (WALL0 is at second 20 of a minute)."""
    job = JobConfig(name="c", func=runs.job(), trigger=Cron("*/15 * * * * *"))
    async with make(clock, job, wall=True):
        await advance(clock, 60, step=1)
    walls = [round(WALL0 + c.scheduled_at) % 60 for c in runs.ctxs]
    assert walls == [30, 45, 0, 15]


async def test_cron_stall_counts_missed_slots(clock: ManualClock, runs: Runs) -> None:
    """A cron job after a stall runs once for the latest slot and counts the others missed."""
    job = JobConfig(name="c", func=runs.job(), trigger=Cron("* * * * * *"))
    async with make(clock, job, wall=True) as sched:
        await advance(clock, 10.5)
        stats = sched.stats().jobs["c"]
    assert [c.scheduled_at for c in runs.ctxs] == [10.0]
    assert (stats.runs, stats.missed) == (1, 9)


async def test_cron_every_descriptor_is_an_anchored_grid(clock: ManualClock, runs: Runs) -> None:
    """Cron('@every 250ms') is a sub-second fixed-rate grid, anchored at start."""
    clock.advance(0.1)
    async with make(clock, JobConfig(name="c", func=runs.job(), trigger=Cron("@every 250ms"))):
        await advance(clock, 1, step=0.125)
    assert [c.scheduled_at for c in runs.ctxs] == [0.35, 0.6, 0.85, 1.1]


async def test_run_context_carries_the_job_and_its_times(clock: ManualClock, runs: Runs) -> None:
    """The context has the job name, the slot, the start, no epoch and the deadline."""
    job = JobConfig(name="ctx", func=runs.job(), trigger=Every(2), deadline=0.5)
    async with make(clock, job):
        await advance(clock, 2.25)
    [ctx] = runs.ctxs
    assert (ctx.job, ctx.scheduled_at, ctx.started_at, ctx.epoch) == ("ctx", 2.0, 2.25, None)
    assert (ctx.deadline_at, ctx.lateness) == (2.75, 0.25)
