"""The job series: read from ``Scheduler.stats()`` at scrape time, no event per run."""

from __future__ import annotations

import logging

import pytest
from dependency_injector import containers, providers
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service_pkg import Application, Component
from service_pkg.app import Runtime
from service_pkg.events import EventBus, JobOutcome, JobRun
from service_pkg.exceptions import ConfigError
from service_pkg.metrics import METRICS_PRIORITY, KitMetrics, metrics, scheduler_metrics
from service_pkg.scheduler import (
    Every,
    JobConfig,
    JobStats,
    Once,
    RunContext,
    Scheduler,
    SchedulerConfig,
    SchedulerState,
    scheduler,
)
from service_pkg.testing import ManualClock

from .conftest import FakeScheduler, settle, timing, value

RUNS = "service_pkg_job_runs_total"
SYNC = {"scheduler": "main", "job": "sync"}


async def boom(_ctx: RunContext) -> None:
    raise RuntimeError("job bug")


async def tick(_ctx: RunContext) -> None:
    return None


JOBS = [
    JobConfig(name="tick", func=tick, trigger=Every(0.01)),
    JobConfig(name="boom", func=boom, trigger=Every(0.01)),
]


class Container(containers.DeclarativeContainer):
    runtime = providers.Dependency(instance_of=Runtime)
    metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
    jobs = Component(scheduler, SchedulerConfig(name="main"), JOBS)
    job_metrics = Component(scheduler_metrics, metrics, jobs)


def watched(fake: FakeScheduler) -> KitMetrics:
    kit = KitMetrics()
    kit.watch_scheduler(fake)
    return kit


def test_the_metrics_never_make_the_scheduler_build_job_runs() -> None:
    """The scheduler checks bus.wants(JobRun) before building one: metrics keep it false."""
    bus = EventBus()
    KitMetrics().subscribe_to(bus)
    assert not bus.wants(JobRun)


def test_each_outcome_of_a_job_is_counted() -> None:
    """Runs, failures, timeouts, skips, missed, fenced and cancelled: one counter by outcome."""
    fake = FakeScheduler()
    fake.jobs["sync"] = JobStats(
        name="sync",
        runs=9,
        succeeded=2,
        failed=3,
        timed_out=4,
        skipped=5,
        missed=40,  # a stall's missed slots count one each
        fenced=6,
        cancelled=1,
        dropped=7,  # the JobRun event of a dropped slot says CANCELLED too
    )
    kit = watched(fake)
    counted = {o: value(kit, RUNS, **SYNC, outcome=o) for o in (*JobOutcome,)}
    assert counted == {
        "ok": 2,
        "failed": 3,
        "timed_out": 4,
        "skipped": 5,
        "missed": 40,
        "fenced": 6,
        "cancelled": 8,
    }


def test_an_outcome_that_never_happened_has_no_series() -> None:
    """As a counter born at its first increment: no zero series per outcome and job."""
    fake = FakeScheduler()
    fake.jobs["sync"] = JobStats(name="sync", runs=1, succeeded=1)
    kit = watched(fake)
    assert value(kit, RUNS, **SYNC, outcome="ok") == 1
    assert value(kit, RUNS, **SYNC, outcome="failed") is None


def test_durations_by_outcome_and_lateness_come_from_the_scheduler_buckets() -> None:
    """Cumulative buckets over the scheduler's bounds, the count and the sum."""
    fake = FakeScheduler()
    fake.jobs["sync"] = JobStats(
        name="sync",
        runs=3,
        succeeded=2,
        failed=1,
        lateness=timing(0.0, 0.03, 0.7),
        durations={JobOutcome.OK: timing(0.05, 0.5), JobOutcome.FAILED: timing(2.0)},
    )
    kit = watched(fake)
    bucket = "service_pkg_job_duration_seconds_bucket"
    ok = {**SYNC, "outcome": "ok"}
    assert [value(kit, bucket, **ok, le=le) for le in ("0.1", "0.5", "1.0", "+Inf")] == [1, 2, 2, 2]
    assert value(kit, "service_pkg_job_duration_seconds_sum", **ok) == 0.55
    assert value(kit, "service_pkg_job_duration_seconds_count", **SYNC, outcome="failed") == 1
    late = "service_pkg_job_lateness_seconds_bucket"
    assert [value(kit, late, **SYNC, le=le) for le in ("0.1", "0.5", "1.0", "+Inf")] == [2, 2, 3, 3]


def test_a_cancelled_run_has_no_duration_series() -> None:
    """The duration histogram's outcomes are ok, failed and timed_out (runs that ended)."""
    fake = FakeScheduler()
    fake.jobs["sync"] = JobStats(
        name="sync",
        runs=1,
        cancelled=1,
        lateness=timing(0.0),
        durations={JobOutcome.CANCELLED: timing(0.2)},
    )
    kit = watched(fake)
    count = "service_pkg_job_duration_seconds_count"
    assert value(kit, count, **SYNC, outcome="cancelled") is None
    assert value(kit, "service_pkg_job_lateness_seconds_count", **SYNC) == 1


def test_a_job_that_never_ran_has_no_histograms() -> None:
    """Only skipped slots so far: the counter, no duration or lateness series."""
    fake = FakeScheduler()
    fake.jobs["sync"] = JobStats(name="sync", skipped=2)
    kit = watched(fake)
    assert value(kit, "service_pkg_job_lateness_seconds_count", **SYNC) is None
    assert value(kit, RUNS, **SYNC, outcome="skipped") == 2


def test_the_hand_rendering_says_what_prometheus_client_says() -> None:
    """Same samples, same values, one family each, an awkward job name escaped."""
    fake = FakeScheduler()
    fake.jobs['we"ird\\job'] = JobStats(
        name='we"ird\\job',
        runs=2,
        succeeded=1,
        failed=1,
        lateness=timing(0.01, 0.2),
        durations={JobOutcome.OK: timing(0.3), JobOutcome.FAILED: timing(3.0)},
    )
    kit = watched(fake)
    text, reference = kit.exposition().decode(), generate_latest(kit.registry).decode()

    def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(exposition)
            for s in f.samples
            if s.name.startswith("service_pkg_job")
        }

    assert samples(text) == samples(reference)
    assert len(samples(text)) == 2 + 2 * 6 + 6  # runs; two durations and a lateness of 4 + 2
    families = [f.name for f in text_string_to_metric_families(text)]
    for name in ("service_pkg_job_runs", "service_pkg_job_duration_seconds"):
        assert families.count(name) == 1


def test_a_removed_scheduler_is_read_until_it_has_stopped() -> None:
    """Runs that end during its stop still count; once stopped its figures are kept."""
    fake = FakeScheduler()
    fake.jobs["sync"] = JobStats(name="sync", runs=1, succeeded=1)
    kit = KitMetrics()
    remove = kit.watch_scheduler(fake)
    remove()
    fake.state = SchedulerState.STOPPING
    fake.jobs["sync"] = JobStats(name="sync", runs=2, succeeded=1, cancelled=1)
    assert value(kit, RUNS, **SYNC, outcome="cancelled") == 1
    fake.state = SchedulerState.STOPPED
    assert value(kit, RUNS, **SYNC, outcome="ok") == 1
    fake.jobs["sync"] = JobStats(name="sync", runs=9, succeeded=9)  # no longer read
    assert value(kit, RUNS, **SYNC, outcome="ok") == 1
    remove()  # idempotent
    assert value(kit, RUNS, **SYNC, outcome="ok") == 1


def test_a_restarted_scheduler_counts_on_from_its_predecessor() -> None:
    """A gated group started again builds a new scheduler: the counters do not go back."""
    kit = KitMetrics()
    first, second = FakeScheduler(), FakeScheduler()
    first.jobs["sync"] = JobStats(
        name="sync",
        runs=2,
        succeeded=2,
        lateness=timing(0.0, 0.2),
        durations={JobOutcome.OK: timing(0.05, 0.05)},
    )
    second.jobs["sync"] = JobStats(
        name="sync",
        runs=1,
        succeeded=1,
        lateness=timing(0.0),
        durations={JobOutcome.OK: timing(2.0)},
    )
    remove = kit.watch_scheduler(first)
    remove()
    first.state = SchedulerState.STOPPED
    kit.watch_scheduler(second)
    assert value(kit, RUNS, **SYNC, outcome="ok") == 3
    ok = {**SYNC, "outcome": "ok"}
    bucket = "service_pkg_job_duration_seconds_bucket"
    assert [value(kit, bucket, **ok, le=le) for le in ("0.1", "+Inf")] == [2, 3]
    assert value(kit, "service_pkg_job_lateness_seconds_count", **SYNC) == 3


def test_new_buckets_start_the_series_again() -> None:
    """A successor with other bounds cannot add to the old buckets: it starts from zero."""
    kit = KitMetrics()
    first, second = FakeScheduler(), FakeScheduler(bounds=(1.0,))
    first.jobs["sync"] = JobStats(name="sync", runs=2, succeeded=2)
    second.jobs["sync"] = JobStats(name="sync", runs=1, succeeded=1)
    remove = kit.watch_scheduler(first)
    remove()
    first.state = SchedulerState.STOPPED
    kit.watch_scheduler(second)
    remove_second = kit.watch_scheduler(FakeScheduler("other"))
    remove_second()
    assert value(kit, RUNS, **SYNC, outcome="ok") == 1


def test_a_scheduler_whose_stats_fail_is_left_out_of_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One broken reader: logged, its jobs missing, the rest of the scrape served."""

    class Broken:
        def stats(self) -> object:
            raise RuntimeError("no stats")

    good = FakeScheduler("good")
    good.jobs["sync"] = JobStats(name="sync", runs=1, succeeded=1)
    kit = KitMetrics()
    kit.watch_scheduler(Broken())
    kit.watch_scheduler(good)
    with caplog.at_level(logging.ERROR, "service_pkg.metrics"):
        text = kit.exposition().decode()
    assert 'service_pkg_job_runs_total{scheduler="good",job="sync",outcome="ok"} 1.0' in text
    assert "scheduler stats failed" in caplog.text


async def test_a_real_scheduler_s_runs_reach_the_histograms() -> None:
    """A run of 0.25 s on a manual clock lands in le="0.5" of the default buckets."""
    clock = ManualClock()

    async def quarter(_ctx: RunContext) -> None:
        await clock.sleep(0.25)

    sched = Scheduler(SchedulerConfig(name="main"), clock=clock)
    sched.add(JobConfig(name="sync", func=quarter, trigger=Once(0)))
    kit = KitMetrics()
    kit.watch_scheduler(sched)
    async with sched:
        await settle(lambda: sched.stats().jobs["sync"].runs == 1)
        clock.advance(0.25)
        await settle(lambda: sched.stats().jobs["sync"].succeeded == 1)
    ok = {**SYNC, "outcome": "ok"}
    bucket = "service_pkg_job_duration_seconds_bucket"
    assert [value(kit, bucket, **ok, le=le) for le in ("0.1", "0.5")] == [0, 1]
    assert value(kit, "service_pkg_job_duration_seconds_sum", **ok) == 0.25


async def test_the_component_reads_runs_and_failures_of_an_application_s_scheduler() -> None:
    """Component(scheduler_metrics, metrics, jobs) in a real application."""
    container = Container()
    async with Application(container, install_signals=False):
        kit = container.metrics()
        assert isinstance(kit, KitMetrics)
        ok = {"scheduler": "main", "job": "tick", "outcome": "ok"}
        failed = {"scheduler": "main", "job": "boom", "outcome": "failed"}
        await settle(lambda: (value(kit, RUNS, **ok) or 0) >= 2)
        await settle(lambda: (value(kit, RUNS, **failed) or 0) >= 1)
        count = value(kit, "service_pkg_job_duration_seconds_count", **ok)
        assert count is not None
        assert count >= 2
    # After the stop the figures stay (read from the stopped scheduler, then kept).
    assert (value(kit, RUNS, **ok) or 0) >= 2


async def test_scheduler_metrics_refuses_something_without_stats() -> None:
    """The factory names the argument."""
    with pytest.raises(ConfigError, match="scheduler"):
        await anext(scheduler_metrics(KitMetrics(), object()))
