"""Application: ordering, rollback, stop semantics, overrides and exit codes."""

from __future__ import annotations

import asyncio

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component, Priority, RunState, ShutdownReason
from service_pkg.exceptions import (
    ComponentStopError,
    ComponentTimeoutError,
    ConfigError,
    PlanError,
    StartError,
    StopError,
)

from .conftest import Recorder, settle


def chain_container(rec: Recorder) -> containers.DeclarativeContainer:
    class Chain(containers.DeclarativeContainer):
        redis = Component(rec.factory("redis"), priority=Priority.LOWEST)
        db = Component(rec.factory("db"), redis, priority=Priority.LOW)
        http = Component(rec.factory("http"), db, priority=Priority.HIGH)

    return Chain()


async def serve_until_ready(app: Application) -> asyncio.Task[int]:
    task = asyncio.create_task(app.serve())
    await app.readiness.wait_ready()
    return task


async def test_stop_follows_priority_and_dependencies_with_hooks_in_between(
    rec: Recorder,
) -> None:
    """redis ← db ← http plus a MEDIUM hook stop as http, hook, db, redis."""
    app = Application(chain_container(rec), install_signals=False)
    app.on_shutdown("flush", rec.hook("flush"), Priority.MEDIUM)
    async with app:
        pass
    assert rec.of("stop") == ["http", "flush", "db", "redis"]
    assert app.plan.stop_order == ("http", "flush", "db", "redis")


async def test_start_is_the_exact_reverse_of_stop(rec: Recorder) -> None:
    """Dependencies start first: redis, db, http."""
    app = Application(chain_container(rec), install_signals=False)
    async with app:
        assert rec.of("start") == ["redis", "db", "http"]
    assert app.plan.start_order == ("redis", "db", "http")


async def test_resource_factory_resource_chain_is_respected_at_stop(rec: Recorder) -> None:
    """A component used through a Factory stops after its user (DI's shutdown_resources fails)."""

    class Through(containers.DeclarativeContainer):
        engine = Component(rec.factory("engine"))
        repo = providers.Factory(lambda engine: ("repo", engine), engine)
        service = providers.Singleton(lambda repo: ("service", repo), repo)
        api = Component(rec.factory("api"), service)

    async with Application(Through(), install_signals=False):
        pass
    assert rec.of("stop") == ["api", "engine"]


async def test_dependents_receive_the_started_value(rec: Recorder) -> None:
    """A dependency is injected as the value its factory yielded."""
    seen: list[object] = []

    async def api(repo: object) -> object:
        seen.append(repo)
        yield "api"

    class Values(containers.DeclarativeContainer):
        engine = Component(rec.factory("engine"))
        repo = providers.Factory(lambda engine: ("repo", engine), engine)
        server = Component(api, repo)

    async with Application(Values(), install_signals=False):
        pass
    assert seen == [("repo", "engine")]


async def test_priority_against_dependency_names_both_and_the_path(rec: Recorder) -> None:
    """PlanError names the dependent, the dependency and the providers in between."""

    class Bad(containers.DeclarativeContainer):
        db = Component(rec.factory("db"), priority=Priority.IMMEDIATE)
        repo = providers.Factory(lambda db: db, db)
        http = Component(rec.factory("http"), repo, priority=Priority.HIGH)

    app = Application(Bad(), install_signals=False)
    with pytest.raises(PlanError) as caught:
        _ = app.plan
    message = str(caught.value)
    assert "db (priority 1) would stop before http (priority 100)" in message
    assert "http → repo → db" in message
    assert rec.events == []


async def test_cycle_is_a_plan_error_naming_the_components(rec: Recorder) -> None:
    """A cycle made after declaration is found before anything starts."""

    class Loop(containers.DeclarativeContainer):
        a = Component(rec.factory("a"))
        b = Component(rec.factory("b"), a)

    container = Loop()
    container.a.add_args(container.b)
    with pytest.raises(PlanError, match=r"dependency cycle: (a → b → a|b → a → b)"):
        await Application(container, install_signals=False).start()
    assert rec.events == []


async def test_third_of_five_failing_rolls_back_the_first_two_in_reverse(rec: Recorder) -> None:
    """The two started components stop in reverse with START_FAILURE; exit code 1."""

    class Five(containers.DeclarativeContainer):
        c1 = Component(rec.factory("c1"), priority=50)
        c2 = Component(rec.factory("c2"), priority=40)
        c3 = Component(rec.factory("c3", fail_start=True), priority=30)
        c4 = Component(rec.factory("c4"), priority=20)
        c5 = Component(rec.factory("c5"), priority=10)

    app = Application(Five(), install_signals=False)
    assert await app.serve() == 1
    assert rec.events == ["start c1", "start c2", "start c3", "stop c2", "stop c1"]
    assert rec.reasons == {"c2": ShutdownReason.START_FAILURE, "c1": ShutdownReason.START_FAILURE}
    assert app.state is RunState.FAILED


async def test_start_failure_raises_start_error_naming_the_component(rec: Recorder) -> None:
    """start() raises StartError with .component and the original error as cause."""

    class One(containers.DeclarativeContainer):
        bad = Component(rec.factory("bad", fail_start=True))

    with pytest.raises(StartError) as caught:
        await Application(One(), install_signals=False).start()
    assert caught.value.component == "bad"
    assert isinstance(caught.value.__cause__, RuntimeError)


async def test_start_timeout_fails_the_start_with_a_timeout_cause(rec: Recorder) -> None:
    """A start that hangs past start_timeout is cancelled and counts as failed."""

    class Slow(containers.DeclarativeContainer):
        slow = Component(rec.factory("slow", hang_start=True), start_timeout=0.01)

    with pytest.raises(StartError) as caught:
        await Application(Slow(), install_signals=False).start()
    assert isinstance(caught.value.__cause__, ComponentTimeoutError)
    assert caught.value.__cause__.phase == "start"


async def test_failing_and_hanging_stops_do_not_stop_the_others(rec: Recorder) -> None:
    """One stop raises, one hangs past its timeout: all others still stop; StopError has both."""

    class Four(containers.DeclarativeContainer):
        a = Component(rec.factory("a"), priority=1)
        b = Component(rec.factory("b", fail_stop=True), priority=2)
        c = Component(rec.factory("c", hang_stop=True), priority=3, stop_timeout=0.01)
        d = Component(rec.factory("d"), priority=4)

    app = Application(Four(), install_signals=False)
    await app.start()
    with pytest.raises(StopError) as caught:
        await app.stop()
    assert rec.of("stop") == ["a", "b", "c", "d"]
    assert caught.value.components == ("b", "c")
    failed, timed_out = caught.value.exceptions
    assert isinstance(failed, ComponentStopError)
    assert isinstance(failed.__cause__, RuntimeError)
    assert isinstance(timed_out, ComponentTimeoutError)
    assert app.state is RunState.FAILED


async def test_failed_stop_makes_serve_return_exit_code_1(rec: Recorder) -> None:
    """serve() returns 1 when any stop failed."""

    class One(containers.DeclarativeContainer):
        bad = Component(rec.factory("bad", fail_stop=True))

    app = Application(One(), install_signals=False)
    task = await serve_until_ready(app)
    app.request_stop()
    assert await task == 1


async def test_graceful_serve_returns_exit_code_0(rec: Recorder) -> None:
    """serve() returns 0 after a clean stop and the reason reaches the factories."""
    app = Application(chain_container(rec), install_signals=False)
    task = await serve_until_ready(app)
    app.request_stop()
    assert await task == 0
    assert set(rec.reasons.values()) == {ShutdownReason.REQUESTED}
    assert app.state is RunState.STOPPED


async def test_stop_is_idempotent_and_concurrent_calls_share_one_run(rec: Recorder) -> None:
    """Two concurrent stops and a third one later stop each component once."""
    app = Application(chain_container(rec), install_signals=False)
    await app.start()
    await asyncio.gather(app.stop(), app.stop())
    await app.stop()
    assert rec.of("stop") == ["http", "db", "redis"]


async def test_concurrent_stop_callers_all_see_the_stop_error(rec: Recorder) -> None:
    """Every caller of a failed stop gets the StopError."""

    class One(containers.DeclarativeContainer):
        bad = Component(rec.factory("bad", fail_stop=True))

    app = Application(One(), install_signals=False)
    await app.start()
    results = await asyncio.gather(app.stop(), app.stop(), return_exceptions=True)
    assert [type(r) for r in results] == [StopError, StopError]


async def test_shutdown_budget_caps_every_stop(rec: Recorder) -> None:
    """shutdown_timeout bounds the whole stop; later stops still run and are reported."""

    class Two(containers.DeclarativeContainer):
        a = Component(rec.factory("a", hang_stop=True), priority=1, stop_timeout=30)
        b = Component(rec.factory("b"), priority=2)

    app = Application(Two(), install_signals=False, shutdown_timeout=0.02)
    await app.start()
    with pytest.raises(StopError) as caught:
        await app.stop()
    assert rec.of("stop") == ["a", "b"]
    assert caught.value.components[0] == "a"


async def test_an_application_starts_only_once(rec: Recorder) -> None:
    """A second start() is refused with a RuntimeError."""
    app = Application(chain_container(rec), install_signals=False)
    async with app:
        with pytest.raises(RuntimeError, match="starts once"):
            await app.start()


async def test_stop_before_start_does_nothing(rec: Recorder) -> None:
    """stop() on a created application ends it without calling any factory."""
    app = Application(chain_container(rec), install_signals=False)
    await app.stop()
    assert app.state is RunState.STOPPED
    assert rec.events == []


async def test_state_walks_created_starting_running_stopping_stopped(rec: Recorder) -> None:
    """state reports each phase of the run."""
    seen: list[RunState] = []
    app = Application(chain_container(rec), install_signals=False)
    app.on_shutdown("probe", lambda: seen.append(app.state), Priority.MEDIUM)
    seen.append(app.state)
    await app.start()
    seen.append(app.state)
    await app.stop()
    seen.append(app.state)
    assert seen == [RunState.CREATED, RunState.RUNNING, RunState.STOPPING, RunState.STOPPED]


async def test_readiness_is_ready_only_while_running(rec: Recorder) -> None:
    """Ready after every always-on component started; not ready from the first stop step."""
    seen: list[bool] = []
    app = Application(chain_container(rec), install_signals=False)
    app.on_shutdown("probe", lambda: seen.append(app.readiness.is_ready()), Priority.IMMEDIATE)
    seen.append(app.readiness.is_ready())
    await app.start()
    seen.append(app.readiness.is_ready())
    await app.stop()
    assert seen == [False, True, False]


async def test_async_hooks_are_awaited_and_ordered_fifo_among_equals(rec: Recorder) -> None:
    """Hooks of equal priority run in registration order; async ones are awaited."""
    app = Application(chain_container(rec), install_signals=False)

    async def second() -> None:
        await asyncio.sleep(0)
        rec.events.append("stop second")

    app.on_shutdown("first", rec.hook("first"), Priority.MEDIUM)
    app.on_shutdown("second", second, Priority.MEDIUM)
    async with app:
        pass
    assert rec.of("stop") == ["http", "first", "second", "db", "redis"]


async def test_object_override_is_used_and_never_started_or_stopped(rec: Recorder) -> None:
    """container.db.override(Object(fake)): the real factory never runs, nothing to stop."""
    container = chain_container(rec)
    seen: list[object] = []

    async def http(db: object) -> object:
        seen.append(db)
        yield "http"

    container.http.override(Component(http, container.db, priority=Priority.HIGH))
    container.db.override(providers.Object("fake-db"))
    async with Application(container, install_signals=False):
        pass
    assert "start db" not in rec.events
    assert "stop db" not in rec.events
    assert seen == ["fake-db"]


async def test_container_override_with_components_uses_the_overriding_factories(
    rec: Recorder,
) -> None:
    """container.override(Other): overriding components run instead of the declared ones."""
    container = chain_container(rec)

    class Fakes(containers.DeclarativeContainer):
        redis = Component(rec.factory("fake-redis"), priority=Priority.LOWEST)

    container.override(Fakes)
    async with Application(container, install_signals=False):
        pass
    assert rec.of("start") == ["fake-redis", "db", "http"]


async def test_metadata_survives_container_instantiation(rec: Recorder) -> None:
    """DeclarativeContainer() copies providers; priority and timeouts survive the copy."""

    class Meta(containers.DeclarativeContainer):
        a = Component(rec.factory("a"), priority=7, start_timeout=3, stop_timeout=4)

    copied = Meta().a
    assert (copied.priority, copied.start_timeout, copied.stop_timeout) == (7, 3.0, 4.0)
    assert copied is not Meta.a


async def test_nested_containers_get_dotted_names(rec: Recorder) -> None:
    """Components of a nested container appear as parent.child in the plan."""

    class Storage(containers.DeclarativeContainer):
        db = Component(rec.factory("db"), priority=Priority.LOW)

    class Root(containers.DeclarativeContainer):
        storage = providers.Container(Storage)
        http = Component(rec.factory("http"), storage.db, priority=Priority.HIGH)

    app = Application(Root(), install_signals=False)
    assert app.plan.start_order == ("storage.db", "http")
    async with app:
        pass
    assert rec.of("stop") == ["http", "db"]


async def test_calling_a_component_before_start_explains_how_to_start_it(rec: Recorder) -> None:
    """A component is not lazily created behind the application's back."""
    container = chain_container(rec)
    with pytest.raises(RuntimeError, match="not started"):
        container.redis()
    redis = container.redis
    assert isinstance(redis, Component)
    with pytest.raises(RuntimeError, match=r"service_pkg\.Application"):
        redis.init()


async def test_components_selects_the_needed_subgraph(rec: Recorder) -> None:
    """components=['db'] starts db and redis, not http."""
    app = Application(chain_container(rec), install_signals=False, components=["db"])
    async with app:
        assert rec.of("start") == ["redis", "db"]


class TestOnShutdownValidation:
    def test_non_callable_hook_is_a_config_error(self, rec: Recorder) -> None:
        """on_shutdown refuses what it cannot call, naming fn."""
        app = Application(chain_container(rec), install_signals=False)
        with pytest.raises(ConfigError, match="fn: must be callable"):
            app.on_shutdown("x", 42, Priority.MEDIUM)  # type: ignore[arg-type]

    def test_duplicate_hook_name_is_a_config_error(self, rec: Recorder) -> None:
        """Hook names are unique, so logs and errors are unambiguous."""
        app = Application(chain_container(rec), install_signals=False)
        app.on_shutdown("x", rec.hook("x"), Priority.MEDIUM)
        with pytest.raises(ConfigError, match="name"):
            app.on_shutdown("x", rec.hook("x"), Priority.MEDIUM)

    async def test_hook_after_the_stop_is_refused(self, rec: Recorder) -> None:
        """A hook registered too late would never run; that is an error, not silence."""
        app = Application(chain_container(rec), install_signals=False)
        await app.stop()
        with pytest.raises(RuntimeError, match="after the stop began"):
            app.on_shutdown("late", rec.hook("late"), Priority.MEDIUM)


async def test_stop_during_start_interrupts_it_and_rolls_back(rec: Recorder) -> None:
    """stop() from another task while starting cancels the start and stops what ran."""

    class Slow(containers.DeclarativeContainer):
        first = Component(rec.factory("first"))
        second = Component(rec.factory("second", hang_start=True), first)

    app = Application(Slow(), install_signals=False)
    starting = asyncio.create_task(app.start())
    await settle(lambda: "start second" in rec.events)
    await app.stop()
    with pytest.raises(StartError, match="interrupted"):
        await starting
    assert rec.events == ["start first", "start second", "stop first"]
    assert rec.reasons["first"] is ShutdownReason.REQUESTED
    assert app.state is RunState.STOPPED


async def test_unclean_rollback_is_reported_by_a_later_stop(rec: Recorder) -> None:
    """If a rollback stop fails too, serve() returns 1 and stop() raises the StopError."""

    class Two(containers.DeclarativeContainer):
        first = Component(rec.factory("first", fail_stop=True))
        second = Component(rec.factory("second", fail_start=True), first)

    app = Application(Two(), install_signals=False)
    assert await app.serve() == 1
    with pytest.raises(StopError) as caught:
        await app.stop()
    assert caught.value.components == ("first",)


async def test_serve_returns_1_for_an_invalid_container(rec: Recorder) -> None:
    """A PlanError is logged and becomes exit code 1; nothing starts."""

    class Bad(containers.DeclarativeContainer):
        db = Component(rec.factory("db"), priority=Priority.IMMEDIATE)
        http = Component(rec.factory("http"), db, priority=Priority.HIGH)

    assert await Application(Bad(), install_signals=False).serve() == 1
    assert rec.events == []


def test_run_returns_the_exit_code_of_serve(rec: Recorder) -> None:
    """run() drives serve() in a new loop; a failed start gives 1."""

    class One(containers.DeclarativeContainer):
        bad = Component(rec.factory("bad", fail_start=True))

    assert Application(One(), install_signals=False).run() == 1


async def test_body_error_stops_with_reason_error(rec: Recorder) -> None:
    """When the `async with app:` body raises, components stop with ShutdownReason.ERROR."""
    with pytest.raises(LookupError):
        async with Application(chain_container(rec), install_signals=False):
            raise LookupError
    assert set(rec.reasons.values()) == {ShutdownReason.ERROR}


async def test_hook_named_like_a_component_is_a_config_error(rec: Recorder) -> None:
    """Hook and component names share one namespace."""
    app = Application(chain_container(rec), install_signals=False)
    _ = app.plan
    with pytest.raises(ConfigError, match="name"):
        app.on_shutdown("db", rec.hook("db"), Priority.MEDIUM)


async def test_running_app_stops_what_it_started_despite_later_overrides(rec: Recorder) -> None:
    """An override or a hook added while running does not change what gets stopped."""
    container = chain_container(rec)
    app = Application(container, install_signals=False)
    await app.start()
    container.db.override(providers.Object("fake"))
    app.on_shutdown("late", rec.hook("late"), Priority.MEDIUM)
    await app.stop()
    assert rec.of("stop") == ["http", "late", "db", "redis"]


async def test_waiters_of_an_abandoned_stop_get_a_stop_error(rec: Recorder) -> None:
    """If the task running stop() is cancelled, other stop() callers do not hear success."""

    class One(containers.DeclarativeContainer):
        slow = Component(rec.factory("slow", hang_stop=True))

    app = Application(One(), install_signals=False)
    await app.start()
    first = asyncio.create_task(app.stop())
    await settle(lambda: "stop slow" in rec.events)
    second = asyncio.create_task(app.stop())
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(StopError, match="abandoned"):
        await second
    assert app.state is RunState.FAILED


async def test_start_off_the_main_thread_fails_before_starting(rec: Recorder) -> None:
    """install_signals needs the main thread; the refusal leaves the app untouched."""
    app = Application(chain_container(rec))

    def in_thread() -> None:
        asyncio.run(app.start())

    with pytest.raises(RuntimeError, match="main thread"):
        await asyncio.to_thread(in_thread)
    assert app.state is RunState.CREATED
    assert rec.events == []
