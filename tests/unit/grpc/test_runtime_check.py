"""The grpc.health.v1 check follows the runtime view and the drain."""

from __future__ import annotations

import asyncio

from service_pkg.events import HealthChecked, ReadinessChanged
from service_pkg.grpc._health import RuntimeCheck
from service_pkg.testing import FakeRuntime


async def test_a_check_reports_the_runtimes_verdict() -> None:
    runtime = FakeRuntime()
    check = RuntimeCheck(runtime, 5.0)
    assert await check.__check__() is True
    runtime.set_health("db", "failed", error="down")
    assert await check.__check__() is False


async def test_a_check_before_any_round_is_unknown() -> None:
    assert RuntimeCheck(FakeRuntime(), 5.0).__status__() is None


async def test_readiness_going_false_turns_it_not_serving_at_once_and_for_good() -> None:
    runtime = FakeRuntime()
    check = RuntimeCheck(runtime, 5.0)
    assert await check.__check__() is True
    runtime.emit(ReadinessChanged(ready=False, cause="stopping"))
    assert check.__status__() is False
    assert await check.__check__() is False
    assert runtime.health_calls == 1


async def test_a_health_round_run_by_someone_else_updates_it_and_wakes_watchers() -> None:
    runtime = FakeRuntime()
    check = RuntimeCheck(runtime, 5.0)
    event = await check.__subscribe__()
    event.clear()
    runtime.set_health("db", "failed", error="down")
    runtime.emit(HealthChecked(report=await runtime.health()))
    assert check.__status__() is False
    assert event.is_set()


async def test_subscribing_runs_a_round_so_the_first_watch_answer_is_a_verdict() -> None:
    check = RuntimeCheck(FakeRuntime(), 5.0)
    await check.__subscribe__()
    assert check.__status__() is True


async def test_without_a_runtime_it_serves_until_the_stop() -> None:
    check = RuntimeCheck(None, 5.0)
    assert await check.__check__() is True
    check.stop_serving()
    assert await check.__check__() is False


async def test_the_poller_runs_rounds_only_while_watched() -> None:
    runtime = FakeRuntime()
    check = RuntimeCheck(runtime, 0.01)
    poller = asyncio.create_task(check.poll())
    try:
        await asyncio.sleep(0.05)
        assert runtime.health_calls == 0
        event = await check.__subscribe__()
        await asyncio.sleep(0.05)
        assert runtime.health_calls > 1
        await check.__unsubscribe__(event)
    finally:
        poller.cancel()


async def test_close_stops_following_the_runtime() -> None:
    runtime = FakeRuntime()
    check = RuntimeCheck(runtime, 5.0)
    check.close()
    runtime.emit(ReadinessChanged(ready=False, cause="stopping"))
    assert check.__status__() is None
