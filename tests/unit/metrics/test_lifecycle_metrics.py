"""Lifecycle, health and leadership metrics of a real Application, read in-process."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component, ShutdownReason
from service_pkg.app import Runtime
from service_pkg.events import ComponentStarted
from service_pkg.metrics import METRICS_PRIORITY, KitMetrics, election_metrics, metrics
from service_pkg.testing import ManualElection, manual_election

from .conftest import fake_component, settle, value


async def failing_stop() -> AsyncGenerator[str, object]:
    yield "x"
    raise RuntimeError("cannot stop")


class Base(containers.DeclarativeContainer):
    runtime = providers.Dependency(instance_of=Runtime)
    metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
    db = Component(fake_component, priority=1000)
    api = Component(fake_component, db, priority=100)


async def test_every_component_start_and_stop_is_measured() -> None:
    """The metrics component starts first, so it sees every other start and every stop."""
    container = Base()
    app = Application(container, install_signals=False)
    async with app:
        kit = container.metrics()
        assert isinstance(kit, KitMetrics)
        for name in ("db", "api"):
            count = "service_pkg_component_start_duration_seconds_count"
            assert value(kit, count, component=name, outcome="ok") == 1
            assert value(kit, "service_pkg_component_state", component=name, state="running") == 1
        assert value(kit, "service_pkg_application_state", state="running") == 1
        assert value(kit, "service_pkg_readiness") == 1
        start = value(kit, "service_pkg_application_start_duration_seconds")
        assert start is not None
        assert start > 0
    for name in ("db", "api"):
        count = "service_pkg_component_stop_duration_seconds_count"
        assert value(kit, count, component=name, outcome="ok", reason="requested") == 1
        assert value(kit, "service_pkg_component_state", component=name, state="stopped") == 1
        assert value(kit, "service_pkg_component_state", component=name, state="running") == 0


async def test_shutdown_duration_and_reason_are_recorded_after_the_stop() -> None:
    """The subscriber leaves only after the final state change, so the stop is in the registry."""
    container = Base()
    app = Application(container, install_signals=False)
    await app.start()
    kit = container.metrics()
    await app.stop(ShutdownReason.SIGNAL)
    duration = value(kit, "service_pkg_shutdown_duration_seconds", reason="signal")
    assert duration is not None
    assert duration > 0
    assert value(kit, "service_pkg_shutdowns_total", reason="signal", state="stopped") == 1
    assert value(kit, "service_pkg_application_state", state="stopped") == 1
    assert value(kit, "service_pkg_readiness") == 0


async def test_nothing_is_recorded_once_the_application_stopped() -> None:
    """After the final state change the subscriber is gone: a second run records nothing."""
    container = Base()
    app = Application(container, install_signals=False)
    async with app:
        kit = container.metrics()
    app.events.emit(ComponentStarted(component="late", duration=0.1))
    count = "service_pkg_component_start_duration_seconds_count"
    assert value(kit, count, component="late", outcome="ok") is None


async def test_a_failing_stop_counts_as_failed() -> None:
    """A stop that raises is observed with outcome failed and the state failed."""

    class C(Base):
        broken = Component(failing_stop)

    container = C()
    app = Application(container, install_signals=False)
    await app.start()
    kit = container.metrics()
    with pytest.raises(ExceptionGroup):
        await app.stop()
    count = "service_pkg_component_stop_duration_seconds_count"
    assert value(kit, count, component="broken", outcome="failed", reason="requested") == 1
    assert value(kit, "service_pkg_component_state", component="broken", state="failed") == 1
    assert value(kit, "service_pkg_shutdowns_total", reason="requested", state="failed") == 1


async def test_health_rounds_count_results_and_durations() -> None:
    """Each health round adds one result per component and one duration observation."""
    container = Base()
    async with Application(container, install_signals=False) as app:
        kit = container.metrics()
        report = await app.health()
        assert report.ready
        assert value(kit, "service_pkg_health_checks_total", component="db", status="ok") == 1
        count = "service_pkg_health_check_duration_seconds_count"
        assert value(kit, count, component="api") == 1
        assert value(kit, "service_pkg_health_ready") == 1


async def test_a_gated_group_stop_and_restart_counts_two_starts() -> None:
    """TAKEN, LOST, TAKEN: the gated component started twice, stopped once, leader again."""

    class C(Base):
        vote = Component(manual_election)
        jobs = Component(fake_component, leader=vote)

    container = C()
    async with Application(container, install_signals=False):
        kit = container.metrics()
        election = container.vote()
        assert isinstance(election, ManualElection)
        await settle(lambda: election.subscribers == 1)
        election.take()
        await settle(lambda: container.jobs.started)
        election.lose()
        await settle(lambda: not container.jobs.started)
        election.take()
        await settle(lambda: container.jobs.started)
        count = "service_pkg_component_start_duration_seconds_count"
        assert value(kit, count, component="jobs", outcome="ok") == 2
        stops = "service_pkg_component_stop_duration_seconds_count"
        assert value(kit, stops, component="jobs", outcome="ok", reason="leadership_lost") == 1
        transitions = "service_pkg_leader_transitions_total"
        assert value(kit, transitions, election="manual", event="taken", reason="acquired") == 2
        assert value(kit, transitions, election="manual", event="lost", reason="lost") == 1
        assert value(kit, "service_pkg_leader_is_leader", election="manual") == 1
        assert value(kit, "service_pkg_leader_epoch", election="manual") == 2


async def test_a_resignation_is_counted() -> None:
    """A resign while leading is a LOST with reason resigned:<why> and one resignation."""

    class C(Base):
        vote = Component(manual_election)

    container = C()
    async with Application(container, install_signals=False):
        kit = container.metrics()
        election = container.vote()
        assert isinstance(election, ManualElection)
        election.take()
        await election.resign("start_failure", hold_off=0)
        assert value(kit, "service_pkg_leader_resignations_total", election="manual") == 1
        assert value(kit, "service_pkg_leader_is_leader", election="manual") == 0


async def test_a_watched_election_is_read_live_at_scrape_time() -> None:
    """With election_metrics the gauge follows is_leader(), not only the events."""
    election = ManualElection(name="cron")  # built outside: it publishes no events

    class C(containers.DeclarativeContainer):
        runtime = providers.Dependency(instance_of=Runtime)
        metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
        vote = Component(manual_election, providers.Object(election))
        watch = Component(election_metrics, metrics, vote)

    container = C()
    async with Application(container, install_signals=False):
        kit = container.metrics()
        assert value(kit, "service_pkg_leader_is_leader", election="cron") == 0
        election.take()
        assert value(kit, "service_pkg_leader_is_leader", election="cron") == 1
        assert value(kit, "service_pkg_leader_epoch", election="cron") == 1
