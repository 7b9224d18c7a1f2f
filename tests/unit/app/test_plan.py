"""The pure planner: order and validation without dependency-injector or asyncio."""

from __future__ import annotations

import pytest

from service_pkg.app import Node, NodeKind, RunState, build_plan
from service_pkg.exceptions import PlanError


def test_stop_order_puts_smaller_priority_first_among_free_components() -> None:
    """Independent components stop by ascending priority."""
    plan = build_plan([Node("a", 1000), Node("b", 20), Node("c", 500)])
    assert plan.stop_order == ("b", "c", "a")


def test_equal_priorities_keep_declaration_order() -> None:
    """Ties stop in declaration order (FIFO, as Go's RegisterShutdown)."""
    plan = build_plan([Node("a", 500), Node("b", 500), Node("c", 500)])
    assert plan.stop_order == ("a", "b", "c")


def test_start_order_is_the_exact_reverse_of_stop_order_without_hooks() -> None:
    """Start = reversed stop order; hooks only take part in the stop."""
    plan = build_plan(
        [Node("db", 1000), Node("http", 100, ("db",)), Node("hook", 500, kind=NodeKind.HOOK)],
    )
    assert plan.stop_order == ("http", "hook", "db")
    assert plan.start_order == ("db", "http")


def test_a_dependency_never_stops_before_its_dependent() -> None:
    """Equal priorities: the dependent still stops first, whatever the declaration order."""
    plan = build_plan([Node("db", 500), Node("api", 500, ("db",))])
    assert plan.stop_order == ("api", "db")


def test_priority_against_a_dependency_is_an_error_naming_both() -> None:
    """A dependency asking to stop before its dependent is refused, not silently reordered."""
    with pytest.raises(PlanError, match=r"db \(priority 20\) would stop before api"):
        build_plan([Node("db", 20), Node("api", 500, ("db",))])


def test_a_cycle_is_an_error_naming_the_path() -> None:
    """Cycles are reported with every component on them."""
    with pytest.raises(PlanError, match="dependency cycle: a → b → c → a"):
        build_plan([Node("a", 1, ("b",)), Node("b", 1, ("c",)), Node("c", 1, ("a",))])


def test_unknown_dependency_is_an_error() -> None:
    """A dependency on a name that is not in the graph is refused."""
    with pytest.raises(PlanError, match="not a component"):
        build_plan([Node("a", 1, ("ghost",))])


def test_gated_components_stop_before_always_on_ones() -> None:
    """Gated groups stop first whatever their priority; they start last."""
    plan = build_plan(
        [
            Node("election", 500),
            Node("http", 100),
            Node("jobs", 10000, ("election",), leader="election"),
        ],
    )
    assert plan.stop_order[0] == "jobs"
    assert plan.start_order[-1] == "jobs"
    assert dict(plan.gated) == {"election": ("jobs",)}


def test_what_only_a_gated_component_needs_joins_its_group() -> None:
    """A dependency used only by gated components starts and stops with the group."""
    plan = build_plan(
        [
            Node("election", 500),
            Node("queue", 500),
            Node("jobs", 500, ("election", "queue"), leader="election"),
        ],
    )
    assert plan.gated["election"] == ("queue", "jobs")


def test_a_dependency_shared_with_always_on_stays_always_on() -> None:
    """A dependency also used by an always-on component is not gated."""
    plan = build_plan(
        [
            Node("election", 500),
            Node("db", 1000),
            Node("http", 100, ("db",)),
            Node("jobs", 500, ("election", "db"), leader="election"),
        ],
    )
    assert plan.gated["election"] == ("jobs",)
    assert plan.group["db"] is None


def test_always_on_depending_on_gated_is_an_error() -> None:
    """An always-on component may not use a component that only runs on the leader."""
    with pytest.raises(PlanError, match=r"http \(always-on\) depends on jobs"):
        build_plan(
            [
                Node("election", 500),
                Node("jobs", 500, ("election",), leader="election"),
                Node("http", 100, ("jobs",)),
            ],
        )


def test_leader_that_is_not_a_component_is_an_error() -> None:
    """leader= must name an election component of the graph."""
    with pytest.raises(PlanError, match="not an election component"):
        build_plan([Node("jobs", 500, leader="nowhere")])


def test_an_election_cannot_itself_be_gated() -> None:
    """An election used as leader= must be always-on."""
    with pytest.raises(PlanError, match="cannot itself be leader-gated"):
        build_plan(
            [
                Node("e1", 500),
                Node("e2", 500, ("e1",), leader="e1"),
                Node("jobs", 500, ("e2",), leader="e2"),
            ],
        )


def test_str_shows_start_stop_and_gated_groups() -> None:
    """str(plan) is a readable listing for humans."""
    plan = build_plan(
        [Node("election", 500), Node("jobs", 500, ("election",), leader="election")],
    )
    text = str(plan)
    assert "start order:\n  1. election (priority 500)" in text
    assert "stop order:\n  1. jobs (priority 500, leader=election)" in text
    assert "gated by election (start on TAKEN, stop on LOST):\n  - jobs" in text


def test_run_state_allows_only_forward_transitions() -> None:
    """RunState is one-way: no restart, no skipping the stop."""
    assert RunState.CREATED.can_become(RunState.STARTING)
    assert RunState.STARTING.can_become(RunState.FAILED)
    assert RunState.RUNNING.can_become(RunState.STOPPING)
    assert not RunState.RUNNING.can_become(RunState.STOPPED)
    assert not RunState.STOPPED.can_become(RunState.STARTING)
    assert not RunState.FAILED.can_become(RunState.CREATED)


def test_duplicate_names_are_named() -> None:
    """A name used twice is reported by name."""
    with pytest.raises(PlanError, match="names used twice in the plan: a"):
        build_plan([Node("a", 1), Node("a", 2, kind=NodeKind.HOOK)])
