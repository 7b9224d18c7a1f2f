"""Planner behaviours that mutation testing found unpinned (issue 15)."""

from __future__ import annotations

import pytest

from service_pkg.app import Node, NodeKind, build_plan
from service_pkg.app._plan import direct_path
from service_pkg.exceptions import PlanError


def test_a_cycle_not_through_the_first_component_is_a_plan_error() -> None:
    """a → b → c → b is reported as the cycle b → c → b."""
    with pytest.raises(PlanError, match=r"^dependency cycle: b → c → b$"):
        build_plan([Node("a", 1, ("b",)), Node("b", 1, ("c",)), Node("c", 1, ("b",))])


def test_a_cycle_among_later_roots_is_found_after_a_clean_one() -> None:
    """A cycle reachable only from a later declared component is still found."""
    with pytest.raises(PlanError, match=r"^dependency cycle: y → z → y$"):
        build_plan([Node("x", 1), Node("y", 1, ("z",)), Node("z", 1, ("y",))])


def test_a_component_depending_on_itself_is_a_cycle() -> None:
    """A self-edge is the cycle a → a."""
    with pytest.raises(PlanError, match=r"^dependency cycle: a → a$"):
        build_plan([Node("a", 1, ("a",))])


def test_a_shared_dependency_is_not_mistaken_for_a_cycle() -> None:
    """A diamond (two paths to one component) is not a cycle."""
    plan = build_plan(
        [Node("db", 1), Node("l", 1, ("db",)), Node("r", 1, ("db",)), Node("top", 1, ("l", "r"))],
    )
    assert plan.stop_order == ("top", "l", "r", "db")


def test_priority_is_checked_after_an_allowed_edge_to_the_election() -> None:
    """jobs → election is allowed; jobs → db with a priority stopping db first still fails."""
    with pytest.raises(PlanError, match=r"db \(priority 10\) would stop before jobs"):
        build_plan(
            [
                Node("election", 500),
                Node("db", 10),
                Node("jobs", 500, ("election", "db"), leader="election"),
            ],
        )


def test_priority_error_names_the_fix_in_both_directions() -> None:
    """The message proposes raising the dependency's priority or lowering the dependent's."""
    with pytest.raises(PlanError) as info:
        build_plan([Node("db", 20), Node("api", 500, ("db",))])
    assert str(info.value) == (
        "db (priority 20) would stop before api (priority 500), which depends on it: "
        "api → db; give db a priority >= 500 or api one <= 20"
    )


def test_equal_priority_of_a_dependency_is_allowed() -> None:
    """A dependency with the same priority as its dependent is fine."""
    plan = build_plan([Node("db", 500), Node("api", 500, ("db",))])
    assert plan.start_order == ("db", "api")


def test_priority_error_uses_the_given_path_renderer() -> None:
    """The dependency path in the message comes from ``explain``."""
    with pytest.raises(PlanError, match=r"which depends on it: api ⇒ db;"):
        build_plan(
            [Node("db", 20), Node("api", 500, ("db",))],
            explain=lambda a, b: f"{a} ⇒ {b}",
        )


def test_always_on_depending_on_gated_uses_the_given_path_renderer() -> None:
    """The leader-gated error quotes ``explain`` too."""
    with pytest.raises(PlanError, match=r"may not be running: http ⇒ jobs$"):
        build_plan(
            [
                Node("election", 500),
                Node("jobs", 500, ("election",), leader="election"),
                Node("http", 100, ("jobs",)),
            ],
            explain=lambda a, b: f"{a} ⇒ {b}",
        )


def test_gated_component_using_another_groups_member_names_its_group() -> None:
    """A component gated by one election may not use one gated by another."""
    with pytest.raises(PlanError, match=r"^b \(gated by e2\) depends on a, which is leader-gated"):
        build_plan(
            [
                Node("e1", 500),
                Node("e2", 500),
                Node("a", 500, ("e1",), leader="e1"),
                Node("b", 500, ("e2", "a"), leader="e2"),
            ],
        )


def test_direct_path_is_an_arrow() -> None:
    """Without a better renderer the path is ``a → b``."""
    assert direct_path("a", "b") == "a → b"


def test_str_shows_the_kind_of_hooks_and_overrides() -> None:
    """str(plan) marks hooks and overridden components; plain components carry no kind."""
    plan = build_plan(
        [
            Node("db", 1000),
            Node("cache", 500, kind=NodeKind.OVERRIDDEN),
            Node("flush", 10, kind=NodeKind.HOOK),
        ],
    )
    assert str(plan).splitlines() == [
        "start order:",
        "  1. db (priority 1000)",
        "  2. cache (priority 500, overridden)",
        "stop order:",
        "  1. flush (priority 10, hook)",
        "  2. cache (priority 500, overridden)",
        "  3. db (priority 1000)",
    ]


def test_str_lists_every_gated_group_in_start_order() -> None:
    """Each election's members are listed under it, in start order."""
    plan = build_plan(
        [
            Node("election", 500),
            Node("queue", 500),
            Node("jobs", 500, ("election", "queue"), leader="election"),
        ],
    )
    assert str(plan).splitlines()[-3:] == [
        "gated by election (start on TAKEN, stop on LOST):",
        "  - queue",
        "  - jobs",
    ]


def test_a_hook_cannot_be_an_election() -> None:
    """leader= naming a shutdown hook is refused like a missing component."""
    with pytest.raises(PlanError, match=r"^leader='flush' of jobs is not an election component"):
        build_plan([Node("flush", 1, kind=NodeKind.HOOK), Node("jobs", 1, leader="flush")])


def test_a_missing_election_names_every_component_it_gates() -> None:
    """All components gated by the missing election are listed, sorted."""
    with pytest.raises(PlanError, match=r"^leader='nowhere' of a, b is not an election"):
        build_plan([Node("b", 1, leader="nowhere"), Node("a", 1, leader="nowhere")])


def test_several_names_used_twice_are_all_named_sorted() -> None:
    """Every duplicated name is listed once, in sorted order."""
    with pytest.raises(PlanError, match=r"^names used twice in the plan: a, b$"):
        build_plan([Node("b", 1), Node("a", 1), Node("b", 2), Node("a", 2), Node("c", 1)])


def test_unknown_dependency_names_both_ends() -> None:
    """The error names the dependent and the missing name."""
    with pytest.raises(PlanError, match=r"^a depends on 'ghost', which is not a component$"):
        build_plan([Node("a", 1, ("ghost",))])


def test_an_election_is_always_on_even_when_only_gated_components_use_it() -> None:
    """The election itself never joins the group it gates."""
    plan = build_plan(
        [Node("election", 500), Node("jobs", 500, ("election",), leader="election")],
    )
    assert plan.group["election"] is None
    assert dict(plan.gated) == {"election": ("jobs",)}


def test_a_dependency_of_two_groups_is_always_on() -> None:
    """Used by members of two different groups, a component belongs to neither."""
    plan = build_plan(
        [
            Node("e1", 500),
            Node("e2", 500),
            Node("db", 500),
            Node("a", 500, ("e1", "db"), leader="e1"),
            Node("b", 500, ("e2", "db"), leader="e2"),
        ],
    )
    assert plan.group["db"] is None


def test_a_chain_used_only_by_a_gated_component_joins_its_group() -> None:
    """Group membership passes down a chain of dependencies."""
    plan = build_plan(
        [
            Node("election", 500),
            Node("conn", 500),
            Node("queue", 500, ("conn",)),
            Node("jobs", 500, ("election", "queue"), leader="election"),
        ],
    )
    assert plan.gated["election"] == ("conn", "queue", "jobs")


def test_gated_groups_stop_first_even_with_a_larger_priority() -> None:
    """Among free components, gated ones come before always-on ones of smaller priority."""
    plan = build_plan(
        [
            Node("election", 1000),
            Node("http", 1),
            Node("jobs", 9000, ("election",), leader="election"),
        ],
    )
    assert plan.stop_order == ("jobs", "http", "election")


def test_stop_order_releases_a_dependency_once_all_its_dependents_stopped() -> None:
    """A component used by two others waits for both, then competes by priority."""
    plan = build_plan(
        [
            Node("late", 2000),
            Node("db", 1000),
            Node("other", 50),
            Node("a", 10, ("db",)),
            Node("b", 100, ("db",)),
        ],
    )
    assert plan.stop_order == ("a", "other", "b", "db", "late")


def test_a_cycle_after_an_already_checked_root_is_found() -> None:
    """A root already walked from an earlier one is skipped, and later roots are still checked."""
    with pytest.raises(PlanError, match=r"^dependency cycle: c → d → c$"):
        build_plan(
            [Node("a", 1, ("b",)), Node("b", 1), Node("c", 1, ("d",)), Node("d", 1, ("c",))],
        )


def test_a_lattice_with_exponentially_many_paths_is_planned() -> None:
    """60 stacked diamonds (2**60 paths) are checked without walking each path."""
    nodes = [Node("top0", 1000)]
    for i in range(60):
        below = f"top{i}"
        nodes += [Node(f"l{i}", 1000, (below,)), Node(f"r{i}", 1000, (below,))]
        nodes.append(Node(f"top{i + 1}", 1000, (f"l{i}", f"r{i}")))
    plan = build_plan(nodes)
    assert plan.start_order[0] == "top0"
    assert plan.start_order[-1] == "top60"


def test_a_missing_election_message_is_exact() -> None:
    """The message names the election, the gated components and where it must be declared."""
    with pytest.raises(PlanError) as info:
        build_plan([Node("jobs", 1, leader="nowhere")])
    assert str(info.value) == (
        "leader='nowhere' of jobs is not an election component of this container"
    )


def test_a_gated_election_message_is_exact() -> None:
    """An election that is itself gated is named with the election gating it."""
    with pytest.raises(PlanError) as info:
        build_plan(
            [
                Node("e1", 500),
                Node("e2", 500, ("e1",), leader="e1"),
                Node("jobs", 500, ("e2",), leader="e2"),
            ],
        )
    assert str(info.value) == (
        "e2 is an election (used as leader=) and cannot itself be leader-gated by e1"
    )
