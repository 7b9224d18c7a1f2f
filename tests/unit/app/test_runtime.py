"""The runtime view: components depend on the running application through the container."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import pytest
from dependency_injector import containers, errors, providers

from service_pkg import Application, Component, RunState
from service_pkg.app import Runtime
from service_pkg.events import ComponentStarted, Event
from service_pkg.health import HealthReport, HealthStatus
from service_pkg.testing import FakeRuntime, run_components


@dataclass
class Probes:
    """A stand-in for an HTTP server's /readyz: it keeps the runtime it was given."""

    runtime: Runtime
    seen: list[Event] = field(default_factory=list)

    async def readyz(self) -> tuple[bool, HealthReport]:
        report = await self.runtime.health()
        return report.ready, report


async def serve_probes(runtime: Runtime, _db: str) -> AsyncGenerator[Probes, object]:
    probes = Probes(runtime)
    unsubscribe = runtime.subscribe(probes.seen.append, ComponentStarted)
    try:
        yield probes
    finally:
        unsubscribe()


async def db() -> AsyncGenerator[str, object]:
    yield "db"


class Container(containers.DeclarativeContainer):
    runtime = providers.Dependency(instance_of=Runtime)
    db_ = Component(db)
    probes = Component(serve_probes, runtime, db_)


async def test_component_reads_readiness_and_health_of_the_running_app() -> None:
    """A component depending on the runtime sees the app's state, readiness and health."""
    container = Container()
    async with run_components(container) as app:
        probes = container.probes()
        assert probes.runtime is app
        ready, report = await probes.readyz()
        assert (app.state, ready, [c.name for c in report.components]) == (
            RunState.RUNNING,
            True,
            ["db_", "probes"],
        )


async def test_component_subscribes_to_the_app_events_through_the_runtime() -> None:
    """runtime.subscribe() during a start reaches the app's stream from that moment on."""
    container = Container()
    async with run_components(container):
        probes = container.probes()
    assert [e.component for e in probes.seen if isinstance(e, ComponentStarted)] == ["probes"]


async def test_override_with_the_fake_runtime_is_kept() -> None:
    """A test's FakeRuntime override wins: the application does not replace it."""
    fake = FakeRuntime(ready=False)
    fake.set_health("db", HealthStatus.FAILED, error="down")
    container = Container()
    container.runtime.override(providers.Object(fake))
    async with run_components(container):
        ready, report = await container.probes().readyz()
    assert (ready, report["db"].error, fake.health_calls) == (False, "down", 1)


async def test_binding_is_undone_after_the_stop() -> None:
    """Once the application stopped, the runtime dependency is unfilled again."""
    container = Container()
    async with run_components(container):
        pass
    with pytest.raises(errors.Error, match="is not defined"):
        container.runtime()


def test_application_is_a_runtime() -> None:
    """Application satisfies the Runtime protocol (isinstance works)."""
    assert isinstance(Application(Container(), install_signals=False), Runtime)


def test_fake_runtime_is_a_runtime() -> None:
    """The testing double satisfies the Runtime protocol."""
    assert isinstance(FakeRuntime(), Runtime)


async def test_fake_runtime_delivers_emitted_events() -> None:
    """FakeRuntime.emit() reaches its subscribers like the app's stream would."""
    fake = FakeRuntime()
    seen: list[Event] = []
    fake.subscribe(seen.append)
    fake.emit(ComponentStarted(component="x", duration=0.0))
    assert seen == [ComponentStarted(component="x", duration=0.0)]


def test_fake_runtime_refuses_an_unknown_status() -> None:
    """set_health() with a status that does not exist is a ConfigError naming status."""
    from service_pkg.exceptions import ConfigError  # noqa: PLC0415

    with pytest.raises(ConfigError, match="status: must be one of ok, failed, standby, stopped"):
        FakeRuntime().set_health("db", "broken")
