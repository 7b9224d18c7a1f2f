"""One resource shape (async with / aclose), plain-function factories and default health."""

from __future__ import annotations

import asyncio
import math
from typing import Any, Self

import pytest
from dependency_injector import containers

from service_pkg import Component
from service_pkg.exceptions import ConfigError
from service_pkg.health import factory_health
from service_pkg.leader import (
    LeaderConfig,
    LeaderElection,
    LockElection,
    leader_election,
    lock_election,
    standalone_election,
)
from service_pkg.testing import InMemoryLock, ManualElection, manual_election, run_components

from .conftest import E, World


class ClosableLock(InMemoryLock):
    """An InMemoryLock that records being entered and closed, as an owned RedisLock is."""

    def __init__(self, name: str, *, ttl: float) -> None:
        super().__init__(name, ttl=ttl)
        self.entered = 0
        self.closed = 0

    async def __aenter__(self) -> Self:
        self.entered += 1
        return self

    async def aclose(self) -> None:
        self.closed += 1


async def test_async_with_starts_the_election_and_aclose_releases(world: World) -> None:
    """Entering runs the first round (leader at once); leaving releases the key."""
    election, _ = world.candidate()
    async with election as entered:
        assert entered is election
        assert election.is_leader()
    assert world.store.holder("cron") is None
    assert election.last_reason == "stop"


async def test_aclose_is_idempotent(world: World) -> None:
    """A second aclose() changes nothing."""
    election, _ = world.candidate()
    async with election:
        pass
    await election.aclose()
    assert election.stats.lost == 1


async def test_entering_twice_is_refused_and_leaves_the_election_running(world: World) -> None:
    """A second async with raises RuntimeError and does not close the running election."""
    election, _ = world.candidate()
    async with election:
        with pytest.raises(RuntimeError, match="starts once"):
            await election.__aenter__()
        assert election.is_leader()


async def test_a_cancelled_start_closes_an_owned_lock() -> None:
    """All or nothing: an entry that does not finish leaves the owned lock closed."""
    lock = ClosableLock("cron", ttl=1.0)
    election = LockElection(lock, LeaderConfig(name="cron", expiration=1.0), owns_lock=True)

    async def hang() -> object:
        await asyncio.Event().wait()
        raise AssertionError

    lock.acquire = hang  # type: ignore[method-assign, assignment]
    entering = asyncio.create_task(election.__aenter__())
    await asyncio.sleep(0)
    entering.cancel()
    await asyncio.wait({entering})
    assert (lock.entered, lock.closed) == (1, 1)


async def test_an_owned_lock_is_entered_at_start_and_closed_at_aclose() -> None:
    """owns_lock=True: the election opens its lock and closes it after the release."""
    lock = ClosableLock("cron", ttl=1.0)
    election = LockElection(lock, LeaderConfig(name="cron", expiration=1.0), owns_lock=True)
    async with election:
        assert (lock.entered, lock.closed) == (1, 0)
    assert (lock.entered, lock.closed) == (1, 1)


async def test_a_lock_not_owned_is_left_open() -> None:
    """Without owns_lock the lock belongs to whoever created it."""
    lock = ClosableLock("cron", ttl=1.0)
    async with LockElection(lock, LeaderConfig(name="cron", expiration=1.0)):
        pass
    assert (lock.entered, lock.closed) == (0, 0)


class BareLock:
    """A Lock without the resource shape (as a third-party lock may be)."""

    def __init__(self, inner: InMemoryLock) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        if name in {"aclose", "__aenter__"}:
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_owning_a_lock_without_aclose_is_a_config_error() -> None:
    """owns_lock needs a lock the election can open and close."""
    bare: Any = BareLock(InMemoryLock("cron", ttl=1.0))
    with pytest.raises(ConfigError) as caught:
        LockElection(bare, LeaderConfig(name="cron", expiration=1.0), owns_lock=True)
    assert caught.value.field == "owns_lock"


@pytest.mark.parametrize("factory", [lock_election, leader_election, standalone_election])
def test_election_factories_are_plain_functions(factory: object) -> None:
    """Component's context-manager path starts and stops the returned object."""
    import inspect  # noqa: PLC0415 - only this test needs it

    assert inspect.isfunction(factory)
    assert not inspect.isasyncgenfunction(factory)
    assert not inspect.iscoroutinefunction(factory)


async def test_lock_election_component_starts_and_stops_the_election() -> None:
    """Component(lock_election, ...) gives a started election and closes it at stop."""
    lock = InMemoryLock("cron", ttl=1.0)

    class C(containers.DeclarativeContainer):
        election = Component(lock_election, lock, LeaderConfig(name="cron", expiration=1.0))

    container = C()
    async with run_components(container, "election"):
        election = container.election()
        assert isinstance(election, LockElection)
        assert election.is_leader()
    assert election.last_reason == "stop"
    assert lock.store.holder("cron") is None


@pytest.mark.parametrize(
    "factory", [lock_election, leader_election, standalone_election, manual_election]
)
def test_election_factories_bring_a_health_check_that_spares_readiness(factory: object) -> None:
    """Each factory carries a default check that does not affect readiness."""
    spec = factory_health(factory)
    assert spec is not None
    assert spec.affects_readiness is False


async def test_health_passes_while_the_lease_loop_runs(world: World) -> None:
    """The default check of a running election returns."""
    election, _ = world.candidate()
    check = factory_health(lock_election)
    assert check is not None
    async with election:
        check.check(election)


async def test_health_fails_when_the_lease_loop_was_cancelled(world: World) -> None:
    """A loop that no longer runs is reported, with a clear message."""
    election, _ = world.candidate()
    check = factory_health(lock_election)
    assert check is not None
    async with election:
        assert election._task is not None
        election._task.cancel()
        await world.clock.advance_and_settle(0)
        with pytest.raises(RuntimeError, match="'cron': the lease loop was cancelled"):
            check.check(election)


class Crash(BaseException):
    """Escapes the loop's ``except Exception`` guard, as a bug in a dependency might."""


async def test_health_fails_when_the_lease_loop_crashed(world: World) -> None:
    """A loop that ended with an error names the error type."""
    election, lock = world.candidate()
    check = factory_health(lock_election)
    assert check is not None

    async def explode() -> object:
        raise Crash

    async with election:
        lock.extend = explode  # type: ignore[method-assign, assignment]
        await world.advance(E / 2)
        with pytest.raises(RuntimeError, match="'cron': the lease loop ended with Crash"):
            check.check(election)


async def test_health_fails_before_start_and_after_close(world: World) -> None:
    """Not started and closed are failures too."""
    election, _ = world.candidate()
    with pytest.raises(RuntimeError, match="not started"):
        election.ensure_running()
    async with election:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        election.ensure_running()


def test_every_kit_election_is_a_leader_election(world: World) -> None:
    """The protocol, resign and last_reason included, holds for the lock election."""
    election, _ = world.candidate()
    assert isinstance(election, LeaderElection)
    assert isinstance(ManualElection(), LeaderElection)


class TestExpiration:
    @pytest.mark.parametrize("value", [-1, 0, 0.001, 0.05, 0.0999, math.inf, math.nan, 1.0005])
    def test_every_bad_expiration_reads_the_same_rule(self, value: float) -> None:
        """One minimum (0.1 s) and one message, whatever the bad value."""
        with pytest.raises(ConfigError) as caught:
            LeaderConfig(name="x", expiration=value)
        assert caught.value.field == "expiration"
        assert "must be a number of seconds >= 0.1, in whole milliseconds" in str(caught.value)
        assert "0.001" not in str(caught.value).split("(got")[0]

    def test_the_minimum_itself_is_accepted(self) -> None:
        """0.1 s is a valid lease."""
        assert LeaderConfig(name="x", expiration=0.1).expiration == 0.1
