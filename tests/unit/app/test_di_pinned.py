"""Container reading behaviours that mutation testing found unpinned (issue 15, issue 9)."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Self, Union

import pytest
from dependency_injector import containers, providers, resources
from redis.asyncio import Redis

from service_pkg import Application, Component
from service_pkg.app import NodeKind
from service_pkg.app._di import is_election_type, read_container, yielded_type
from service_pkg.exceptions import PlanError
from service_pkg.leader import (
    LeaderEvent,
    LockElection,
    StandaloneElection,
    leader_election,
    standalone_election,
)
from service_pkg.readiness import ReadinessBarrier, readiness_barrier
from service_pkg.redis import open_redis, redis_client
from service_pkg.testing import ManualElection, manual_election


class Engine:
    """A value that is not an election."""


class Election:
    """A hand-written election: has every member of LeaderElection."""

    epoch: int = 0

    def is_leader(self) -> bool:
        return False

    def events(self) -> AsyncIterator[LeaderEvent]:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


class AnnotatedElection:
    """Declares ``epoch`` only as an annotation (set per instance)."""

    epoch: int

    def is_leader(self) -> bool:
        return False

    def events(self) -> AsyncIterator[LeaderEvent]:
        raise NotImplementedError


class EngineResource(resources.AsyncResource):  # type: ignore[type-arg]
    async def init(self) -> Engine:
        return Engine()

    async def shutdown(self, resource: Engine | None) -> None:
        pass


class Opened:
    """A resource whose ``__aenter__`` returns something else than itself."""

    async def __aenter__(self) -> Engine:
        return Engine()

    async def __aexit__(self, *exc: object) -> None:
        pass


class Unannotated:
    async def __aenter__(self):  # type: ignore[no-untyped-def]
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


async def open_engine() -> AsyncIterator[Engine]:
    yield Engine()


async def open_engine_gen() -> AsyncGenerator[Engine, object]:
    yield Engine()


def open_engine_sync() -> Iterator[Engine]:
    yield Engine()


def open_engine_sync_gen() -> Generator[Engine, object, None]:
    yield Engine()


@asynccontextmanager
async def engine_context() -> AsyncIterator[Engine]:
    yield Engine()


def engine_manager() -> AbstractAsyncContextManager[Engine]:
    return engine_context()


def make_opened() -> Opened:
    return Opened()


async def open_anything() -> AsyncIterator[Any]:
    yield Engine()


async def open_object() -> AsyncIterator[object]:
    yield Engine()


async def open_unannotated(*_: Any):  # type: ignore[no-untyped-def]
    yield Engine()


async def open_unresolvable() -> AsyncIterator[NoSuchName]:  # type: ignore[name-defined]  # noqa: F821
    yield Engine()


async def open_optional() -> AsyncIterator[Engine | None]:
    yield Engine()


async def open_union() -> AsyncIterator[Union[Engine, Election]]:  # noqa: UP007 - the old form
    yield Engine()


def open_generic() -> Iterator[list[int]]:
    yield [1]


async def open_bare() -> AsyncIterator:  # type: ignore[type-arg]
    yield Engine()


def make_election() -> Election:
    return Election()


async def noop(*_: object, **__: object) -> AsyncIterator[str]:
    yield "value"


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (open_engine, Engine),
        (open_engine_gen, Engine),
        (open_engine_sync, Engine),
        (open_engine_sync_gen, Engine),
        (engine_context, Engine),
        (engine_manager, Engine),
        (EngineResource, Engine),
        (Opened, Engine),
        (make_opened, Engine),
        (Election, Election),
        (make_election, Election),
        (manual_election, ManualElection),
        (open_anything, None),
        (open_object, None),
        (open_unannotated, None),
        (open_unresolvable, None),
        (open_bare, None),
        (open_optional, None),
        (open_union, None),
        (open_generic, list),
        (Unannotated, None),
        (Engine, None),
    ],
    ids=lambda v: getattr(v, "__name__", repr(v)),
)
def test_yielded_type_reads_the_factory_annotations(factory: object, expected: object) -> None:
    """The started value's class comes from annotations, or is unknown (None)."""
    assert yielded_type(factory) is expected


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (Election, True),
        (AnnotatedElection, True),
        (ManualElection, True),
        (LockElection, True),
        (StandaloneElection, True),
        (Engine, False),
    ],
    ids=lambda v: getattr(v, "__name__", repr(v)),
)
def test_election_type_has_every_protocol_member(cls: type, *, expected: bool) -> None:
    """A class is an election type when it has (or annotates) epoch, events and is_leader."""
    assert is_election_type(cls) is expected


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (readiness_barrier, ReadinessBarrier),
        (leader_election, LockElection),
        (redis_client, Redis),
        (open_redis, Redis),
    ],
    ids=lambda v: v.__name__,
)
def test_kit_factories_are_known_despite_type_checking_imports(
    factory: object,
    expected: type,
) -> None:
    """Names imported only for type checking do not hide a kit factory's return annotation."""
    assert yielded_type(factory) is expected


def test_leader_at_a_factory_given_by_set_provides_is_checked_too() -> None:
    """Component() + set_provides(factory) is judged by that factory's annotations."""
    container = containers.DynamicContainer()
    container.db = Component()
    container.db.set_provides(open_engine)
    container.jobs = Component(noop, leader=container.db)
    with pytest.raises(PlanError, match="but db yields Engine"):
        _ = Application(container, install_signals=False).plan


def test_leader_at_a_kit_factory_that_is_no_election_is_a_plan_error() -> None:
    """leader= at a readiness barrier is refused before anything starts."""
    container = containers.DynamicContainer()
    container.barrier = Component(readiness_barrier)
    container.jobs = Component(noop, leader=container.barrier)
    with pytest.raises(PlanError, match="but barrier yields ReadinessBarrier"):
        _ = Application(container, install_signals=False).plan


def test_a_component_depending_on_itself_is_a_plan_error_naming_the_cycle() -> None:
    """c.a.add_args(c.a) is the cycle a → a, refused before anything starts."""
    container = containers.DynamicContainer()
    container.a = Component(noop)
    container.a.add_args(container.a)
    with pytest.raises(PlanError, match=r"^dependency cycle: a → a$"):
        _ = Application(container, install_signals=False).plan


def test_leader_at_a_factory_annotated_to_yield_no_election_is_a_plan_error() -> None:
    """leader= at a component yielding an Engine is refused at plan time, briefly."""
    container = containers.DynamicContainer()
    container.db = Component(open_engine)
    container.jobs = Component(noop, leader=container.db)
    with pytest.raises(PlanError) as info:
        _ = Application(container, install_signals=False).plan
    assert str(info.value) == (
        "leader= of jobs must be an election component, but db yields Engine (per the "
        "annotations of open_engine), which is not a LeaderElection"
    )


@pytest.mark.parametrize(
    "factory",
    [open_anything, open_unannotated, manual_election, standalone_election, Election],
    ids=lambda f: f.__name__,
)
def test_leader_at_an_election_or_unknown_factory_is_planned(factory: Any) -> None:
    """Elections and factories whose value is unknown pass the plan (the start checks)."""
    container = containers.DynamicContainer()
    container.election = Component(factory)
    container.jobs = Component(noop, leader=container.election)
    plan = Application(container, install_signals=False).plan
    assert plan.nodes["jobs"].leader == "election"


def test_leader_at_an_overridden_election_is_judged_by_its_value_at_start() -> None:
    """A component replaced by a non-component override has no factory to read: planned."""
    container = containers.DynamicContainer()
    container.election = Component(open_engine)
    container.election.override(providers.Object(Election()))
    container.jobs = Component(noop, leader=container.election)
    plan = Application(container, install_signals=False).plan
    assert plan.nodes["jobs"].leader == "election"


def test_leader_error_caps_long_names() -> None:
    """A factory with a huge name is cut to a bounded length in the message."""

    async def factory() -> AsyncIterator[Engine]:
        yield Engine()

    factory.__qualname__ = "x" * 500
    container = containers.DynamicContainer()
    container.db = Component(factory)
    container.jobs = Component(noop, leader=container.db)
    with pytest.raises(PlanError) as info:
        _ = Application(container, install_signals=False).plan
    assert f"annotations of {'x' * 59}…)" in str(info.value)
    assert len(str(info.value)) < 200


def test_leader_that_is_not_a_component_names_its_container_attribute() -> None:
    """leader= at a plain provider is named by its attribute and kind, not by its repr."""
    container = containers.DynamicContainer()
    container.election = providers.Object("x" * 1000)
    container.jobs = Component(noop, leader=container.election)
    with pytest.raises(PlanError) as info:
        _ = Application(container, install_signals=False).plan
    assert str(info.value) == (
        "leader= of jobs must be an election component declared in the container, got "
        "election (a providers.Object, not a Component)"
    )


def test_leader_that_is_not_in_the_container_shows_a_capped_repr() -> None:
    """leader= at a provider of no attribute shows its repr, cut short."""
    container = containers.DynamicContainer()
    container.jobs = Component(noop, leader=providers.Object("x" * 1000))
    with pytest.raises(PlanError) as info:
        _ = Application(container, install_signals=False).plan
    message = str(info.value)
    assert "got <dependency_injector.providers.Object(" in message
    assert message.endswith("… (a providers.Object, not a Component)")
    assert len(message) < 200


def _nested_override() -> containers.Container:
    class Storage(containers.DeclarativeContainer):
        engine = Component(noop)
        repo = Component(noop, engine)

    class Root(containers.DeclarativeContainer):
        engine = Component(noop)
        storage = providers.Container(Storage, engine=engine)
        api = Component(noop, storage.repo)

    return Root()


def test_a_nested_component_overridden_by_the_parents_is_one_slot() -> None:
    """storage.engine overridden by the root's engine is not started a second time."""
    plan = Application(_nested_override(), install_signals=False).plan
    assert plan.start_order == ("engine", "storage.repo", "api")


def test_users_of_an_overridden_nested_component_depend_on_the_parents() -> None:
    """storage.repo, declared over storage.engine, depends on the root's engine."""
    plan = Application(_nested_override(), install_signals=False).plan
    assert plan.nodes["storage.repo"].deps == ("engine",)


def test_an_override_declared_before_the_overridden_component_is_one_slot() -> None:
    """The alias is found whichever of the two names is walked first."""
    container = containers.DynamicContainer()
    container.first = Component(noop)
    container.second = Component(noop)
    container.user = Component(noop, container.second)
    container.second.override(container.first)
    slots, nodes, _ = read_container(container)
    assert [s.name for s in slots] == ["first", "user"]
    assert nodes[1].deps == ("first",)


def test_a_component_overridden_by_a_plain_provider_is_recorded_as_overridden() -> None:
    """The node of a component replaced by a non-component override has kind OVERRIDDEN."""
    container = containers.DynamicContainer()
    container.cache = Component(noop)
    container.cache.override(providers.Object("fake cache"))
    _, [node], _ = read_container(container)
    assert node.kind is NodeKind.OVERRIDDEN


def test_a_component_overridden_by_another_component_stays_a_component() -> None:
    """An override by an undeclared component: kind COMPONENT, its priority, its deps."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    container.cache = Component(noop, priority=10)
    container.cache.override(Component(noop, container.db, priority=700))
    _, nodes, _ = read_container(container)
    cache = nodes[1]
    assert (cache.kind, cache.priority, cache.deps) == (NodeKind.COMPONENT, 700, ("db",))


def test_an_overridden_component_keeps_its_declared_priority() -> None:
    """A non-component override has no metadata: priority comes from the declaration."""
    container = containers.DynamicContainer()
    container.cache = Component(noop, priority=42)
    container.cache.override(providers.Object("fake"))
    _, [node], _ = read_container(container)
    assert node.priority == 42


def test_dependencies_are_ordered_by_declaration() -> None:
    """A node lists its dependencies in the order the container declares them."""
    container = containers.DynamicContainer()
    container.b = Component(noop)
    container.a = Component(noop)
    container.user = Component(noop, container.a, container.b)
    _, nodes, _ = read_container(container)
    assert nodes[2].deps == ("b", "a")


def test_explain_names_the_providers_on_the_path() -> None:
    """The path renders container attribute names of the providers in between."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    container.repo = providers.Factory(lambda db: db, container.db)
    container.service = providers.Factory(lambda repo: repo, container.repo)
    container.api = Component(noop, container.service)
    _, _, graph = read_container(container)
    assert graph.explain("api", "db") == "api → service → repo → db"


def test_explain_labels_unnamed_providers_by_their_type() -> None:
    """A provider that is no attribute appears as its class name."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    container.api = Component(noop, providers.List(container.db))
    _, _, graph = read_container(container)
    assert graph.explain("api", "db") == "api → List → db"


def test_explain_does_not_walk_through_other_components() -> None:
    """A path ends at components: api → cache → db is not api's path to db."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    container.cache = Component(noop, container.db)
    container.api = Component(noop, container.cache)
    _, _, graph = read_container(container)
    assert graph.explain("api", "db") == "api → db"


def test_explain_survives_reference_loops_among_plain_providers() -> None:
    """Plain providers that refer to each other do not make explain loop forever."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    container.x = providers.Factory(lambda *a: a)
    container.y = providers.Factory(lambda *a: a, container.x)
    container.x.add_args(container.y)
    container.api = Component(noop, container.x)
    _, nodes, graph = read_container(container)
    assert nodes[1].deps == ()
    assert graph.explain("api", "db") == "api → db"


def test_component_names_are_set_on_every_component_of_an_override_chain() -> None:
    """Errors of an overriding component name the slot it runs for."""
    container = containers.DynamicContainer()
    container.cache = Component(noop)
    override: Component[str] = Component(noop)
    container.cache.override(override)
    read_container(container)
    with pytest.raises(RuntimeError, match=r"^component 'cache' is not started"):
        override()


class SyncEngine:
    """A sync context manager whose ``__enter__`` gives an Engine."""

    def __enter__(self) -> Engine:
        return Engine()

    def __exit__(self, *exc: object) -> None:
        pass


def test_yielded_type_reads_a_sync_context_manager() -> None:
    """A class with only __enter__ yields what __enter__ is annotated to return."""
    assert yielded_type(SyncEngine) is Engine


def test_an_overridden_component_walked_first_is_an_alias_of_its_override() -> None:
    """a.override(b), with a declared before b: one slot, named b."""
    container = containers.DynamicContainer()
    container.a = Component(noop)
    container.b = Component(noop)
    container.a.override(container.b)
    container.user = Component(noop, container.a)
    slots, nodes, _ = read_container(container)
    assert [s.name for s in slots] == ["b", "user"]
    assert nodes[1].deps == ("b",)


def test_a_dependency_on_an_overriding_component_is_on_the_slot_it_overrides() -> None:
    """Using the undeclared override directly is using the component it overrides."""
    container = containers.DynamicContainer()
    override: Component[str] = Component(noop)
    container.cache = Component(noop)
    container.cache.override(override)
    container.api = Component(noop, override)
    _, nodes, _ = read_container(container)
    assert nodes[1].deps == ("cache",)


def test_an_anonymous_component_message_is_exact() -> None:
    """The message shows the factory and says how to give the component a name."""
    container = containers.DynamicContainer()
    container.api = Component(noop, Component(noop))
    with pytest.raises(PlanError) as info:
        read_container(container)
    assert re.fullmatch(
        r"component <function noop at 0x[0-9a-f]+> is used by this container but is not one "
        r"of its attributes; declare it as a container attribute so it has a name",
        str(info.value),
    )


def test_a_lattice_of_plain_providers_is_read_once_per_provider() -> None:
    """60 stacked diamonds of factories (2**60 paths) are read without walking each path."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    below: providers.Provider[Any] = container.db
    for _ in range(60):
        left = providers.Factory(lambda x: x, below)
        right = providers.Factory(lambda x: x, below)
        below = providers.Factory(lambda x, y: (x, y), left, right)
    container.api = Component(noop, below)
    _, nodes, _ = read_container(container)
    assert nodes[1].deps == ("db",)


def test_explain_finds_a_path_behind_another_component() -> None:
    """A component met first on the way does not end the search for the path."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    container.cache = Component(noop)
    container.repo = providers.Factory(lambda db: db, container.db)
    container.api = Component(noop, container.cache, container.repo)
    _, _, graph = read_container(container)
    assert graph.explain("api", "db") == "api → repo → db"


def test_explain_passes_a_shared_provider_once_and_still_finds_the_path() -> None:
    """A provider reached twice is walked once; the path through it is still found."""
    container = containers.DynamicContainer()
    container.db = Component(noop)
    container.shared = providers.Factory(lambda db: db, container.db)
    container.x = providers.Factory(lambda s: s, container.shared)
    container.y = providers.Factory(lambda s: s, container.shared)
    container.api = Component(noop, container.x, container.y)
    _, _, graph = read_container(container)
    assert graph.explain("api", "db") == "api → x → shared → db"


def test_leader_error_keeps_a_name_of_exactly_the_limit() -> None:
    """A 60-character name is quoted whole; only longer ones are cut."""

    async def factory() -> AsyncIterator[Engine]:
        yield Engine()

    factory.__qualname__ = "y" * 60
    container = containers.DynamicContainer()
    container.db = Component(factory)
    container.jobs = Component(noop, leader=container.db)
    with pytest.raises(PlanError) as info:
        _ = Application(container, install_signals=False).plan
    assert f"annotations of {'y' * 60})" in str(info.value)


class EngineMaker:
    """A callable object: its __call__ annotation is not read."""

    def __call__(self) -> AsyncIterator[Engine]:
        raise NotImplementedError


def test_a_callable_object_factory_is_unknown() -> None:
    """Only functions and classes are read; other callables leave the value unknown."""
    assert yielded_type(EngineMaker()) is None
