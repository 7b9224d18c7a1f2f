"""What an election publishes on the event bus, and how it logs its losses."""

from __future__ import annotations

import logging

import pytest

from service_pkg.events import ElectionRenewed, LeadershipChanged, RenewOutcome
from service_pkg.leader import LeaderEvent
from service_pkg.testing import InMemoryLock

from .conftest import E, Recorded, World

TAKEN = LeaderEvent.TAKEN
LOST = LeaderEvent.LOST


def changed(event: LeaderEvent, epoch: int, reason: str) -> LeadershipChanged:
    return LeadershipChanged(election="cron", event=event, epoch=epoch, reason=reason)


async def test_a_take_publishes_leadership_changed(world: World) -> None:
    """The first round's acquisition is one LeadershipChanged(TAKEN, acquired)."""
    rec = Recorded()
    a, _ = world.candidate(events=rec.bus)
    await a.start()
    assert rec.events == [changed(TAKEN, a.epoch, "acquired")]


async def test_a_renewal_publishes_its_outcome_latency_and_margin(world: World) -> None:
    """A renewal one period after the take reports extended, its latency and the margin left."""
    rec = Recorded()
    a, _ = world.candidate(events=rec.bus)
    await a.start()
    await world.clock.wait_for_sleepers()
    await world.clock.advance_and_settle(a.period, rounds=20)
    assert rec.events[0] == changed(TAKEN, a.epoch, "acquired")
    renewed = rec.events[1]
    assert isinstance(renewed, ElectionRenewed)
    assert (renewed.election, renewed.outcome, renewed.latency) == (
        "cron",
        RenewOutcome.EXTENDED,
        0.0,
    )
    margin = E * 0.01 + 0.002 + a.config.guard_s
    assert renewed.margin == pytest.approx(E - margin - a.period)
    assert len(rec.events) == 2


async def test_a_lost_lease_publishes_not_owner_then_lost(world: World) -> None:
    """Another holder's key: the renewal says not_owner, then LOST(not_owner)."""
    rec = Recorded()
    a, _ = world.candidate(events=rec.bus)
    thief = InMemoryLock("cron", ttl=E, store=world.store)
    await a.start()
    world.store.flush()
    assert (await thief.acquire()).acquired
    await world.clock.wait_for_sleepers()
    await world.clock.advance_and_settle(a.period, rounds=20)
    assert [type(e) for e in rec.events] == [LeadershipChanged, ElectionRenewed, LeadershipChanged]
    renewed = rec.events[1]
    assert isinstance(renewed, ElectionRenewed)
    assert renewed.outcome is RenewOutcome.NOT_OWNER
    assert rec.events[2] == changed(LOST, a.epoch, "not_owner")


async def test_a_failed_renewal_is_published_as_failed(world: World) -> None:
    """A store error on renew is an ElectionRenewed(failed); leadership stays."""
    rec = Recorded()
    a, lock = world.candidate(events=rec.bus)
    await a.start()
    lock.fail_extend = 1
    await world.clock.wait_for_sleepers()
    await world.clock.advance_and_settle(a.period, rounds=20)
    outcomes = [e.outcome for e in rec.events if isinstance(e, ElectionRenewed)]
    assert outcomes == [RenewOutcome.FAILED]
    assert a.is_leader()


async def test_a_hanging_renewal_is_published_as_timed_out_then_lost(world: World) -> None:
    """A renewal cut off at the deadline reports timed_out, then LOST(deadline)."""
    rec = Recorded()
    a, lock = world.candidate(events=rec.bus)
    await a.start()
    epoch = a.epoch
    lock.hang_extend = True
    await world.advance(E)
    assert [e.outcome for e in rec.events if isinstance(e, ElectionRenewed)] == [
        RenewOutcome.TIMED_OUT,
    ]
    assert rec.events[2] == changed(LOST, epoch, "deadline")


async def test_a_handover_publishes_each_side_in_order(world: World) -> None:
    """Leader A resigns, follower B takes over: A's and B's events, exactly."""
    rec_a, rec_b = Recorded(), Recorded()
    a, _ = world.candidate(events=rec_a.bus)
    b, _ = world.candidate(seed=2, events=rec_b.bus)
    await a.start()
    await b.start()
    await world.clock.advance_and_settle(0)
    await a.resign("group failed", hold_off=E)
    await world.clock.advance_and_settle(0, rounds=20)
    assert rec_a.events == [
        changed(TAKEN, a.epoch, "acquired"),
        changed(LOST, a.epoch, "resigned:group failed"),
    ]
    assert rec_b.events == [changed(TAKEN, b.epoch, "acquired")]


async def test_stop_publishes_lost_with_reason_stop(world: World) -> None:
    """aclose() of a leader ends with LeadershipChanged(LOST, stop)."""
    rec = Recorded()
    a, _ = world.candidate(events=rec.bus)
    await a.start()
    await a.aclose()
    assert rec.events == [changed(TAKEN, a.epoch, "acquired"), changed(LOST, a.epoch, "stop")]


def lost_levels(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [
        (r.levelno, r.__dict__["reason"]) for r in caplog.records if r.message == "leadership lost"
    ]


async def test_a_graceful_stop_logs_the_loss_at_info(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Losing leadership because of stop is expected: INFO, not WARNING."""
    caplog.set_level(logging.INFO, "service_pkg.leader")
    a, _ = world.candidate()
    await a.start()
    await a.aclose()
    assert lost_levels(caplog) == [(logging.INFO, "stop")]


async def test_a_resign_logs_the_loss_at_info_with_its_reason(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A deliberate resign is INFO and carries the reason."""
    caplog.set_level(logging.INFO, "service_pkg.leader")
    a, _ = world.candidate()
    await a.start()
    await a.resign("group failed", hold_off=E)
    assert lost_levels(caplog) == [(logging.INFO, "resigned:group failed")]


async def test_a_deadline_loss_logs_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Losing leadership to a fault stays a WARNING."""
    caplog.set_level(logging.INFO, "service_pkg.leader")
    a, lock = world.candidate()
    await a.start()
    lock.unreachable = True
    await world.advance(E)
    assert lost_levels(caplog) == [(logging.WARNING, "deadline")]
