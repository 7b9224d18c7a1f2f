"""Renewal and store metrics from single events; the component's own contract."""

from __future__ import annotations

import pytest

from service_pkg.events import ElectionRenewed, RenewOutcome, StoreReconnected
from service_pkg.exceptions import ConfigError
from service_pkg.metrics import KitMetrics, MetricsConfig, metrics
from service_pkg.testing import FakeRuntime

from .conftest import value

RECONNECTED = StoreReconnected(component="clickhouse", address="ch:9000", error="reset")


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
        runtime.emit(RECONNECTED)
    assert value(kit, "service_pkg_store_reconnects_total", component="clickhouse") == 3


async def test_stopping_while_running_unsubscribes_at_once(runtime: FakeRuntime) -> None:
    """Outside an application stop (a test, a gated group) the stop leaves the stream."""
    gen = metrics(runtime)
    kit = await anext(gen)
    await gen.aclose()
    runtime.emit(RECONNECTED)
    assert value(kit, "service_pkg_store_reconnects_total", component="clickhouse") is None


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
    first.observe(RECONNECTED)
    reconnects = "service_pkg_store_reconnects_total"
    assert value(first, reconnects, component="clickhouse") == 1
    assert value(second, reconnects, component="clickhouse") is None


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
