"""The drain phase: readiness false at once, nothing stops before ``drain_delay``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from dependency_injector import containers

from service_pkg import Application, Component, RunState, ShutdownReason
from service_pkg.events import DrainEnded
from service_pkg.exceptions import ConfigError, StopError
from service_pkg.testing import ManualClock

from .conftest import Recorder


def app_with(rec: Recorder, clock: ManualClock, **kwargs: float) -> Application:
    class C(containers.DeclarativeContainer):
        db = Component(rec.factory("db"))

    return Application(C(), install_signals=False, clock=clock, **kwargs)  # type: ignore[arg-type]


async def test_readiness_goes_false_at_once_and_nothing_stops_during_the_drain(
    rec: Recorder,
) -> None:
    """During the drain the app is STOPPING and not ready, and no component has stopped."""
    clock = ManualClock()
    app = app_with(rec, clock, drain_delay=1.0)
    await app.start()
    stopping = asyncio.create_task(app.stop())
    await clock.wait_for_sleepers(1)
    assert (app.state, app.readiness.is_ready(), rec.of("stop")) == (
        RunState.STOPPING,
        False,
        [],
    )
    clock.advance(0.999)
    await asyncio.sleep(0)
    assert rec.of("stop") == []
    clock.advance(0.001)
    await stopping
    assert (app.state, rec.of("stop")) == (RunState.STOPPED, ["db"])


async def test_drain_ended_is_published_when_the_delay_is_over_before_any_stop(
    rec: Recorder,
) -> None:
    """DrainEnded comes once, at the end of the delay, before the first component stops."""
    clock = ManualClock()
    app = app_with(rec, clock, drain_delay=1.0)
    seen: list[tuple[float, ShutdownReason, float, list[str]]] = []
    app.subscribe(
        lambda e: seen.append((clock.monotonic(), e.reason, e.delay, rec.of("stop"))),  # type: ignore[attr-defined]
        DrainEnded,
    )
    await app.start()
    stopping = asyncio.create_task(app.stop())
    await clock.wait_for_sleepers(1)
    clock.advance(0.999)
    await asyncio.sleep(0)
    assert seen == []
    clock.advance(0.001)
    await stopping
    assert seen == [(1.0, ShutdownReason.REQUESTED, 1.0, [])]


async def test_zero_drain_delay_does_not_sleep(rec: Recorder) -> None:
    """With the default drain_delay of 0 the stop never waits on the clock."""
    clock = ManualClock()
    app = app_with(rec, clock)
    await app.start()
    await app.stop()
    assert (clock.monotonic(), rec.of("stop")) == (0.0, ["db"])


async def test_drain_does_not_eat_the_shutdown_budget() -> None:
    """A drain longer than shutdown_timeout still leaves the whole budget to the stops.

    Wall-clock time on purpose: the budget is wall-clock time. Were the drain (1 s) taken
    out of the budget (0.8 s), the 0.4 s stop would get no time at all and time out.
    """

    async def slow_stop() -> AsyncGenerator[str, object]:
        yield "slow"
        await asyncio.sleep(0.4)

    class C(containers.DeclarativeContainer):
        slow = Component(slow_stop, stop_timeout=5)

    app = Application(C(), install_signals=False, drain_delay=1.0, shutdown_timeout=0.8)
    await app.start()
    await app.stop()
    assert app.state is RunState.STOPPED


async def test_cancelled_drain_abandons_the_stop(rec: Recorder) -> None:
    """Cancelling the stop during the drain (a forced exit) abandons it: FAILED, nothing stops."""
    clock = ManualClock()
    app = app_with(rec, clock, drain_delay=30.0)
    await app.start()
    stopping = asyncio.create_task(app.stop())
    await clock.wait_for_sleepers(1)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert (app.state, rec.of("stop")) == (RunState.FAILED, [])
    with pytest.raises(StopError, match="abandoned"):
        await app.stop()


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_bad_drain_delay_is_a_config_error(value: float) -> None:
    """drain_delay must be a finite number of seconds >= 0."""

    class C(containers.DeclarativeContainer):
        pass

    with pytest.raises(ConfigError, match="drain_delay"):
        Application(C(), drain_delay=value)
