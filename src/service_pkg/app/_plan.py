"""Pure planning: component graph in, validated start/stop order out. No I/O, no asyncio."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from service_pkg.exceptions import PlanError

__all__ = ("Explain", "Node", "NodeKind", "Plan", "build_plan", "direct_path")


class NodeKind(Enum):
    """What the application does with a node of the plan."""

    COMPONENT = "component"
    """Started and stopped through its factory."""
    OVERRIDDEN = "overridden"
    """Replaced by a non-component override: started = the override, nothing to stop."""
    HOOK = "hook"
    """An ``on_shutdown`` callable: stopped (called) only."""


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of the graph handed to :func:`build_plan`."""

    name: str
    priority: int
    deps: tuple[str, ...] = ()
    leader: str | None = None
    kind: NodeKind = NodeKind.COMPONENT


Explain = Callable[[str, str], str]


def direct_path(a: str, b: str) -> str:
    """The path ``a → b`` when nothing more precise is known."""
    return f"{a} → {b}"


@dataclass(frozen=True, slots=True)
class Plan:
    """The validated order in which an application starts and stops its components.

    ``stop_order`` lists every component and shutdown hook: leader-gated components first,
    then the rest; a component never comes before one that depends on it; among those free to
    stop, the smaller priority comes first and ties keep declaration order. ``start_order`` is
    the exact reverse, without the hooks. ``gated`` maps each election to the components it
    gates, in start order.
    """

    start_order: tuple[str, ...]
    stop_order: tuple[str, ...]
    gated: Mapping[str, tuple[str, ...]]
    nodes: Mapping[str, Node] = field(repr=False)
    group: Mapping[str, str | None] = field(repr=False)

    def __str__(self) -> str:
        """Render the plan for humans, e.g. ``print(app.plan)``."""
        lines = ["start order:"]
        lines += [f"  {i}. {self._describe(n)}" for i, n in enumerate(self.start_order, 1)]
        lines.append("stop order:")
        lines += [f"  {i}. {self._describe(n)}" for i, n in enumerate(self.stop_order, 1)]
        for election, members in self.gated.items():
            lines.append(f"gated by {election} (start on TAKEN, stop on LOST):")
            lines += [f"  - {n}" for n in members]
        return "\n".join(lines)

    def _describe(self, name: str) -> str:
        node = self.nodes[name]
        notes = [f"priority {node.priority}"]
        if node.kind is not NodeKind.COMPONENT:
            notes.append(node.kind.value)
        if node.leader is not None:
            notes.append(f"leader={node.leader}")
        return f"{name} ({', '.join(notes)})"


def build_plan(nodes: Sequence[Node], explain: Explain = direct_path) -> Plan:
    """Validate the graph and order it.

    ``explain(a, b)`` renders the dependency path from ``a`` to ``b`` for error messages.

    Raises:
        PlanError: unknown dependency, cycle, a priority that would stop a dependency before
            its dependent, an always-on component depending on a leader-gated one, or a
            ``leader=`` that is not a component of the graph.
    """
    by_name = {n.name: n for n in nodes}
    if len(by_name) != len(nodes):
        counts = Counter(n.name for n in nodes)
        twice = sorted(name for name, count in counts.items() if count > 1)
        raise PlanError(f"names used twice in the plan: {', '.join(twice)}")
    dependents: dict[str, list[str]] = {n.name: [] for n in nodes}
    for n in nodes:
        for d in n.deps:
            if d not in by_name:
                raise PlanError(f"{n.name} depends on {d!r}, which is not a component")
            dependents[d].append(n.name)
    _check_acyclic(nodes, by_name)
    group = _assign_groups(nodes, by_name, dependents)
    _check_edges(nodes, by_name, group, explain)

    stop = _stop_order(nodes, by_name, dependents, group)
    start = tuple(n for n in reversed(stop) if by_name[n].kind is not NodeKind.HOOK)
    members: dict[str, list[str]] = {}
    for name in start:
        g = group[name]
        if g is not None:
            members.setdefault(g, []).append(name)
    gated = {g: tuple(names) for g, names in members.items()}
    return Plan(
        start_order=start,
        stop_order=tuple(stop),
        gated=MappingProxyType(gated),
        nodes=MappingProxyType(by_name),
        group=MappingProxyType(group),
    )


def _stop_order(
    nodes: Sequence[Node],
    by_name: Mapping[str, Node],
    dependents: Mapping[str, list[str]],
    group: Mapping[str, str | None],
) -> list[str]:
    # Kahn's algorithm over the reversed graph; the heap picks, among the components whose
    # dependents have all stopped, gated before always-on, then priority, then declaration.
    index = {n.name: i for i, n in enumerate(nodes)}

    def key(name: str) -> tuple[bool, int, int]:
        return (group[name] is None, by_name[name].priority, index[name])

    waiting = {name: len(ds) for name, ds in dependents.items()}
    ready = [key(name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    stop: list[str] = []
    while ready:
        name = nodes[heapq.heappop(ready)[2]].name
        stop.append(name)
        for d in by_name[name].deps:
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, key(d))
    return stop


def _check_acyclic(nodes: Iterable[Node], by_name: Mapping[str, Node]) -> None:
    # Iterative depth-first search: `done` nodes are never walked twice, so a lattice with
    # exponentially many paths costs linear work.
    done: set[str] = set()
    for root in nodes:
        if root.name in done:
            continue
        path = [root.name]
        on_path = {root.name}
        stack = [iter(root.deps)]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                finished = path.pop()
                on_path.remove(finished)
                done.add(finished)
                stack.pop()
            elif nxt in on_path:
                cycle = [*path[path.index(nxt) :], nxt]
                raise PlanError(f"dependency cycle: {' → '.join(cycle)}")
            elif nxt not in done:
                on_path.add(nxt)
                path.append(nxt)
                stack.append(iter(by_name[nxt].deps))


def _assign_groups(
    nodes: Sequence[Node],
    by_name: Mapping[str, Node],
    dependents: Mapping[str, list[str]],
) -> dict[str, str | None]:
    elections = {n.leader for n in nodes if n.leader is not None}
    for election in sorted(elections):
        node = by_name.get(election)
        if node is None or node.kind is NodeKind.HOOK:
            gated = sorted(n.name for n in nodes if n.leader == election)
            raise PlanError(
                f"leader={election!r} of {', '.join(gated)} is not an election component "
                "of this container",
            )
        if node.leader is not None:
            raise PlanError(
                f"{election} is an election (used as leader=) and cannot itself be "
                f"leader-gated by {node.leader}",
            )
    # Dependents before dependencies, so every dependent's group is known in time.
    group: dict[str, str | None] = {}
    waiting = {name: len(ds) for name, ds in dependents.items()}
    todo = [name for name, count in waiting.items() if count == 0]
    while todo:
        name = todo.pop()
        node = by_name[name]
        if node.leader is not None:
            group[name] = node.leader
        elif name in elections or not dependents[name]:
            group[name] = None
        else:
            groups = {group[d] for d in dependents[name]}
            group[name] = groups.pop() if len(groups) == 1 else None
        for d in node.deps:
            waiting[d] -= 1
            if waiting[d] == 0:
                todo.append(d)
    return group


def _check_edges(
    nodes: Iterable[Node],
    by_name: Mapping[str, Node],
    group: Mapping[str, str | None],
    explain: Explain,
) -> None:
    for n in nodes:
        for d in n.deps:
            if group[d] is not None and group[n.name] != group[d]:
                who = "always-on" if group[n.name] is None else f"gated by {group[n.name]}"
                raise PlanError(
                    f"{n.name} ({who}) depends on {d}, which is leader-gated by {group[d]} "
                    f"and may not be running: {explain(n.name, d)}",
                )
            if group[n.name] != group[d]:
                continue  # a gated group always stops before what it uses
            dep = by_name[d]
            if dep.priority < n.priority:
                raise PlanError(
                    f"{d} (priority {dep.priority}) would stop before {n.name} (priority "
                    f"{n.priority}), which depends on it: {explain(n.name, d)}; give {d} a "
                    f"priority >= {n.priority} or {n.name} one <= {dep.priority}",
                )
