"""Leader-gated components follow their election's TAKEN / LOST events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component, Priority, ShutdownReason
from service_pkg.exceptions import PlanError, StartError
from service_pkg.leader import LeaderEvent
from service_pkg.testing import ManualElection, manual_election

from .conftest import Recorder, settle


def gated_container(rec: Recorder, **jobs_flags: bool) -> containers.DeclarativeContainer:
    class Gated(containers.DeclarativeContainer):
        db = Component(rec.factory("db"), priority=Priority.LOW)
        election = Component(manual_election, priority=Priority.MEDIUM)
        jobs = Component(rec.factory("jobs", **jobs_flags), db, leader=election)
        http = Component(rec.factory("http"), db, priority=Priority.HIGH)

    return Gated()


def slow_start_container(rec: Recorder, release: asyncio.Event) -> containers.DeclarativeContainer:
    """A gated `jobs` whose start waits for `release`."""

    async def slow_jobs() -> AsyncIterator[str]:
        rec.events.append("start jobs")
        await release.wait()
        yield "jobs"
        rec.events.append("stop jobs")

    class Slow(containers.DeclarativeContainer):
        election = Component(manual_election)
        jobs = Component(slow_jobs, leader=election)

    return Slow()


@pytest.fixture(name="container")
def _container(rec: Recorder) -> containers.DeclarativeContainer:
    return gated_container(rec)


async def subscribed(container: containers.DeclarativeContainer) -> ManualElection:
    """The container's manual election, once the application's supervisor listens to it."""
    election = election_of(container)
    await settle(lambda: election.subscribers == 1)
    return election


def election_of(container: containers.DeclarativeContainer) -> ManualElection:
    election = container.election()
    assert isinstance(election, ManualElection)
    return election


async def test_gated_component_waits_for_taken(
    rec: Recorder,
    container: containers.DeclarativeContainer,
) -> None:
    """Nothing gated starts while the election is a follower."""
    async with Application(container, install_signals=False):
        election = await subscribed(container)
        assert "start jobs" not in rec.events
        election.take()
        await settle(lambda: "start jobs" in rec.events)


async def test_gated_component_stops_on_lost_and_restarts_on_next_taken(
    rec: Recorder,
    container: containers.DeclarativeContainer,
) -> None:
    """LOST stops the group with LEADERSHIP_LOST; the next TAKEN starts it again."""
    async with Application(container, install_signals=False):
        election = await subscribed(container)
        election.take()
        await settle(lambda: rec.events.count("start jobs") == 1)
        election.lose()
        await settle(lambda: rec.events.count("stop jobs") == 1)
        assert rec.reasons["jobs"] is ShutdownReason.LEADERSHIP_LOST
        election.take()
        await settle(lambda: rec.events.count("start jobs") == 2)


async def test_gated_group_stops_before_always_on_components_at_shutdown(
    rec: Recorder,
    container: containers.DeclarativeContainer,
) -> None:
    """At shutdown the gated group stops first, whatever the priorities say."""
    async with Application(container, install_signals=False):
        election = await subscribed(container)
        election.take()
        await settle(lambda: "start jobs" in rec.events)
    assert rec.of("stop") == ["jobs", "http", "db"]
    assert rec.reasons["jobs"] is ShutdownReason.REQUESTED


async def test_lost_during_start_is_honoured_right_after(rec: Recorder) -> None:
    """A LOST that arrives while the group starts stops it as soon as the start ends."""
    release = asyncio.Event()
    container = slow_start_container(rec, release)
    async with Application(container, install_signals=False):
        election = await subscribed(container)
        election.take()
        await settle(lambda: "start jobs" in rec.events)
        election.lose()
        release.set()
        await settle(lambda: "stop jobs" in rec.events)
        assert not election.is_leader()


async def test_duplicate_events_do_nothing(
    rec: Recorder,
    container: containers.DeclarativeContainer,
) -> None:
    """A repeated TAKEN or LOST is ignored: one start, one stop."""
    async with Application(container, install_signals=False):
        election = await subscribed(container)
        election.take()
        election.emit(LeaderEvent.TAKEN)
        await settle(lambda: "start jobs" in rec.events)
        election.lose()
        election.emit(LeaderEvent.LOST)
        await settle(lambda: "stop jobs" in rec.events)
        await asyncio.sleep(0.01)
    assert rec.events.count("start jobs") == 1
    assert rec.events.count("stop jobs") == 1


async def test_failed_gated_start_rolls_back_and_keeps_the_app_running(rec: Recorder) -> None:
    """A gated component that fails to start leaves the group stopped; the app runs on."""

    class Failing(containers.DeclarativeContainer):
        election = Component(manual_election)
        queue = Component(rec.factory("queue"))
        jobs = Component(rec.factory("jobs", fail_start=True), queue, leader=election)

    container = Failing()
    app = Application(container, install_signals=False)
    async with app:
        election = await subscribed(container)
        election.take()
        await settle(lambda: "stop queue" in rec.events)
        assert app.readiness.is_ready()
    assert rec.reasons["queue"] is ShutdownReason.START_FAILURE


async def test_election_iterator_ending_stops_the_group(
    rec: Recorder,
    container: containers.DeclarativeContainer,
) -> None:
    """When the election's events() ends, leadership can't be vouched for: the group stops."""
    async with Application(container, install_signals=False):
        election = await subscribed(container)
        election.take()
        await settle(lambda: "start jobs" in rec.events)
        election.close()
        await settle(lambda: "stop jobs" in rec.events)
    assert rec.reasons["jobs"] is ShutdownReason.LEADERSHIP_LOST


async def test_shutdown_waits_for_a_gated_start_in_progress(rec: Recorder) -> None:
    """Stopping while the group starts lets that start finish, then stops the group."""
    release = asyncio.Event()
    container = slow_start_container(rec, release)
    app = Application(container, install_signals=False)
    await app.start()
    election = await subscribed(container)
    election.take()
    await settle(lambda: "start jobs" in rec.events)
    stopping = asyncio.create_task(app.stop())
    await asyncio.sleep(0)
    release.set()
    await stopping
    assert rec.events == ["start jobs", "stop jobs"]


async def test_leader_must_be_an_election_component(rec: Recorder) -> None:
    """leader= pointing at a non-component provider is a PlanError."""

    class Wrong(containers.DeclarativeContainer):
        election = providers.Object("not an election")
        jobs = Component(rec.factory("jobs"), leader=election)

    with pytest.raises(PlanError, match="must be an election component"):
        _ = Application(Wrong(), install_signals=False).plan


async def test_leader_value_must_be_a_leader_election(rec: Recorder) -> None:
    """An election component whose value is not a LeaderElection fails the start."""

    async def opaque_election() -> AsyncIterator[Any]:  # Any: only the start can tell
        rec.events.append("start election")
        yield "not an election"
        rec.events.append("stop election")

    class Wrong(containers.DeclarativeContainer):
        election = Component(opaque_election)
        jobs = Component(rec.factory("jobs"), leader=election)

    with pytest.raises(StartError, match="must yield a LeaderElection"):
        await Application(Wrong(), install_signals=False).start()
    assert rec.events == ["start election", "stop election"]


async def test_always_on_component_using_a_gated_one_is_a_plan_error(rec: Recorder) -> None:
    """An always-on component may not depend on a leader-gated one."""

    class Wrong(containers.DeclarativeContainer):
        election = Component(manual_election)
        jobs = Component(rec.factory("jobs"), leader=election)
        http = Component(rec.factory("http"), jobs)

    with pytest.raises(PlanError, match=r"http \(always-on\) depends on jobs"):
        _ = Application(Wrong(), install_signals=False).plan


async def test_plain_go_numbers_are_understood(rec: Recorder) -> None:
    """An election yielding the ints 2 and 1 (the Go constants) drives the group too."""

    class IntElection:
        def __init__(self) -> None:
            self.queue: asyncio.Queue[int] = asyncio.Queue()

        async def events(self) -> AsyncIterator[int]:
            while True:
                yield await self.queue.get()

        def is_leader(self) -> bool:
            return False

        @property
        def epoch(self) -> int:
            return 0

        @property
        def last_reason(self) -> str | None:
            return None

        async def resign(self, reason: str, *, hold_off: float) -> None:
            pass

    election = IntElection()

    class Ints(containers.DeclarativeContainer):
        leader = Component(manual_election)
        jobs = Component(rec.factory("jobs"), leader=leader)

    container = Ints()
    container.leader.override(providers.Object(election))
    async with Application(container, install_signals=False):
        election.queue.put_nowait(2)
        await settle(lambda: "start jobs" in rec.events)
        election.queue.put_nowait(1)
        await settle(lambda: "stop jobs" in rec.events)
