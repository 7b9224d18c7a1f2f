"""The election's answers to a lock that counts replicas or sees a master change (issue 10)."""

from __future__ import annotations

import asyncio

from service_pkg.events import ElectionRenewed, RenewOutcome
from service_pkg.leader import LeaderEvent, LockElection
from service_pkg.lock import ExtendResult

from .conftest import E, FaultyLock, Recorded, World, collect


async def test_an_unconfirmed_renewal_does_not_move_the_deadline(world: World) -> None:
    """Renewals too few replicas confirmed are failures: the leader steps down at E."""
    a, lock = world.candidate()
    await a.start()
    lock.forced_extend = ExtendResult.UNCONFIRMED
    lock.unconfirmed = True  # the replicas are gone for the acquire attempts too
    await world.advance(E * 0.8)
    assert a.is_leader()  # the deadline of the last confirmed renewal has not passed
    await world.advance(E * 0.2)
    assert not a.is_leader()
    assert a.stats.step_downs == {"deadline": 1}
    assert a.stats.renew_failures >= 2


async def test_an_unconfirmed_renewal_is_published_as_unconfirmed() -> None:
    """ElectionRenewed says UNCONFIRMED for a renewal the replicas did not confirm."""
    world = World()
    recorded = Recorded()
    a, lock = world.candidate(events=recorded.bus)
    try:
        await a.start()
        lock.forced_extend = ExtendResult.UNCONFIRMED
        await world.advance(E / 2)
        outcomes = [e.outcome for e in recorded.events if isinstance(e, ElectionRenewed)]
        assert RenewOutcome.UNCONFIRMED in outcomes
        assert RenewOutcome.EXTENDED not in outcomes
    finally:
        await world.aclose()


async def test_confirmed_renewals_after_unconfirmed_ones_keep_the_lead(world: World) -> None:
    """One unconfirmed renewal is retried at E/10; a confirmed retry keeps leadership."""
    a, lock = world.candidate()
    await a.start()
    lock.forced_extend = ExtendResult.UNCONFIRMED
    await world.advance(a.period + 0.01)
    lock.forced_extend = None
    await world.advance(E)
    assert a.is_leader()
    assert a.stats.lost == 0


async def test_a_master_change_steps_down_at_once(world: World) -> None:
    """MASTER_CHANGED on a renewal: LOST at once, reason master_changed."""
    a, lock = world.candidate()
    events: list[LeaderEvent] = []
    task = asyncio.create_task(collect(a.events(), events))
    await a.start()
    lock.forced_extend = ExtendResult.MASTER_CHANGED
    await world.advance(a.period + 0.01)
    assert a.stats.step_downs == {"master_changed": 1}
    await a.aclose()
    await task
    assert events[:2] == [LeaderEvent.TAKEN, LeaderEvent.LOST]


async def test_a_master_change_is_published_as_master_changed() -> None:
    """ElectionRenewed says MASTER_CHANGED for the renewal that found a new master."""
    world = World()
    recorded = Recorded()
    a, lock = world.candidate(events=recorded.bus)
    try:
        await a.start()
        lock.forced_extend = ExtendResult.MASTER_CHANGED
        await world.advance(a.period + 0.01)
        outcomes = [e.outcome for e in recorded.events if isinstance(e, ElectionRenewed)]
        assert outcomes[-1] is RenewOutcome.MASTER_CHANGED
    finally:
        await world.aclose()


async def test_an_unconfirmed_acquisition_does_not_lead(world: World) -> None:
    """UNCONFIRMED from acquire: not leader; retried, and leads once confirmed."""
    a, lock = world.candidate()
    lock.unconfirmed = True
    await a.start()
    assert not a.is_leader()
    lock.unconfirmed = False
    await world.advance(E / 5)
    assert a.is_leader()


async def step_down_then_lead_again(world: World, a: LockElection, lock: FaultyLock) -> None:
    """Unconfirmed renewals until the deadline (the key stays ours), then confirmed ones."""
    lock.forced_extend = ExtendResult.UNCONFIRMED
    await world.advance(E)
    assert a.stats.step_downs == {"deadline": 1}
    lock.forced_extend = None
    await world.advance(E / 2)
    assert a.is_leader()
    assert a.stats.taken == 2


async def test_a_term_taken_again_after_a_step_down_gets_a_new_epoch(world: World) -> None:
    """A leader that stepped down while the key was still its own leads again, newer epoch.

    Unconfirmed renewals keep the key on the master but not the lease: after the deadline
    the key still holds our token, and renewing it would start a new term under the old
    epoch (seen on a Sentinel topology while a replica re-synced).
    """
    a, lock = world.candidate()
    await a.start()
    first = a.epoch
    await step_down_then_lead_again(world, a, lock)
    assert a.epoch > first


async def test_a_lock_without_epochs_still_leads_again_after_a_step_down(world: World) -> None:
    """Epoch 0 on every acquisition: the re-take releases once, then leads on a fresh take."""
    a, lock = world.candidate()
    lock.no_epochs = True
    await a.start()
    await step_down_then_lead_again(world, a, lock)
