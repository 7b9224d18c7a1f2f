"""The election state machine, driven by a manual clock over in-memory locks."""

from __future__ import annotations

import asyncio

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.leader import LeaderConfig, LeaderEvent, LockElection
from service_pkg.testing import InMemoryLock

from .conftest import E, World, collect


async def test_first_candidate_is_leader_when_start_returns(world: World) -> None:
    """start() makes the first attempt: a lone candidate leads at once, with an epoch."""
    election, _ = world.candidate()
    await election.start()
    assert election.is_leader()
    assert election.epoch > 0
    assert world.store.holder("cron") is not None


async def test_second_candidate_follows(world: World) -> None:
    """Only one of two candidates leads."""
    a, _ = world.candidate()
    b, _ = world.candidate()
    await a.start()
    await b.start()
    assert a.is_leader()
    assert not b.is_leader()


async def test_renewals_keep_leadership_for_many_periods(world: World) -> None:
    """A healthy leader renews every period and never flaps."""
    a, lock = world.candidate()
    await a.start()
    await world.advance(10 * E)
    assert a.is_leader()
    assert a.stats.taken == 1
    assert a.stats.lost == 0
    assert lock.calls.count("extend") >= 25


async def test_period_follows_the_go_formula(world: World) -> None:
    """period = E/3 + U(0, E/10), drawn once."""
    a, _ = world.candidate()
    assert E / 3 <= a.period < E / 3 + E / 10


async def test_graceful_stop_hands_over_at_once_through_the_notification(world: World) -> None:
    """aclose() releases; the follower wakes on the notification, no time passes."""
    a, _ = world.candidate()
    b, _ = world.candidate(seed=2)
    await a.start()
    await b.start()
    old_epoch = a.epoch
    await world.clock.advance_and_settle(0)  # b is now waiting for the notification
    await a.aclose()
    await world.clock.advance_and_settle(0, rounds=20)
    assert b.is_leader()
    assert b.epoch > old_epoch


async def test_crashed_leader_is_replaced_within_one_expiration(world: World) -> None:
    """A leader that vanishes without releasing is replaced once its lease ends (≤ E)."""
    a, _ = world.candidate()
    b, _ = world.candidate(seed=2)
    await a.start()
    await b.start()
    assert a._task is not None
    a._task.cancel()  # the process died: no release, no more renewals
    await world.advance(E + 0.02)
    assert b.is_leader()


async def test_transient_errors_are_retried_and_not_a_loss(world: World) -> None:
    """Two failed renewals followed by a success keep leadership; failures are counted."""
    a, lock = world.candidate()
    await a.start()
    lock.fail_extend = 2
    await world.advance(2 * E)
    assert a.is_leader()
    assert a.stats.renew_failures == 2
    assert a.stats.lost == 0


async def test_unreachable_store_means_step_down_at_the_deadline(world: World) -> None:
    """If renewals keep failing, the leader steps down before its lease can end."""
    a, lock = world.candidate()
    events: list[LeaderEvent] = []
    task = asyncio.create_task(collect(a.events(), events))
    await a.start()
    lock.unreachable = True
    await world.advance(E)
    assert not a.is_leader()
    assert a.stats.step_downs == {"deadline": 1}
    assert events == [LeaderEvent.TAKEN, LeaderEvent.LOST]
    await a.aclose()
    await task


async def test_is_leader_turns_false_at_the_deadline_without_the_loop(world: World) -> None:
    """is_leader() reads the deadline, so a stalled loop cannot keep it true."""
    a, lock = world.candidate()
    await a.start()
    lock.hang_extend = True
    world.clock.advance(E)  # time passes, but no task gets to run
    assert not a.is_leader()


async def test_a_hanging_renewal_does_not_delay_the_step_down(world: World) -> None:
    """A call that never returns is abandoned at the deadline and LOST is emitted."""
    a, lock = world.candidate()
    await a.start()
    lock.hang_extend = True
    await world.advance(E)
    assert a.stats.step_downs == {"deadline": 1}


async def test_a_renewal_that_honours_its_cancel_late_does_not_delay_lost(world: World) -> None:
    """LOST is announced at the deadline even while the abandoned extend is still unwinding."""
    a, lock = world.candidate()
    events: list[LeaderEvent] = []
    task = asyncio.create_task(collect(a.events(), events))
    await a.start()
    lock.late_reply = asyncio.Event()
    await world.advance(E)
    assert events == [LeaderEvent.TAKEN, LeaderEvent.LOST]
    assert a.stats.step_downs == {"deadline": 1}
    lock.late_reply.set()
    await a.aclose()
    await task


async def test_not_owner_steps_down_at_once(world: World) -> None:
    """When another token holds the key, the leader steps down on its next renewal."""
    a, _ = world.candidate()
    thief = InMemoryLock("cron", ttl=E, store=world.store)
    await a.start()
    world.store.flush()
    assert (await thief.acquire()).acquired
    await world.advance(E / 2)
    assert not a.is_leader()
    assert a.stats.step_downs == {"not_owner": 1}


async def test_restart_grace_blocks_everyone_for_one_expiration(world: World) -> None:
    """After the store lost its data, nobody leads for one E, then someone does."""
    a, _ = world.candidate(restart_grace=True)
    b, _ = world.candidate(restart_grace=True, seed=2)
    await a.start()  # a fresh store: the grace applies to the very first round too
    await b.start()
    assert not a.is_leader()
    assert not b.is_leader()
    await world.advance(E + 0.1)
    leaders = [e for e in (a, b) if e.is_leader()]
    assert len(leaders) == 1
    first_epoch = leaders[0].epoch
    world.store.flush()  # Redis restarted empty
    await world.advance(E / 2 + 0.1)
    assert not any(e.is_leader() for e in (a, b))
    await world.advance(E + 0.1)
    new_leaders = [e for e in (a, b) if e.is_leader()]
    assert len(new_leaders) == 1
    assert new_leaders[0].epoch > first_epoch


async def test_never_two_leaders_at_any_instant(world: World) -> None:
    """Over crashes and flushes, at most one candidate believes it leads at any time."""
    candidates = [world.candidate(restart_grace=True, seed=s)[0] for s in range(3)]
    for election in candidates:
        await election.start()
    for round_ in range(30):
        await world.advance(0.25)
        assert sum(e.is_leader() for e in candidates) <= 1
        if round_ == 10:
            world.store.flush()
        if round_ == 20:
            leader = next((e for e in candidates if e.is_leader()), None)
            if leader is not None and leader._task is not None:
                leader._task.cancel()


async def test_events_alternate_and_end_with_lost_on_stop(world: World) -> None:
    """A subscriber sees TAKEN then LOST, and its iterator ends when the election stops."""
    a, _ = world.candidate()
    events: list[LeaderEvent] = []
    await a.start()
    task = asyncio.create_task(collect(a.events(), events))
    await world.clock.advance_and_settle(0)
    await a.aclose()
    await task
    assert events == [LeaderEvent.TAKEN, LeaderEvent.LOST]
    assert a.stats.step_downs == {"stop": 1}
    assert world.store.holder("cron") is None


async def test_stop_during_a_hanging_acquire_ends_cleanly(world: World) -> None:
    """Cancelling the loop in the middle of a call ends it and every iterator."""
    a, _ = world.candidate()
    b, lock_b = world.candidate(seed=2)
    await a.start()
    await b.start()
    lock_b.hang_acquire = True
    events: list[LeaderEvent] = []
    task = asyncio.create_task(collect(b.events(), events))
    await world.advance(E)
    await b.aclose()
    await task
    assert events == []
    assert "release" not in lock_b.calls


async def test_cancelled_start_releases_a_lock_whose_reply_was_lost(world: World) -> None:
    """An acquire applied by the store but cancelled before its reply leaves no orphan."""
    a, lock = world.candidate()
    lock.hang_after_acquire = True
    starting = asyncio.create_task(a.start())
    await world.clock.advance_and_settle(0)
    assert world.store.holder("cron") == lock.token
    starting.cancel()
    await asyncio.wait({starting})
    assert world.store.holder("cron") is None


async def test_stats_and_repr(world: World) -> None:
    """Counters and repr show the state."""
    a, _ = world.candidate()
    await a.start()
    assert a.stats.taken == 1
    assert a.stats.epoch == a.epoch
    assert "leader=True" in repr(a)


class TestConfig:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"name": ""}, "name"),
            ({"name": "x", "expiration": 0.05}, "expiration"),
            ({"name": "x", "expiration": 1.0005}, "expiration"),
            ({"name": "x", "expiration": 1.0, "guard": 0.5}, "guard"),
            ({"name": "x", "expiration": 1.0, "release_timeout": -1}, "release_timeout"),
        ],
    )
    def test_bad_values_name_the_field(self, kwargs: dict[str, object], field: str) -> None:
        """Each invalid field raises ConfigError naming it."""
        with pytest.raises(ConfigError) as caught:
            LeaderConfig(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_lock_ttl_must_match_expiration(self) -> None:
        """The lock's TTL is the lease: it must equal E."""
        with pytest.raises(ConfigError, match="ttl must equal"):
            LockElection(InMemoryLock("x", ttl=1), LeaderConfig(name="x", expiration=2))

    def test_defaults_are_the_go_ones(self) -> None:
        """E defaults to 30 s; guard E/10; release timeout E/3."""
        config = LeaderConfig(name="watchdog_cron")
        assert config.expiration == 30.0
        assert config.guard_s == 3.0
        assert config.release_timeout_s == 10.0
