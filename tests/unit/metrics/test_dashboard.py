"""docs/grafana-dashboard.json references only metric names the kit exposes, and every family."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from service_pkg.app import RunState, ShutdownReason
from service_pkg.events import (
    ApplicationStateChanged,
    ComponentStarted,
    ComponentStopped,
    ElectionRenewed,
    HealthChecked,
    JobOutcome,
    LeadershipChanged,
    RenewOutcome,
    StartAborted,
    StoreReconnected,
)
from service_pkg.health import ComponentHealth, HealthReport, HealthStatus
from service_pkg.leader import LeaderEvent
from service_pkg.metrics import KitMetrics, PoolStats, pool_families
from service_pkg.scheduler import JobStats

from .conftest import FakeScheduler, timing

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
PAGE = ROOT / "docs" / "observability.md"
# A metric name in PromQL: the kit's own prefix or one of the semconv families.
NAME = re.compile(r"\b(?:service_pkg|http_server|rpc_server)_[a-z_]+\b")


def every_series() -> KitMetrics:
    """A KitMetrics with at least one sample in every family."""
    kit = KitMetrics()
    reason = ShutdownReason.SIGNAL
    for event in (
        ComponentStarted(component="db", duration=0.1),
        ComponentStopped(component="db", duration=0.1, reason=reason),
        ApplicationStateChanged(old=RunState.STARTING, new=RunState.RUNNING, duration=0.2),
        ApplicationStateChanged(old=RunState.STOPPING, new=RunState.STOPPED, reason=reason),
        StartAborted(component="db", error=None, reason=reason, rolled_back=()),
        LeadershipChanged(election="cron", event=LeaderEvent.LOST, epoch=1, reason="resigned:x"),
        ElectionRenewed(election="cron", outcome=RenewOutcome.EXTENDED, latency=0.01, margin=3),
        StoreReconnected(component="ch", address="ch:9000", error="reset"),
        HealthChecked(
            report=HealthReport(
                components=(ComponentHealth(name="db", status=HealthStatus.OK),),
                lifecycle_ready=True,
                checked_at=0.0,
            )
        ),
    ):
        kit.observe(event)
    jobs = FakeScheduler("s")
    jobs.jobs["j"] = JobStats(
        name="j",
        runs=1,
        succeeded=1,
        lateness=timing(0.0),
        durations={JobOutcome.OK: timing(0.1)},
    )
    kit.watch_scheduler(jobs)
    kit.add_source(pool_families("db", lambda: PoolStats(5, 1, 0, 4)))
    kit.http_duration.child("GET", "/a", "200", "").observe(0.01)
    kit.http_active.add(("GET",), 0)
    kit.rpc_duration.child("grpc", "a.B/C", "OK", "").observe(0.01)
    kit.rpc_active.add(("grpc",), 0)
    return kit


def sample_names(kit: KitMetrics) -> set[str]:
    text = kit.exposition().decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def family_names(kit: KitMetrics) -> set[str]:
    text = kit.exposition().decode()
    return {f.name for f in text_string_to_metric_families(text)}


def dashboard_exprs() -> list[str]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for panel in data["panels"] for t in panel["targets"]]


def test_every_name_the_dashboard_queries_exists() -> None:
    """Each metric name in a panel's PromQL is a sample name of the exposition."""
    exposed = sample_names(every_series())
    used = {name for expr in dashboard_exprs() for name in NAME.findall(expr)}
    assert used
    assert used <= exposed, sorted(used - exposed)


def test_every_panel_queries_a_kit_metric() -> None:
    """No panel is left pointing at nothing of ours."""
    for expr in dashboard_exprs():
        assert NAME.search(expr), expr


def test_the_metric_table_of_the_page_lists_every_family() -> None:
    """docs/observability.md names every family the kit exposes, and nothing else."""
    table = {
        m.group(1)
        for m in re.finditer(r"^\| `([a-z_]+)` \|", PAGE.read_text(encoding="utf-8"), re.MULTILINE)
    }
    exposed = sample_names(every_series())
    families = {
        f"{name}_total" if f"{name}_total" in exposed else name
        for name in family_names(every_series())
        if not name.endswith("_created")  # prometheus-client's creation timestamps
    }
    assert table == families, (sorted(families - table), sorted(table - families))
