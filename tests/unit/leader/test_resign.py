"""resign(reason, hold_off=): step down, release, stay out; last_reason names each transition."""

from __future__ import annotations

import asyncio
import math

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.leader import LeaderEvent

from .conftest import E, World, collect


async def test_resigning_leader_emits_lost_and_releases_the_lock(world: World) -> None:
    """A leader that resigns emits LOST with its reason and frees the key."""
    a, _ = world.candidate()
    events: list[LeaderEvent] = []
    task = asyncio.create_task(collect(a.events(), events))
    await a.start()
    await a.resign("jobs failed to start", hold_off=E)
    await world.clock.advance_and_settle(0)
    assert events == [LeaderEvent.TAKEN, LeaderEvent.LOST]
    assert not a.is_leader()
    assert a.last_reason == "resigned:jobs failed to start"
    assert a.stats.step_downs == {"resigned": 1}
    assert world.store.holder("cron") is None
    await a.aclose()
    await task


async def test_a_follower_takes_over_at_once_when_the_leader_resigns(world: World) -> None:
    """The release notifies the follower: it leads with no time passing."""
    a, _ = world.candidate()
    b, _ = world.candidate(seed=2)
    await a.start()
    await b.start()
    await world.clock.advance_and_settle(0)  # b now waits for the release notification
    await a.resign("x", hold_off=10 * E)
    await world.clock.advance_and_settle(0, rounds=20)
    assert b.is_leader()
    assert b.epoch > a.epoch


async def test_no_acquisition_during_the_hold_off_even_when_the_key_is_free(world: World) -> None:
    """A lone candidate that resigned leaves the key free until its hold-off ends."""
    a, _ = world.candidate()
    await a.start()
    first = a.epoch
    await a.resign("x", hold_off=5 * E)
    await world.advance(5 * E - 0.1)
    assert not a.is_leader()
    assert world.store.holder("cron") is None
    await world.advance(0.2)
    assert a.is_leader()
    assert a.epoch > first
    assert a.last_reason == "acquired"


async def test_a_later_resign_extends_the_hold_off(world: World) -> None:
    """A second resign during the hold-off moves its end to the later deadline."""
    a, _ = world.candidate()
    await a.start()
    await a.resign("first", hold_off=2 * E)
    await world.advance(E)
    await a.resign("second", hold_off=3 * E)
    assert a.hold_off_until == pytest.approx(world.clock.monotonic() + 3 * E)
    await world.advance(3 * E - 0.1)
    assert not a.is_leader()
    await world.advance(0.2)
    assert a.is_leader()


async def test_a_shorter_later_resign_does_not_shorten_the_hold_off(world: World) -> None:
    """The later end wins: a short hold-off after a long one keeps the long one."""
    a, _ = world.candidate()
    await a.start()
    await a.resign("long", hold_off=4 * E)
    until = a.hold_off_until
    await a.resign("short", hold_off=0)
    assert a.hold_off_until == until


async def test_a_resigning_follower_only_holds_off(world: World) -> None:
    """A follower that resigns emits nothing and does not take over in its hold-off."""
    a, _ = world.candidate()
    b, _ = world.candidate(seed=2)
    await a.start()
    await b.start()
    events: list[LeaderEvent] = []
    task = asyncio.create_task(collect(b.events(), events))
    await b.resign("x", hold_off=2 * E)
    await a.aclose()
    await world.advance(2 * E - 0.1)
    assert not b.is_leader()
    await world.advance(0.2)
    assert b.is_leader()
    assert b.last_reason == "acquired"
    await b.aclose()
    await task
    assert events == [LeaderEvent.TAKEN, LeaderEvent.LOST]


async def test_resign_before_start_skips_the_first_round(world: World) -> None:
    """A hold-off set before start keeps start from acquiring."""
    a, _ = world.candidate()
    await a.resign("x", hold_off=E)
    await a.start()
    assert not a.is_leader()
    await world.advance(E + 0.1)
    assert a.is_leader()


async def test_resign_after_aclose_does_nothing(world: World) -> None:
    """A closed election ignores resign and keeps its last reason."""
    a, _ = world.candidate()
    await a.start()
    await a.aclose()
    await a.resign("x", hold_off=E)
    assert a.last_reason == "stop"
    assert a.hold_off_until == -math.inf


@pytest.mark.parametrize("hold_off", [-1, math.inf, math.nan, "5", True])
async def test_a_bad_hold_off_is_a_config_error(world: World, hold_off: object) -> None:
    """Negative, non-finite or non-number hold-offs raise ConfigError naming hold_off."""
    a, _ = world.candidate()
    with pytest.raises(ConfigError) as caught:
        await a.resign("x", hold_off=hold_off)  # type: ignore[arg-type]
    assert caught.value.field == "hold_off"


async def test_last_reason_is_none_before_the_first_transition(world: World) -> None:
    """Nothing happened yet: no reason."""
    a, _ = world.candidate()
    assert a.last_reason is None


async def test_last_reason_names_a_deadline_loss(world: World) -> None:
    """A leader cut off from the store reads 'deadline' after its LOST."""
    a, lock = world.candidate()
    await a.start()
    assert a.last_reason == "acquired"
    lock.unreachable = True
    await world.advance(E)
    assert a.last_reason == "deadline"


async def test_last_reason_is_set_when_the_lost_event_is_read(world: World) -> None:
    """A consumer reading LOST sees that loss's reason, not an older one."""
    a, _ = world.candidate()
    await a.start()
    events = a.events()
    assert await anext(events) is LeaderEvent.TAKEN
    await a.resign("why", hold_off=E)
    assert await anext(events) is LeaderEvent.LOST
    assert a.last_reason == "resigned:why"
