"""Reading a dependency-injector container into plan nodes (the only place that knows DI)."""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from types import FunctionType, UnionType
from typing import Any, Self, Union, get_args, get_origin, get_type_hints

from dependency_injector import containers, providers, resources

from service_pkg.app._component import Component
from service_pkg.app._plan import Node, NodeKind, direct_path
from service_pkg.exceptions import PlanError

__all__ = ("Slot", "read_container")


@dataclass(frozen=True, slots=True)
class Slot:
    """A declared component: where it sits and what actually runs for it."""

    name: str
    declared: Component[Any]
    effective: providers.Provider[Any]
    """The end of the override chain: what calling the declared provider really calls."""

    @property
    def component(self) -> Component[Any] | None:
        """The component to start, or ``None`` when a non-component override replaced it."""
        return self.effective if isinstance(self.effective, Component) else None

    @property
    def metadata(self) -> Component[Any]:
        """Where priority, timeouts and ``leader=`` come from."""
        return self.component or self.declared


def _effective(provider: providers.Provider[Any]) -> providers.Provider[Any]:
    while provider.last_overriding is not None:
        provider = provider.last_overriding
    return provider


def _walk(
    container: containers.Container,
    prefix: str,
) -> Iterator[tuple[str, providers.Provider[Any]]]:
    for name, provider in container.providers.items():
        full = f"{prefix}{name}"
        yield full, provider
        if isinstance(provider, providers.Container):
            yield from _walk(provider.container, f"{full}.")


def _children(provider: providers.Provider[Any]) -> list[providers.Provider[Any]]:
    if provider.last_overriding is not None:
        return [provider.last_overriding]
    return list(provider.related)


class _Graph:
    def __init__(self, container: containers.Container) -> None:
        self.labels: dict[int, str] = {}
        self.slot_of: dict[int, str] = {}
        self.slots: list[Slot] = []
        self.position: dict[str, int] = {}
        declared: list[tuple[str, Component[Any]]] = []
        for name, provider in _walk(container, ""):
            self.labels.setdefault(id(provider), name)
            if isinstance(provider, Component) and id(provider) not in self.slot_of:
                self.slot_of[id(provider)] = name
                declared.append((name, provider))
        aliases: dict[str, str] = {}
        for name, provider in declared:
            effective = _effective(provider)
            owner = self.slot_of.get(id(effective), name)
            if owner != name:
                # Overridden by another declared component (e.g. a nested container's
                # component replaced by the parent's): one component, one slot.
                aliases[name] = owner
                continue
            self.position[name] = len(self.slots)
            self.slots.append(Slot(name, provider, effective))
            chain: providers.Provider[Any] | None = provider
            while chain is not None:
                if isinstance(chain, Component):
                    self.slot_of.setdefault(id(chain), name)
                    chain._name = name  # noqa: SLF001
                chain = chain.last_overriding
        # An owner is never itself an alias: it is the slot of an override chain's end, and
        # a chain's end is its own end.
        providers_by_name = dict(declared)
        for name, owner in aliases.items():
            self.slot_of[id(providers_by_name[name])] = owner
        self._reach: dict[int, frozenset[str]] = {}

    def reach(self, provider: providers.Provider[Any]) -> frozenset[str]:
        """Components ``provider`` uses when called, looking through non-components."""
        slot = self.slot_of.get(id(provider))
        if slot is not None:
            return frozenset((slot,))
        if isinstance(provider, Component):
            raise PlanError(
                f"component {_short(provider.factory)} is used by this container but is not "
                "one of its attributes; declare it as a container attribute so it has a name",
            )
        key = id(provider)
        found = self._reach.get(key)
        if found is None:
            self._reach[key] = frozenset()  # breaks reference loops among plain providers
            found = frozenset().union(*(self.reach(c) for c in _children(provider)))
            self._reach[key] = found
        return found

    def node(self, slot: Slot) -> Node:
        deps: set[str] = set()
        for child in slot.effective.related:
            deps |= self.reach(child)
        # A component among its own dependencies stays there: build_plan reports the cycle.
        meta = slot.metadata
        leader = None
        if meta.leader is not None:
            leader = self.slot_of.get(id(meta.leader))
            if leader is None:
                raise PlanError(
                    f"leader= of {slot.name} must be an election component declared in the "
                    f"container, got {self._describe(meta.leader)}",
                )
            self._check_election(slot.name, leader)
        ordered = tuple(sorted(deps, key=self.position.__getitem__))
        kind = NodeKind.COMPONENT if slot.component is not None else NodeKind.OVERRIDDEN
        return Node(slot.name, meta.priority, ordered, leader, kind)

    def _describe(self, provider: providers.Provider[Any]) -> str:
        kind = f"a providers.{type(provider).__name__}, not a Component"
        label = self.labels.get(id(provider))
        return f"{label} ({kind})" if label is not None else f"{_short(provider)} ({kind})"

    def _check_election(self, gated: str, election: str) -> None:
        """Refuse ``leader=`` at a component whose factory is known to yield no election."""
        component = self.slots[self.position[election]].component
        if component is None:
            return  # a non-component override: only its started value can tell
        # What dependency-injector will call (set_provides included); its generator-function
        # wrappers keep the annotations and the name.
        factory: Any = component.provides
        value_type = yielded_type(factory)
        if value_type is None or is_election_type(value_type):
            return
        raise PlanError(
            f"leader= of {gated} must be an election component, but {election} yields "
            f"{_name(value_type)} (per the annotations of {_name(factory)}), which is not a "
            "LeaderElection",
        )

    def explain(self, src: str, dst: str) -> str:
        """Render one dependency path ``src → … → dst`` with the providers in between."""
        start = self.slots[self.position[src]].effective
        queue: deque[tuple[providers.Provider[Any], tuple[str, ...]]] = deque()
        queue.extend((c, (src,)) for c in start.related)
        seen: set[int] = set()
        while queue:
            provider, path = queue.popleft()
            slot = self.slot_of.get(id(provider))
            if slot is not None:
                if slot == dst:
                    return " → ".join((*path, dst))
                continue
            if id(provider) in seen:
                continue
            seen.add(id(provider))
            label = self.labels.get(id(provider), type(provider).__name__)
            queue.extend((c, (*path, label)) for c in _children(provider))
        return direct_path(src, dst)


_NAME_LIMIT = 60
"""Longest name or repr an error message quotes: some reprs run to hundreds of characters."""


def _cap(text: str) -> str:
    return text if len(text) <= _NAME_LIMIT else f"{text[: _NAME_LIMIT - 1]}…"


def _short(value: object) -> str:
    return _cap(repr(value))


def _name(value: type | Callable[..., object]) -> str:
    # Only classes and functions whose annotations resolved get here: they have a qualname.
    return _cap(value.__qualname__)


_ITERATORS: frozenset[object] = frozenset(
    (AsyncGenerator, AsyncIterable, AsyncIterator, Generator, Iterable, Iterator),
)
_MANAGERS: frozenset[object] = frozenset((AbstractAsyncContextManager, AbstractContextManager))
_ELECTION_MEMBERS = ("epoch", "events", "is_leader")
"""The members of :class:`~service_pkg.leader.LeaderElection` (a protocol with a property,
so ``issubclass`` cannot check it)."""


def yielded_type(factory: object) -> type | None:
    """The class of what ``Component(factory)`` starts, when annotations say; else ``None``.

    Reads the return annotation of a generator or context-manager factory (``->
    AsyncIterator[X]``, ``-> AbstractAsyncContextManager[X]``), of a class's ``__aenter__``
    (``-> Self`` is the class), or of a ``Resource`` subclass's ``init``. ``None`` means
    unknown: no annotation, ``Any``, ``object``, a type variable, or one that does not resolve.
    """
    try:
        return _yielded_type(factory)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve tells nothing
        return None


def is_election_type(cls: type) -> bool:
    """Whether instances of ``cls`` can have every member of ``LeaderElection``."""
    annotated: set[str] = set()
    for klass in cls.__mro__:
        annotated.update(getattr(klass, "__annotations__", {}))
    return all(hasattr(cls, m) or m in annotated for m in _ELECTION_MEMBERS)


def _yielded_type(factory: object) -> type | None:
    if inspect.isclass(factory):
        if issubclass(factory, resources.AsyncResource | resources.Resource):
            return _known(_return_hint(factory.init))
        return _entered(factory)
    if not callable(factory):
        return None
    hint = _return_hint(factory)
    if get_origin(hint) in _ITERATORS or get_origin(hint) in _MANAGERS:
        return _known(get_args(hint)[0])  # a bare alias has no arguments: IndexError, unknown
    return _entered(hint)


def _entered(cls: object) -> type | None:
    # What `async with cls(...)` (or `with`) gives, as the Component's context-manager path.
    for method in ("__aenter__", "__enter__"):
        enter = getattr(cls, method, None)
        if enter is not None:
            hint = _return_hint(enter)
            return _known(cls if hint is Self else hint)
    return None


_TYPING_NAMES: dict[str, object] = {
    "AbstractAsyncContextManager": AbstractAsyncContextManager,
    "AbstractContextManager": AbstractContextManager,
    "Any": Any,
    "AsyncGenerator": AsyncGenerator,
    "AsyncIterable": AsyncIterable,
    "AsyncIterator": AsyncIterator,
    "Generator": Generator,
    "Iterable": Iterable,
    "Iterator": Iterator,
    "Self": Self,
}
"""Names modules often import only under ``TYPE_CHECKING``, for their return annotations."""


def _return_hint(function: Callable[..., object]) -> object:
    target = inspect.unwrap(function)
    if not isinstance(target, FunctionType):
        return None  # builtins and callable objects carry no return annotation to read
    raw = target.__annotations__.get("return")
    if not isinstance(raw, str):
        return raw

    # Resolve the return annotation alone, so a parameter annotation imported only for type
    # checking does not hide it; the module's own names win over the fallbacks.
    def probe() -> None: ...

    probe.__annotations__ = {"return": raw}
    return get_type_hints(probe, globalns={**_TYPING_NAMES, **target.__globals__}).get("return")


def _known(hint: object) -> type | None:
    origin = get_origin(hint)
    if origin is Union or origin is UnionType:
        return None  # one of several: not known to be a non-election
    if origin is not None:
        hint = origin  # Redis[bytes] -> Redis
    if not inspect.isclass(hint) or hint is object or hint is Any:  # Any is a class on 3.11+
        return None
    return hint


def read_container(container: containers.Container) -> tuple[list[Slot], list[Node], _Graph]:
    """Find every component of ``container`` (nested containers too) and its dependencies."""
    graph = _Graph(container)
    nodes = [graph.node(s) for s in graph.slots]
    return graph.slots, nodes, graph
