"""``ComponentRunner`` starts subgraphs with overrides and always undoes both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from dependency_injector import containers, providers

from service_pkg import Component, RunState
from service_pkg.exceptions import ConfigError
from service_pkg.testing import ComponentRunner


def recorder(log: list[str], name: str) -> Callable[..., AsyncIterator[str]]:
    async def factory(*deps: object) -> AsyncIterator[str]:
        log.append(f"start {name}")
        yield f"{name}({', '.join(map(str, deps))})"
        log.append(f"stop {name}")

    return factory


def make_container(log: list[str]) -> containers.DynamicContainer:
    container = containers.DynamicContainer()
    container.db = Component(recorder(log, "db"))
    container.cache = Component(recorder(log, "cache"))
    container.api = Component(recorder(log, "api"), container.db)
    return container


async def test_starts_only_what_the_named_component_needs() -> None:
    """``start(container, "api")`` starts api and db, not the unrelated cache."""
    log: list[str] = []
    container = make_container(log)
    async with ComponentRunner() as runner:
        app = await runner.start(container, "api")
        assert app.state is RunState.RUNNING
        assert container.api() == "api(db())"
    assert log == ["start db", "start api", "stop api", "stop db"]


async def test_overrides_apply_while_running_and_are_reset_after() -> None:
    """An override replaces the provider during the run; the original is back after close."""
    log: list[str] = []
    container = make_container(log)
    async with ComponentRunner() as runner:
        await runner.start(container, "api", overrides={"db": providers.Object("fake-db")})
        value, during = container.api(), bool(container.db.overridden)
    assert (value, during, bool(container.db.overridden)) == ("api(fake-db)", True, False)
    assert log == ["start api", "stop api"]


async def test_stops_everything_when_the_body_fails() -> None:
    """A failing test body still stops every subgraph, newest first."""
    first_log: list[str] = []
    second_log: list[str] = []

    async def failing_test() -> None:
        async with ComponentRunner() as runner:
            await runner.start(make_container(first_log), "db")
            await runner.start(make_container(second_log), "cache")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await failing_test()
    assert (first_log, second_log) == (["start db", "stop db"], ["start cache", "stop cache"])


async def test_an_unknown_override_name_is_refused_before_anything_starts() -> None:
    """A typo in ``overrides`` fails at once, naming the provider, and nothing runs."""
    log: list[str] = []
    container = make_container(log)
    async with ComponentRunner() as runner:
        with pytest.raises(ConfigError, match="overrides: the container has no provider"):
            await runner.start(container, "api", overrides={"dbb": providers.Object(1)})
    assert log == []


async def test_close_is_idempotent_and_a_closed_runner_refuses_to_start() -> None:
    """aclose() twice is fine; start() afterwards says the runner is closed."""
    runner = ComponentRunner()
    await runner.aclose()
    await runner.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await runner.start(make_container([]))
