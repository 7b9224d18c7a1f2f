"""Component: declaration checks and every supported kind of factory."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Self

import pytest
from dependency_injector import containers, providers, resources

from service_pkg import Application, Component, ShutdownReason
from service_pkg.app import DEFAULT_STOP_TIMEOUT, current_shutdown_reason, default_stop_timeout
from service_pkg.exceptions import ConfigError, ConfigTypeError, StartError, StopError
from service_pkg.health import HealthCheck, default_health
from service_pkg.testing import run_components


async def noop() -> AsyncIterator[None]:
    yield None


class TestDeclaration:
    def test_non_callable_factory_is_a_config_error_naming_factory(self) -> None:
        """A factory that cannot be called is refused at declaration."""
        with pytest.raises(ConfigError, match="factory: must be callable") as caught:
            Component(42)
        assert caught.value.field == "factory"

    def test_plain_async_function_is_refused_because_it_has_no_stop(self) -> None:
        """`async def` without yield cannot say how to stop."""

        async def start_only() -> int:
            return 1

        with pytest.raises(ConfigError, match="no stop part"):
            Component(start_only)

    def test_negative_timeout_is_a_config_error_naming_the_field(self) -> None:
        """start_timeout / stop_timeout must be positive seconds."""
        with pytest.raises(ConfigError, match="stop_timeout") as caught:
            Component(noop, stop_timeout=-1)
        assert caught.value.field == "stop_timeout"
        assert caught.value.value == -1

    def test_unknown_priority_type_is_a_config_error_naming_priority(self) -> None:
        """A priority: must be an int (any int; Priority names the Go values)."""
        with pytest.raises(ConfigError, match="priority: must be an int") as caught:
            Component(noop, priority="high")  # type: ignore[call-overload]
        assert caught.value.field == "priority"

    def test_config_error_is_also_a_value_error(self) -> None:
        """Callers that catch ValueError catch bad declarations too."""
        with pytest.raises(ValueError, match="start_timeout"):
            Component(noop, start_timeout=float("nan"))

    def test_any_int_is_a_priority(self) -> None:
        """Priorities are not limited to the enum values."""
        assert Component(noop, priority=7).priority == 7

    def test_leader_must_be_a_provider(self) -> None:
        """leader= takes the election's provider, not its value."""
        with pytest.raises(ConfigError, match="leader"):
            Component(noop, leader="election")  # type: ignore[call-overload]

    @pytest.mark.parametrize(
        ("field", "kwargs"),
        [
            ("factory", {"factory": 42}),
            ("priority", {"factory": noop, "priority": 1.5}),
            ("leader", {"factory": noop, "leader": "election"}),
            ("health", {"factory": noop, "health": "ping"}),
        ],
    )
    def test_a_value_of_the_wrong_type_is_a_config_type_error(
        self,
        field: str,
        kwargs: dict[str, Any],
    ) -> None:
        """Wrong-typed declarations are ConfigTypeError: a ConfigError and a TypeError."""
        with pytest.raises(ConfigTypeError) as caught:
            Component(**kwargs)
        assert caught.value.field == field
        assert isinstance(caught.value, TypeError)
        assert isinstance(caught.value, ValueError)


class TestFactoryKinds:
    async def test_async_generator_receives_the_shutdown_reason(self) -> None:
        """`reason = yield value` gets why the component stops."""
        got: list[object] = []

        async def factory() -> AsyncIterator[str]:
            got.append((yield "value"))

        class C(containers.DeclarativeContainer):
            c = Component(factory)

        container = C()
        async with run_components(container):
            assert container.c() == "value"
        assert got == [ShutdownReason.REQUESTED]

    async def test_sync_generator_runs_and_receives_the_reason(self) -> None:
        """Sync generator factories work like async ones."""
        got: list[object] = []

        def factory() -> Iterator[str]:
            got.append((yield "sync"))

        class C(containers.DeclarativeContainer):
            c = Component(factory)

        container = C()
        async with run_components(container):
            assert container.c() == "sync"
        assert got == [ShutdownReason.REQUESTED]

    async def test_async_context_manager_factory_reads_the_reason_from_context(self) -> None:
        """CM factories read the reason with current_shutdown_reason()."""
        got: list[object] = []

        @asynccontextmanager
        async def factory(prefix: str) -> AsyncIterator[str]:
            try:
                yield prefix + "-cm"
            finally:
                got.append(current_shutdown_reason())

        class C(containers.DeclarativeContainer):
            c = Component(factory, "async")

        container = C()
        async with run_components(container):
            assert container.c() == "async-cm"
        assert got == [ShutdownReason.REQUESTED]
        assert current_shutdown_reason() is None

    async def test_sync_context_manager_factory(self) -> None:
        """A callable returning a sync context manager is entered and exited."""
        got: list[str] = []

        @contextmanager
        def factory() -> Iterator[str]:
            yield "sync-cm"
            got.append("exited")

        class C(containers.DeclarativeContainer):
            c = Component(factory)

        container = C()
        async with run_components(container):
            assert container.c() == "sync-cm"
        assert got == ["exited"]

    async def test_async_resource_subclass(self) -> None:
        """dependency-injector AsyncResource subclasses get init and shutdown called."""
        got: list[object] = []

        class Res(resources.AsyncResource[str]):
            async def init(self, name: str) -> str:
                return name

            async def shutdown(self, resource: str | None) -> None:
                got.append(resource)

        class C(containers.DeclarativeContainer):
            c = Component(Res, name="res")

        container = C()
        async with run_components(container):
            assert container.c() == "res"
        assert got == ["res"]

    async def test_sync_resource_subclass(self) -> None:
        """dependency-injector Resource subclasses work too."""
        got: list[object] = []

        class Res(resources.Resource[int]):
            def init(self) -> int:
                return 5

            def shutdown(self, resource: int | None) -> None:
                got.append(resource)

        class C(containers.DeclarativeContainer):
            c = Component(Res)

        async with run_components(C()):
            pass
        assert got == [5]

    async def test_factory_returning_a_plain_value_fails_the_start(self) -> None:
        """A factory must return something with a stop part."""

        class C(containers.DeclarativeContainer):
            c = Component(lambda: 3)

        with pytest.raises(StartError, match="not a context manager"):
            async with run_components(C()):
                pass

    async def test_generator_that_never_yields_fails_the_start(self) -> None:
        """A generator factory must yield its value."""

        async def empty() -> AsyncIterator[None]:
            return
            yield

        class C(containers.DeclarativeContainer):
            c = Component(empty)

        with pytest.raises(StartError, match="without yielding"):
            async with run_components(C()):
                pass

    async def test_generator_that_yields_twice_fails_its_stop(self) -> None:
        """A second yield is reported as a stop failure, and the generator is closed."""

        async def twice() -> AsyncIterator[int]:
            yield 1
            yield 2

        class C(containers.DeclarativeContainer):
            c = Component(twice)

        with pytest.raises(StopError) as caught:
            async with run_components(C()):
                pass
        assert "more than once" in str(caught.value.exceptions[0].__cause__)

    async def test_started_component_cannot_be_copied(self) -> None:
        """Copying a running container would duplicate live resources; it is refused."""

        class C(containers.DeclarativeContainer):
            c = Component(noop)

        container = C()
        async with run_components(container):
            with pytest.raises(RuntimeError, match="cannot be copied"):
                copy.deepcopy(container.c)


class TestInjection:
    async def test_plain_values_and_components_are_injected_as_dependency_injector_would(
        self,
    ) -> None:
        """Plain values pass as they are; components pass their started (or override) value."""
        seen: list[object] = []

        async def engine() -> AsyncIterator[str]:
            yield "engine"

        async def api(*args: object, **kwargs: object) -> AsyncIterator[None]:
            seen.append((args, kwargs))
            yield None

        class C(containers.DeclarativeContainer):
            db = Component(engine)
            cache = Component(engine)
            server = Component(api, db, 7, cache=cache, name="x")

        container = C()
        container.cache.override(providers.Object("fake-cache"))
        async with run_components(container):
            pass
        assert seen == [(("engine", 7), {"cache": "fake-cache", "name": "x"})]


def ping(value: object) -> None:
    if value is None:
        raise RuntimeError("no value")


@default_health(ping, affects_readiness=False, timeout=2.0)
async def open_checked() -> AsyncIterator[str]:
    yield "checked"


@default_health(ping)
class Service:
    """The kit's resource shape: ``async with`` starts it, ``aclose()`` stops it."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __aenter__(self) -> Self:
        self.log.append("started")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.log.append("closed")


class TestResourceShape:
    async def test_a_class_started_by_async_with_is_a_factory(self) -> None:
        """The class itself is the factory: __aenter__ starts it and __aexit__ stops it."""

        class C(containers.DeclarativeContainer):
            service = Component(Service, [])

        container = C()
        async with run_components(container):
            service = container.service()
            assert service.log == ["started"]
        assert service.log == ["started", "closed"]


class TestHealth:
    def test_a_bare_callable_becomes_a_health_check_with_the_defaults(self) -> None:
        """health=fn is HealthCheck(check=fn): affects readiness, 1 s timeout."""
        assert Component(noop, health=ping).health == HealthCheck(check=ping)

    def test_a_health_check_is_kept_as_given(self) -> None:
        """health=HealthCheck(...) is used as it is."""
        check = HealthCheck(check=ping, affects_readiness=False, timeout=0.5)
        assert Component(noop, health=check).health is check

    def test_a_typed_check_receives_the_factorys_value_type(self) -> None:
        """A lambda check is typed against what the factory yields."""
        component = Component(open_checked, health=lambda value: value.upper())
        assert component.health is not None
        assert component.health.check("db") == "DB"

    def test_without_health_the_factory_default_is_used(self) -> None:
        """A factory decorated with @default_health brings its check with no user code."""
        assert Component(open_checked).health == HealthCheck(
            check=ping, affects_readiness=False, timeout=2.0
        )

    def test_a_class_factory_brings_its_default_too(self) -> None:
        """@default_health on a class factory is read the same way."""
        assert Component(Service, []).health == HealthCheck(check=ping)

    def test_health_given_replaces_the_factory_default(self) -> None:
        """An explicit health= wins over the factory's default."""

        def other(value: object) -> None:
            del value

        assert Component(open_checked, health=other).health == HealthCheck(check=other)

    def test_without_any_check_health_is_none(self) -> None:
        """No health= and an undecorated factory: no check."""
        assert Component(noop).health is None

    def test_a_non_callable_health_is_a_config_error_naming_health(self) -> None:
        """health= must be a callable or a HealthCheck, checked at declaration."""
        with pytest.raises(ConfigError, match="health: must be a check callable") as caught:
            Component(noop, health=3)  # type: ignore[call-overload]
        assert caught.value.field == "health"
        assert caught.value.value == 3

    def test_the_default_follows_the_factory_set_later(self) -> None:
        """After set_provides, the default is the new factory's."""
        component = Component(noop)
        component.set_provides(open_checked)
        assert component.health == HealthCheck(check=ping, affects_readiness=False, timeout=2.0)

    def test_the_default_of_a_string_factory_is_the_resolved_factorys(self) -> None:
        """A component declared by import path reads the default of what the path names."""
        component = Component(".test_component.open_checked")
        assert component.health == HealthCheck(check=ping, affects_readiness=False, timeout=2.0)

    def test_health_survives_the_container_copy(self) -> None:
        """Container() deep-copies the providers; health= comes along."""
        check = HealthCheck(check=ping, timeout=0.25)

        class C(containers.DeclarativeContainer):
            db = Component(noop, health=check)

        copied = C().db
        assert copied is not C.db
        assert copied.health is check

    def test_an_overriding_component_keeps_its_own_health(self) -> None:
        """Overriding does not mix checks: each component keeps the one it was given."""
        declared, replacement = HealthCheck(check=ping), HealthCheck(check=bool)
        component = Component(noop, health=declared)
        overriding = Component(noop, health=replacement)
        component.override(overriding)
        assert component.health is declared
        assert overriding.health is replacement


class TestDefaultStopTimeout:
    async def test_the_factory_budget_sets_the_stop_timeout_of_a_started_component(self) -> None:
        @default_stop_timeout(lambda value: value["drain"] + 1.0)
        async def server() -> AsyncIterator[dict[str, float]]:
            yield {"drain": 20.0}

        class Container(containers.DeclarativeContainer):
            srv = Component(server)

        container = Container()
        assert container.srv.stop_timeout == DEFAULT_STOP_TIMEOUT
        async with Application(container, install_signals=False):
            assert container.srv.stop_timeout == 21.0

    async def test_an_explicit_stop_timeout_wins_over_the_factory_budget(self) -> None:
        @default_stop_timeout(lambda _value: 20.0)
        async def server() -> AsyncIterator[int]:
            yield 1

        class Container(containers.DeclarativeContainer):
            srv = Component(server, stop_timeout=3)

        container = Container()
        async with Application(container, install_signals=False):
            assert container.srv.stop_timeout == 3.0
