"""Dependencies are found through every kind of dependency-injector provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component
from service_pkg.exceptions import PlanError


async def noop(*_: object, **__: object) -> AsyncIterator[str]:
    yield "engine"


def through_factory(e: Any) -> Any:
    return providers.Factory(lambda x: x, e)


def through_singleton(e: Any) -> Any:
    return providers.Singleton(lambda x: x, e)


def through_callable(e: Any) -> Any:
    return providers.Callable(lambda x: x, e)


def through_selector(e: Any) -> Any:
    return providers.Selector(lambda: "one", one=providers.Factory(lambda x: x, e))


def through_aggregate(e: Any) -> Any:
    return providers.Aggregate(one=providers.Factory(lambda x: x, e))


def through_list(e: Any) -> Any:
    return providers.List(e)


def through_dict(e: Any) -> Any:
    return providers.Dict(engine=e)


def through_attribute(e: Any) -> Any:
    return e.provided.upper


def through_overridden_dependency(e: Any) -> Any:
    dependency: providers.Dependency[Any] = providers.Dependency()
    dependency.override(e)
    return dependency


def through_overriding_factory(e: Any) -> Any:
    plain = providers.Factory(lambda: None)
    plain.override(providers.Factory(lambda x: x, e))
    return plain


KINDS: list[Callable[[Any], Any]] = [
    through_factory,
    through_singleton,
    through_callable,
    through_selector,
    through_aggregate,
    through_list,
    through_dict,
    through_attribute,
    through_overridden_dependency,
    through_overriding_factory,
]


@pytest.mark.parametrize("middle", KINDS, ids=lambda f: f.__name__)
def test_edge_passes_through(middle: Callable[[Any], Any]) -> None:
    """api → <provider> → engine is an edge api → engine."""
    container = containers.DynamicContainer()
    container.engine = Component(noop)
    container.middle = middle(container.engine)
    container.api = Component(noop, container.middle)
    plan = Application(container, install_signals=False).plan
    assert plan.nodes["api"].deps == ("engine",)
    assert plan.stop_order == ("api", "engine")


def test_edge_through_nested_container_dependency() -> None:
    """A nested container fed a parent component links its users to that component."""

    class Storage(containers.DeclarativeContainer):
        engine: providers.Dependency[Any] = providers.Dependency()
        repo = providers.Factory(lambda e: e, engine)

    class Root(containers.DeclarativeContainer):
        engine = Component(noop)
        storage = providers.Container(Storage, engine=engine)
        api = Component(noop, storage.repo)

    plan = Application(Root(), install_signals=False).plan
    assert plan.nodes["api"].deps == ("engine",)


def test_override_chain_ends_at_the_last_override() -> None:
    """Only the last override decides what a provider depends on."""

    class C(containers.DeclarativeContainer):
        engine = Component(noop)
        other = Component(noop)
        repo = providers.Factory(lambda e: e, engine)
        api = Component(noop, repo)

    container = C()
    container.repo.override(providers.Factory(lambda e: e, container.other))
    assert Application(container, install_signals=False).plan.nodes["api"].deps == ("other",)


def test_anonymous_component_is_refused_with_a_hint() -> None:
    """A component that is not a container attribute has no name: PlanError says so."""

    class C(containers.DeclarativeContainer):
        api = Component(noop, Component(noop))

    with pytest.raises(PlanError, match="declare it as a container attribute"):
        _ = Application(C(), install_signals=False).plan


def test_alias_of_a_component_is_one_slot() -> None:
    """The same component under two names is started once, under its first name."""
    container = containers.DynamicContainer()
    container.engine = Component(noop)
    container.alias = container.engine
    plan = Application(container, install_signals=False).plan
    assert plan.start_order == ("engine",)
