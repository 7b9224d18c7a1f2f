"""The scrape: the hand-rendered families parse and say what the registry says."""

from __future__ import annotations

from prometheus_client import Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service_pkg.events import ComponentStarted, JobOutcome
from service_pkg.metrics import KitMetrics
from service_pkg.scheduler import JobStats

from .conftest import FakeScheduler, timing


def samples_of(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_the_exposition_parses_and_matches_the_registry() -> None:
    """Every sample of the fast rendering equals the one prometheus-client renders."""
    kit = KitMetrics()
    kit.observe(ComponentStarted(component="db", duration=0.2))
    jobs = FakeScheduler("s")
    jobs.jobs["j"] = JobStats(
        name='we"ird\\job',
        runs=1,
        succeeded=1,
        skipped=1,
        lateness=timing(0.01),
        durations={JobOutcome.OK: timing(0.3)},
    )
    kit.watch_scheduler(jobs)
    kit.http_duration.child("GET", "/a/{id}", "200", "").observe(0.07)
    kit.http_duration.child("GET", "/a/{id}", "200", "").observe(0.005)
    kit.http_active.add(("GET",), 1)
    fast = samples_of(kit.exposition().decode())
    reference = samples_of(generate_latest(kit.registry).decode())
    assert fast == reference
    assert (
        fast[
            (
                "http_server_request_duration_seconds_bucket",
                (
                    ("error_type", ""),
                    ("http_request_method", "GET"),
                    ("http_response_status_code", "200"),
                    ("http_route", "/a/{id}"),
                    ("le", "0.005"),
                ),
            )
        ]
        == 1
    )


def test_each_family_appears_once() -> None:
    """One TYPE line per family, fast or not."""
    kit = KitMetrics()
    types = [line for line in kit.exposition().decode().splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types))
    assert "# TYPE http_server_request_duration_seconds histogram" in types
    assert "# TYPE service_pkg_job_runs_total counter" in types


def test_instruments_added_by_the_service_are_in_the_scrape() -> None:
    """The registry is the service's too."""
    kit = KitMetrics()
    Counter("orders", "Orders placed.", registry=kit.registry).inc(3)
    assert "orders_total 3.0" in kit.exposition().decode()
