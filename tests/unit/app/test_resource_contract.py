"""dependency-injector's ``Resource`` contract, walked against ``Component`` under the Application.

Each test mirrors one behaviour of dependency-injector's own ``providers.Resource`` tests
(``tests/unit/providers/resource/test_resource_py35.py`` and ``test_async_resource_py35.py``)
with the Application (``run_components``) doing what ``init()`` / ``shutdown()`` do there.
Where the kit owns the lifecycle on purpose, the test pins the deviation instead: calling a
component before its start, ``init()`` / ``shutdown()`` and their container forms, and a factory
without a stop part (a plain ``async def`` is refused at declaration, a plain function fails the
start: ``test_component.py``).
"""

from __future__ import annotations

import copy
import decimal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from dependency_injector import containers, errors, providers, resources

from service_pkg import Component, Priority
from service_pkg.exceptions import ApplicationOwnedError, ConfigTypeError, StartError
from service_pkg.health import HealthCheck
from service_pkg.testing import run_components


async def open_value(*args: object, **kwargs: object) -> AsyncIterator[tuple[Any, ...]]:
    yield args, kwargs


class Counter:
    """How often a fake factory's start and stop parts ran, and the value it yields."""

    def __init__(self) -> None:
        self.init = 0
        self.shutdown = 0
        self.value = object()

    @property
    def runs(self) -> tuple[int, int]:
        return self.init, self.shutdown


def generator(c: Counter) -> object:
    def factory() -> Iterator[object]:
        c.init += 1
        yield c.value
        c.shutdown += 1

    return factory


def context_manager(c: Counter) -> object:
    @contextmanager
    def factory() -> Iterator[object]:
        c.init += 1
        yield c.value
        c.shutdown += 1

    return factory


def resource_class(c: Counter) -> object:
    class Res(resources.Resource[object]):
        def init(self) -> object:
            c.init += 1
            return c.value

        def shutdown(self, resource: object) -> None:
            # Counted only when given the value init returned, as the base class passes it.
            c.shutdown += resource is c.value

    return Res


def async_generator(c: Counter) -> object:
    async def factory() -> AsyncIterator[object]:
        c.init += 1
        yield c.value
        c.shutdown += 1

    return factory


def async_context_manager(c: Counter) -> object:
    @asynccontextmanager
    async def factory() -> AsyncIterator[object]:
        c.init += 1
        yield c.value
        c.shutdown += 1

    return factory


def async_resource_class(c: Counter) -> object:
    class Res(resources.AsyncResource[object]):
        async def init(self) -> object:
            c.init += 1
            return c.value

        async def shutdown(self, resource: object) -> None:
            c.shutdown += resource is c.value

    return Res


KINDS: dict[str, Callable[[Counter], object]] = {
    "generator": generator,
    "context manager": context_manager,
    "Resource subclass": resource_class,
    "async generator": async_generator,
    "async context manager": async_context_manager,
    "AsyncResource subclass": async_resource_class,
}


def single(
    factory: object,
    *args: object,
    **kwargs: Any,
) -> tuple[containers.DynamicContainer, Component[Any]]:
    """A container holding one component ``c`` built from ``factory``, and that component."""
    container = containers.DynamicContainer()
    container.c = component = Component(factory, *args, **kwargs)
    return container, component


async def failing_async_generator(*, fail: bool = True) -> AsyncIterator[None]:
    if fail:
        raise RuntimeError("cannot start")
    yield None


@asynccontextmanager
async def failing_async_context_manager(*, fail: bool = True) -> AsyncIterator[None]:
    if fail:
        raise RuntimeError("cannot start")
    yield None


class FailingAsyncResource(resources.AsyncResource[None]):
    async def init(self) -> None:
        raise RuntimeError("cannot start")


class TestProvider:
    def test_a_component_is_a_resource_provider(self) -> None:
        """A component is a dependency-injector provider and a Resource."""
        component = Component(open_value)
        assert providers.is_provider(component)
        assert isinstance(component, providers.Resource)

    def test_set_provides_gives_an_empty_component_its_factory(self) -> None:
        """Component() followed by set_provides(fn) has fn as its factory and provides."""
        component = Component()
        component.set_provides(open_value)
        assert component.factory is open_value
        assert component.provides is open_value

    def test_set_provides_returns_the_component(self) -> None:
        """set_provides is fluent, as on the base class."""
        component = Component()
        assert component.set_provides(open_value) is component

    async def test_a_factory_set_later_is_what_starts(self) -> None:
        """An empty component whose factory was set with set_provides starts that factory."""
        container, c = single(None)
        c.set_provides(open_value).add_args(1)
        async with run_components(container):
            assert container.c() == ((1,), {})

    async def test_set_provides_replaces_the_declared_factory_at_start(self) -> None:
        """The factory given to set_provides runs, not the one given to the constructor."""
        first, second = Counter(), Counter()
        container, c = single(async_generator(first))
        c.set_provides(async_generator(second))
        async with run_components(container):
            assert container.c() is second.value
        assert (first.runs, second.runs) == ((0, 0), (1, 1))

    def test_set_provides_checks_what_it_is_given(self) -> None:
        """A non-callable given to set_provides is the TypeError a declaration would be."""
        with pytest.raises(ConfigTypeError, match="factory: must be callable") as caught:
            Component().set_provides(1)
        assert isinstance(caught.value, TypeError)

    async def test_a_component_without_a_factory_fails_its_start_saying_how_to_fix_it(
        self,
    ) -> None:
        """Starting a component nobody gave a factory names set_provides."""
        with pytest.raises(StartError) as caught:
            async with run_components(single(None)[0]):
                pass
        assert isinstance(caught.value.__cause__, TypeError)
        assert "has no factory" in str(caught.value.__cause__)
        assert "set_provides()" in str(caught.value.__cause__)

    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("dependency_injector.providers.Factory", providers.Factory),
            ("decimal.Decimal", decimal.Decimal),
            ("list", list),
            (".test_resource_contract.open_value", open_value),
            ("open_value", open_value),
        ],
    )
    def test_a_string_import_path_resolves_as_the_base_class_resolves_it(
        self,
        path: str,
        expected: object,
    ) -> None:
        """Dotted, relative and bare names resolve as providers.Resource resolves them."""
        component = Component(path)
        assert component.factory is expected
        assert component.provides is expected

    async def test_a_string_factory_runs_under_the_application(self) -> None:
        """A component declared by import path starts the function the path names."""
        container, _ = single(".test_resource_contract.open_value", "x")
        async with run_components(container):
            assert container.c() == (("x",), {})

    def test_the_factory_check_applies_to_what_a_string_names(self) -> None:
        """A path naming a plain async function is refused like the function itself."""
        with pytest.raises(ConfigTypeError, match="no stop part"):
            Component("asyncio.sleep")

    def test_a_string_naming_a_missing_module_is_an_import_error(self) -> None:
        """An unimportable path raises the ImportError the base class raises."""
        with pytest.raises(ImportError, match="no_such_module_for_the_test"):
            Component("no_such_module_for_the_test.open")

    def test_a_string_naming_a_missing_attribute_is_an_attribute_error(self) -> None:
        """A path to a name the module lacks raises AttributeError, as the base class does."""
        with pytest.raises(AttributeError, match="no_such_factory"):
            Component("decimal.no_such_factory")

    def test_provided_is_a_provided_instance(self) -> None:
        """component.provided is dependency-injector's ProvidedInstance."""
        assert isinstance(Component(open_value).provided, providers.ProvidedInstance)

    async def test_a_provided_attribute_is_injected_from_the_started_value(self) -> None:
        """provided[...] of a component resolves against its started value."""

        class C(containers.DeclarativeContainer):
            source = Component(open_value, name="db")
            user = Component(open_value, source.provided[1]["name"])

        container = C()
        async with run_components(container):
            assert container.user() == (("db",), {})

    def test_repr_is_the_base_class_repr_naming_the_factory(self) -> None:
        """repr shows the provider class and the factory, in the base class's format."""
        component = Component(open_value)
        assert repr(component) == (
            f"<service_pkg.app._component.Component({open_value!r}) at {hex(id(component))}>"
        )


class TestFactoryKinds:
    @pytest.mark.parametrize("kind", KINDS)
    async def test_each_kind_starts_once_and_stops_once(self, kind: str) -> None:
        """Start runs the start part once and serves its value; stop runs the stop part once."""
        counter = Counter()
        container, _ = single(KINDS[kind](counter))
        async with run_components(container):
            assert container.c() is counter.value
            assert container.c() is counter.value
            assert counter.runs == (1, 0)
        assert counter.runs == (1, 1)

    @pytest.mark.parametrize("kind", KINDS)
    async def test_each_kind_starts_afresh_after_a_stop(self, kind: str) -> None:
        """A stopped component starts again from its factory, as a Resource re-inits."""
        counter = Counter()
        container, _ = single(KINDS[kind](counter))
        async with run_components(container):
            pass
        async with run_components(container):
            assert counter.runs == (2, 1)
        assert counter.runs == (2, 2)

    @pytest.mark.parametrize(
        "factory",
        [failing_async_generator, failing_async_context_manager, FailingAsyncResource],
        ids=["async generator", "async context manager", "AsyncResource subclass"],
    )
    async def test_a_failed_start_leaves_the_component_not_initialized(
        self,
        factory: object,
    ) -> None:
        """After its start raised, a component is neither initialized nor callable."""
        container, c = single(factory)
        with pytest.raises(StartError, match="cannot start"):
            async with run_components(container):
                pass
        assert c.initialized is False
        with pytest.raises(ApplicationOwnedError, match="not started"):
            container.c()

    def test_a_non_callable_factory_is_a_type_error(self) -> None:
        """As in dependency-injector a non-callable factory is a TypeError, raised earlier."""
        with pytest.raises(TypeError, match="must be callable"):
            Component(1)


class TestInjection:
    async def test_one_start_serves_every_dependent(self) -> None:
        """Two providers using one component get the same value from one start."""
        counter = Counter()

        class C(containers.DeclarativeContainer):
            resource = Component(async_generator(counter))
            dependency1 = providers.List(resource)
            dependency2 = providers.List(resource)

        container = C()
        async with run_components(container):
            list1, list2 = container.dependency1(), container.dependency2()
        assert list1[0] is counter.value
        assert list2[0] is counter.value
        assert counter.init == 1

    async def test_configuration_and_other_components_are_injected(self) -> None:
        """A component receives a config option and another component's started value."""

        async def open_connection(db_url: str) -> AsyncIterator[dict[str, str]]:
            yield {"connection": "OK", "url": db_url}

        async def open_session(db: dict[str, str]) -> AsyncIterator[dict[str, object]]:
            yield {"session": "OK", "db": db}

        class C(containers.DeclarativeContainer):
            config = providers.Configuration()
            db_connection = Component(open_connection, db_url=config.db_url)
            user_session = Component(open_session, db=db_connection)

        container = C(config={"db_url": "postgres://..."})
        async with run_components(container):
            assert container.user_session() == {
                "session": "OK",
                "db": {"connection": "OK", "url": "postgres://..."},
            }

    async def test_call_arguments_do_not_change_the_started_value(self) -> None:
        """Calling a started component with arguments returns its value, as Resource does."""
        container, _ = single(open_value, "i1", "i2")
        async with run_components(container):
            assert container.c("i3", i4=4) == (("i1", "i2"), {})

    async def test_injections_added_fluently_are_used_at_start(self) -> None:
        """add_args / add_kwargs after the declaration are injected when it starts."""
        container, c = single(open_value)
        c.add_args(1, 2).add_kwargs(a3=3, a4=4)
        async with run_components(container):
            assert container.c() == ((1, 2), {"a3": 3, "a4": 4})

    def test_set_args_and_clear_args_replace_the_positional_injections(self) -> None:
        """set_args drops the earlier positional injections; clear_args drops all."""
        component = Component(open_value).add_args(1, 2).set_args(3, 4)
        assert list(component.args) == [3, 4]
        assert list(component.clear_args().args) == []

    def test_set_kwargs_and_clear_kwargs_replace_the_keyword_injections(self) -> None:
        """set_kwargs drops the earlier keyword injections; clear_kwargs drops all."""
        component = Component(open_value).add_kwargs(a1="i1").set_kwargs(a3="i3", a4="i4")
        assert component.kwargs == {"a3": "i3", "a4": "i4"}
        assert component.clear_kwargs().kwargs == {}


class TestOwnedLifecycle:
    async def test_initialized_is_true_exactly_while_started(self) -> None:
        """initialized is false before the start, true while running, false after the stop."""
        container, c = single(open_value)
        seen = [c.initialized]
        async with run_components(container):
            seen.append(c.initialized)
        seen.append(c.initialized)
        assert seen == [False, True, False]

    def test_calling_a_component_before_its_start_is_refused(self) -> None:
        """Unlike a Resource, a component is never created lazily by a call."""
        with pytest.raises(ApplicationOwnedError, match="not started") as caught:
            single(open_value)[0].c()
        assert isinstance(caught.value, RuntimeError)

    def test_init_is_refused_naming_the_application(self) -> None:
        """component.init() says to start the container with the Application."""
        with pytest.raises(ApplicationOwnedError, match=r"service_pkg\.Application"):
            Component(open_value).init()

    def test_init_resources_is_refused_naming_the_application(self) -> None:
        """container.init_resources() reaches component.init() and is refused the same way."""
        with pytest.raises(ApplicationOwnedError, match=r"init_resources\(\)"):
            single(open_value)[0].init_resources()

    async def test_shutdown_of_a_running_component_is_refused_and_it_keeps_running(
        self,
    ) -> None:
        """component.shutdown() says to use app.stop(); the component runs on, stops once."""
        counter = Counter()
        container, c = single(async_generator(counter))
        async with run_components(container):
            with pytest.raises(ApplicationOwnedError, match=r"await app\.stop\(\)"):
                c.shutdown()
            assert container.c() is counter.value
        assert counter.runs == (1, 1)

    def test_shutdown_of_a_component_that_is_not_running_is_refused(self) -> None:
        """shutdown() is never the way to stop a component, running or not."""
        with pytest.raises(ApplicationOwnedError, match="is not running"):
            Component(open_value).shutdown()

    async def test_shutdown_resources_is_refused_while_a_component_runs(self) -> None:
        """container.shutdown_resources() raises at the call, before anything is awaited."""
        counter = Counter()
        container, c = single(async_generator(counter))
        async with run_components(container):
            with pytest.raises(ApplicationOwnedError, match=r"shutdown_resources\(\)"):
                container.shutdown_resources()
            assert c.initialized is True
        assert counter.runs == (1, 1)

    async def test_shutdown_resources_after_the_stop_has_nothing_to_do(self) -> None:
        """Once the Application stopped everything, shutdown_resources() stops nothing again."""
        counter = Counter()
        container, _ = single(async_generator(counter))
        async with run_components(container):
            pass
        assert container.shutdown_resources() is None
        assert counter.runs == (1, 1)


class TestOverrides:
    async def test_the_last_overriding_component_is_what_runs(self) -> None:
        """Overridden twice, the component serves the second override's value."""
        container, c = single(open_value, 1)
        c.override(Component(open_value, 2))
        c.override(Component(open_value, 3))
        async with run_components(container):
            assert container.c() is container.c()
            assert container.c() == ((3,), {})

    async def test_reset_last_overriding_brings_back_the_previous_override(self) -> None:
        """After reset_last_overriding the earlier override runs again."""
        container, c = single(open_value, 1)
        c.override(Component(open_value, 2))
        c.override(Component(open_value, 3))
        c.reset_last_overriding()
        async with run_components(container):
            assert container.c() == ((2,), {})

    async def test_reset_override_brings_back_the_declared_component(self) -> None:
        """After reset_override the declared factory runs again."""
        container, c = single(open_value, 1)
        c.override(Component(open_value, 2))
        c.reset_override()
        async with run_components(container):
            assert container.c() == ((1,), {})

    async def test_an_object_override_is_the_value_and_nothing_starts(self) -> None:
        """Overridden with providers.Object, the component's factory never runs."""
        counter = Counter()
        container, c = single(async_generator(counter))
        c.override(providers.Object("fake"))
        async with run_components(container):
            assert container.c() == "fake"
        assert counter.runs == (0, 0)


class TestCopies:
    def test_a_copy_keeps_the_injections(self) -> None:
        """A deep copy is a new component with equal args and kwargs."""
        component = Component(open_value, 1, 2, a3=3, a4=4)
        copied = providers.deepcopy(component)
        assert copied is not component
        assert isinstance(copied, Component)
        assert (copied.args, copied.kwargs) == (component.args, component.kwargs)

    def test_a_copy_keeps_the_lifecycle_metadata(self) -> None:
        """Factory, priority, timeouts and health survive a deep copy."""
        check = HealthCheck(check=bool, affects_readiness=False)
        component = Component(
            open_value,
            priority=Priority.LOW,
            health=check,
            start_timeout=3,
            stop_timeout=4,
        )
        copied = providers.deepcopy(component)
        assert copied.factory is open_value
        assert (copied.priority, copied.start_timeout, copied.stop_timeout) == (1000, 3.0, 4.0)
        assert copied.health is check

    def test_a_copy_already_in_the_memo_is_the_memo_entry_untouched(self) -> None:
        """deepcopy returns what the memo holds for the component and does not modify it."""
        component = Component(open_value, priority=7)
        in_memo = Component(open_value, priority=8)
        copied = providers.deepcopy(component, memo={id(component): in_memo})
        assert copied is in_memo
        assert in_memo.priority == 8

    def test_provider_injections_are_copied_not_shared(self) -> None:
        """Providers injected as args or kwargs are copied along with the component."""
        arg: providers.Factory[list[Any]] = providers.Factory(list)
        kwarg: providers.Factory[dict[Any, Any]] = providers.Factory(dict)
        copied = providers.deepcopy(Component(open_value, arg, d=kwarg))
        copied_arg, copied_kwarg = copied.args[0], copied.kwargs["d"]
        assert isinstance(copied_arg, providers.Factory)
        assert isinstance(copied_kwarg, providers.Factory)
        assert copied_arg is not arg
        assert copied_kwarg is not kwarg
        assert (copied_arg.cls, copied_kwarg.cls) == (list, dict)

    def test_overridings_are_copied_with_their_metadata(self) -> None:
        """A copy is overridden by a copy of each overriding provider, health included."""
        check = HealthCheck(check=bool)
        component = Component(open_value)
        component.override(Component(open_value, health=check))
        copied = providers.deepcopy(component)
        (overriding,) = copied.overridden
        assert isinstance(overriding, Component)
        assert overriding is not component.overridden[0]
        assert overriding.health is check

    def test_sys_streams_are_injected_as_they_are(self) -> None:
        """stdin, stdout and stderr are not copied, as in the base class."""
        copied = providers.deepcopy(Component(open_value, sys.stdin, sys.stdout, sys.stderr))
        assert copied.args == (sys.stdin, sys.stdout, sys.stderr)

    async def test_copying_a_started_component_raises_a_dependency_injector_error(
        self,
    ) -> None:
        """The base class's error type, with a message that says when copying works."""
        container, _ = single(open_value)
        async with run_components(container):
            with pytest.raises(errors.Error, match="cannot be copied") as caught:
                copy.deepcopy(container.c)
        assert isinstance(caught.value, ApplicationOwnedError)
        assert "after it stopped" in str(caught.value)

    async def test_a_stopped_component_can_be_copied_again(self) -> None:
        """Once stopped, a component copies like one that never ran."""
        container, _ = single(open_value, 5)
        async with run_components(container):
            pass
        assert providers.deepcopy(container.c).args == (5,)
