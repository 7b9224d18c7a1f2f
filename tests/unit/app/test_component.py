"""Component: declaration checks and every supported kind of factory."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from dependency_injector import containers, providers, resources

from service_pkg import Component, ShutdownReason
from service_pkg.app import current_shutdown_reason
from service_pkg.exceptions import ConfigError, StartError, StopError
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
