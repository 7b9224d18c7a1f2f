"""Scheduler, renewal and store metrics from single events; the component's own contract."""

from __future__ import annotations

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component
from service_pkg.app import Runtime
from service_pkg.events import (
    ElectionRenewed,
    JobOutcome,
    JobRun,
    RenewOutcome,
    StoreReconnected,
)
from service_pkg.exceptions import ConfigError
from service_pkg.metrics import METRICS_PRIORITY, KitMetrics, MetricsConfig, metrics
from service_pkg.scheduler import Every, JobConfig, RunContext, SchedulerConfig, scheduler
from service_pkg.testing import FakeRuntime

from .conftest import settle, value


def run(
    outcome: JobOutcome, *, duration: float = 0.0, lateness: float = 0.0, slots: int = 1
) -> JobRun:
    return JobRun(
        scheduler="main",
        job="sync",
        scheduled=0.0,
        lateness=lateness,
        duration=duration,
        outcome=outcome,
        slots=slots,
    )


async def test_each_outcome_of_a_job_is_counted(runtime: FakeRuntime, kit: KitMetrics) -> None:
    """Runs, failures, timeouts, skips, missed and fenced are one counter with an outcome."""
    for outcome in JobOutcome:
        runtime.emit(run(outcome))
    runtime.emit(run(JobOutcome.OK))
    runs = "service_pkg_job_runs_total"
    assert value(kit, runs, scheduler="main", job="sync", outcome="ok") == 2
    for name in ("failed", "timed_out", "skipped", "missed", "fenced", "cancelled"):
        assert value(kit, runs, scheduler="main", job="sync", outcome=name) == 1


async def test_missed_slots_after_a_stall_count_one_each(
    runtime: FakeRuntime, kit: KitMetrics
) -> None:
    """One missed event standing for 40 slots adds 40."""
    runtime.emit(run(JobOutcome.MISSED, slots=40))
    runs = "service_pkg_job_runs_total"
    assert value(kit, runs, scheduler="main", job="sync", outcome="missed") == 40


async def test_durations_and_lateness_are_observed_for_runs_that_began(
    runtime: FakeRuntime, kit: KitMetrics
) -> None:
    """A run that ran feeds both histograms; a skipped slot feeds neither."""
    runtime.emit(run(JobOutcome.OK, duration=0.2, lateness=0.03))
    runtime.emit(run(JobOutcome.SKIPPED))
    labels = {"scheduler": "main", "job": "sync"}
    assert value(kit, "service_pkg_job_duration_seconds_sum", **labels, outcome="ok") == 0.2
    assert value(kit, "service_pkg_job_duration_seconds_count", **labels, outcome="skipped") is None
    assert value(kit, "service_pkg_job_lateness_seconds_count", **labels) == 1
    assert value(kit, "service_pkg_job_lateness_seconds_sum", **labels) == 0.03


async def test_a_duration_on_a_bucket_bound_counts_in_that_bucket(
    runtime: FakeRuntime, kit: KitMetrics
) -> None:
    """Prometheus buckets are "less than or equal": 0.5 s is in le="0.5", not in le="0.1"."""
    runtime.emit(run(JobOutcome.OK, duration=0.5))
    bucket = "service_pkg_job_duration_seconds_bucket"
    labels = {"scheduler": "main", "job": "sync", "outcome": "ok"}
    assert value(kit, bucket, **labels, le="0.1") == 0
    assert value(kit, bucket, **labels, le="0.5") == 1
    assert value(kit, bucket, **labels, le="+Inf") == 1


async def test_renewals_feed_latency_by_outcome_and_margin(
    runtime: FakeRuntime, kit: KitMetrics
) -> None:
    """Each ElectionRenewed observes its latency (by outcome) and its margin."""
    runtime.emit(
        ElectionRenewed(election="cron", outcome=RenewOutcome.EXTENDED, latency=0.002, margin=4.0)
    )
    runtime.emit(
        ElectionRenewed(election="cron", outcome=RenewOutcome.FAILED, latency=0.5, margin=1.5)
    )
    renew = "service_pkg_leader_renew_duration_seconds_count"
    assert value(kit, renew, election="cron", outcome="extended") == 1
    assert value(kit, renew, election="cron", outcome="failed") == 1
    assert value(kit, "service_pkg_leader_renew_margin_seconds_sum", election="cron") == 5.5
    bucket = "service_pkg_leader_renew_margin_seconds_bucket"
    assert value(kit, bucket, election="cron", le="2.0") == 1


async def test_store_reconnects_are_counted_per_component(
    runtime: FakeRuntime, kit: KitMetrics
) -> None:
    """StoreReconnected increments the component's counter."""
    for _ in range(3):
        runtime.emit(StoreReconnected(component="clickhouse", address="ch:9000", error="reset"))
    assert value(kit, "service_pkg_store_reconnects_total", component="clickhouse") == 3


async def test_stopping_while_running_unsubscribes_at_once(runtime: FakeRuntime) -> None:
    """Outside an application stop (a test, a gated group) the stop leaves the stream."""
    gen = metrics(runtime)
    kit = await anext(gen)
    await gen.aclose()
    runtime.emit(run(JobOutcome.OK))
    assert (
        value(kit, "service_pkg_job_runs_total", scheduler="main", job="sync", outcome="ok") is None
    )


async def test_the_start_seeds_state_and_readiness_from_the_runtime() -> None:
    """Before any event the gauges say what the runtime says."""
    runtime = FakeRuntime(ready=False)
    gen = metrics(runtime)
    kit = await anext(gen)
    assert value(kit, "service_pkg_application_state", state="running") == 1
    assert value(kit, "service_pkg_readiness") == 0
    await gen.aclose()


async def test_two_applications_never_share_series() -> None:
    """Each KitMetrics has its own registry."""
    first, second = KitMetrics(), KitMetrics()
    first.observe(run(JobOutcome.OK))
    labels = {"scheduler": "main", "job": "sync", "outcome": "ok"}
    assert value(first, "service_pkg_job_runs_total", **labels) == 1
    assert value(second, "service_pkg_job_runs_total", **labels) is None


async def test_a_runtime_that_is_not_one_is_refused() -> None:
    """The factory names the argument instead of failing on the first event."""
    with pytest.raises(ConfigError, match="runtime"):
        await anext(metrics(object()))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "buckets",
    [(), (1.0, 0.5), (0.1, float("inf")), [0.1, 1.0], (0.1, True)],
    ids=["empty", "decreasing", "infinite", "list", "bool"],
)
def test_bad_buckets_are_refused_at_construction(buckets: object) -> None:
    """MetricsConfig validates every bucket tuple and names the field."""
    with pytest.raises(ConfigError, match="job_buckets"):
        MetricsConfig(job_buckets=buckets)  # type: ignore[arg-type]


async def test_real_scheduler_runs_reach_the_counter() -> None:
    """A scheduler component in an application publishes JobRun; the counter follows."""
    ran: list[float] = []

    async def tick(ctx: RunContext) -> None:
        ran.append(ctx.started_at)

    jobs = [JobConfig(name="tick", func=tick, trigger=Every(0.01))]

    class C(containers.DeclarativeContainer):
        runtime = providers.Dependency(instance_of=Runtime)
        metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
        jobs_ = Component(scheduler, SchedulerConfig(name="main"), jobs)

    container = C()
    async with Application(container, install_signals=False):
        kit = container.metrics()
        runs = "service_pkg_job_runs_total"
        await settle(
            lambda: (value(kit, runs, scheduler="main", job="tick", outcome="ok") or 0) >= 2
        )
        assert len(ran) >= 2
