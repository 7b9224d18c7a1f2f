"""The public test doubles behave as documented (the kit's own tests rely on them)."""

from __future__ import annotations

import asyncio

import pytest
from dependency_injector import containers

from service_pkg import Component, RunState
from service_pkg.clock import Clock, SystemClock
from service_pkg.events import Event, EventBus, LeadershipChanged
from service_pkg.exceptions import ConfigError
from service_pkg.leader import LeaderElection, LeaderEvent, StandaloneElection
from service_pkg.testing import (
    ManualClock,
    ManualElection,
    Resignation,
    manual_election,
    run_components,
)
from tests.unit.app.conftest import Recorder


class TestManualClock:
    def test_is_a_clock(self) -> None:
        """ManualClock and SystemClock satisfy the Clock protocol."""
        assert isinstance(ManualClock(), Clock)
        assert isinstance(SystemClock(), Clock)

    async def test_sleep_returns_only_when_time_is_advanced_far_enough(self) -> None:
        """A sleeper wakes when advance() reaches its deadline, not before."""
        clock = ManualClock(start=10)
        sleeper = asyncio.create_task(clock.sleep(5))
        await asyncio.sleep(0)
        assert clock.sleepers == 1
        await clock.advance_and_settle(4.9)
        assert not sleeper.done()
        await clock.advance_and_settle(0.1)
        assert sleeper.done()
        assert clock.monotonic() == 15

    async def test_sleepers_wake_in_deadline_order(self) -> None:
        """Earlier deadlines wake first."""
        clock = ManualClock()
        woke: list[int] = []

        async def sleep(d: int) -> None:
            await clock.sleep(d)
            woke.append(d)

        tasks = [asyncio.create_task(sleep(d)) for d in (3, 1, 2)]
        await asyncio.sleep(0)
        await clock.advance_and_settle(3)
        await asyncio.gather(*tasks)
        assert woke == [1, 2, 3]

    async def test_wait_for_sleepers_returns_once_a_task_sleeps(self) -> None:
        """wait_for_sleepers() lets a test advance only after the loop under test sleeps."""
        clock = ManualClock()
        sleeper = asyncio.create_task(clock.sleep(1))
        await clock.wait_for_sleepers()
        assert clock.sleepers == 1
        await clock.advance_and_settle(1)
        assert sleeper.done()

    def test_time_never_goes_back(self) -> None:
        """advance() refuses negative steps."""
        with pytest.raises(ValueError, match="does not go back"):
            ManualClock().advance(-1)


class TestManualElection:
    def test_is_a_leader_election(self) -> None:
        """ManualElection and StandaloneElection satisfy the protocol."""
        assert isinstance(ManualElection(), LeaderElection)
        assert isinstance(StandaloneElection(), LeaderElection)

    async def test_events_alternate_and_epoch_grows_with_each_take(self) -> None:
        """take/lose/take yields TAKEN, LOST, TAKEN with epochs 1 then 2."""
        election = ManualElection()
        events = election.events()
        election.take()
        assert await anext(events) is LeaderEvent.TAKEN
        assert election.epoch == 1
        election.lose()
        election.lose()
        assert await anext(events) is LeaderEvent.LOST
        election.take()
        assert await anext(events) is LeaderEvent.TAKEN
        assert election.epoch == 2

    async def test_new_iterator_starts_with_taken_when_already_leader(self) -> None:
        """A consumer that subscribes late still learns it is leader."""
        election = ManualElection(leader=True)
        assert await anext(election.events()) is LeaderEvent.TAKEN

    async def test_close_emits_lost_then_ends_iterators(self) -> None:
        """close() ends every iterator after a final LOST."""
        election = ManualElection(leader=True)
        seen = []

        async def consume() -> None:
            seen.extend([e async for e in election.events()])

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        election.close()
        await task
        assert seen == [LeaderEvent.TAKEN, LeaderEvent.LOST]
        assert election.subscribers == 0

    async def test_resign_as_leader_loses_with_its_reason_and_is_recorded(self) -> None:
        """resign() emits LOST, sets last_reason and records the call and its hold-off."""
        clock = ManualClock(start=100)
        election = ManualElection(leader=True, clock=clock)
        events = election.events()
        assert await anext(events) is LeaderEvent.TAKEN
        await election.resign("group failed", hold_off=5)
        assert await anext(events) is LeaderEvent.LOST
        assert election.last_reason == "resigned:group failed"
        assert election.hold_off_until == 105
        assert election.resignations == (
            Resignation(reason="group failed", hold_off=5.0, was_leader=True, at=100.0),
        )

    async def test_take_during_a_hold_off_refuses_as_a_real_election_would(self) -> None:
        """take() in a hold-off raises; once the clock has passed it, take() works."""
        clock = ManualClock()
        election = ManualElection(leader=True, clock=clock)
        await election.resign("x", hold_off=2)
        with pytest.raises(RuntimeError, match="held off for another 2 s"):
            election.take()
        clock.advance(2)
        election.take()
        assert election.is_leader()
        assert election.epoch == 2

    async def test_resign_as_follower_only_records_the_hold_off(self) -> None:
        """A follower's resign emits nothing and still holds take() off."""
        clock = ManualClock()
        election = ManualElection(clock=clock)
        await election.resign("x", hold_off=1)
        assert election.last_reason is None
        assert election.resignations[0].was_leader is False
        with pytest.raises(RuntimeError, match="held off"):
            election.take()

    async def test_a_bad_hold_off_is_a_config_error(self) -> None:
        """A negative hold-off raises ConfigError naming hold_off."""
        with pytest.raises(ConfigError) as caught:
            await ManualElection().resign("x", hold_off=-1)
        assert caught.value.field == "hold_off"

    async def test_transitions_are_published_on_its_bus(self) -> None:
        """take, resign and close each publish a LeadershipChanged, in order."""
        bus = EventBus()
        seen: list[Event] = []
        bus.subscribe(seen.append)
        election = ManualElection(name="cron", events=bus)
        election.take()
        await election.resign("x", hold_off=0)
        election.take()
        await election.aclose()
        assert seen == [
            LeadershipChanged(election="cron", event=LeaderEvent.TAKEN, epoch=1, reason="acquired"),
            LeadershipChanged(
                election="cron", event=LeaderEvent.LOST, epoch=1, reason="resigned:x"
            ),
            LeadershipChanged(election="cron", event=LeaderEvent.TAKEN, epoch=2, reason="acquired"),
            LeadershipChanged(election="cron", event=LeaderEvent.LOST, epoch=2, reason="stop"),
        ]

    async def test_the_component_closes_the_election_at_stop(self) -> None:
        """Component(manual_election) is entered as is and closed by its stop."""

        class C(containers.DeclarativeContainer):
            election = Component(manual_election)

        container = C()
        async with run_components(container, "election"):
            election = container.election()
            assert isinstance(election, ManualElection)
            election.ensure_running()
        assert election.closed
        with pytest.raises(RuntimeError, match="closed"):
            election.ensure_running()


class TestStandaloneElection:
    async def test_leader_while_open(self) -> None:
        """async with takes leadership (epoch 1); aclose() emits LOST and ends the iterator."""
        election = StandaloneElection()
        async with election:
            events = election.events()
            assert await anext(events) is LeaderEvent.TAKEN
            assert election.is_leader()
            assert election.epoch == 1
        assert await anext(events) is LeaderEvent.LOST
        with pytest.raises(StopAsyncIteration):
            await anext(events)
        assert election.last_reason == "stop"

    async def test_resign_loses_then_leads_again_with_a_new_epoch_after_the_hold_off(
        self,
    ) -> None:
        """resign() gives LOST at once and TAKEN (epoch 2) once the hold-off has passed."""
        clock = ManualClock()
        async with StandaloneElection(clock=clock) as election:
            events = election.events()
            assert await anext(events) is LeaderEvent.TAKEN
            await election.resign("group failed", hold_off=5)
            assert await anext(events) is LeaderEvent.LOST
            assert election.last_reason == "resigned:group failed"
            await clock.advance_and_settle(4.9)
            assert not election.is_leader()
            await clock.advance_and_settle(0.1)
            assert await anext(events) is LeaderEvent.TAKEN
            assert election.epoch == 2
            assert election.last_reason == "acquired"

    async def test_a_later_resign_extends_the_hold_off(self) -> None:
        """A second resign during the hold-off moves the retake to its own end."""
        clock = ManualClock()
        async with StandaloneElection(clock=clock) as election:
            await election.resign("first", hold_off=2)
            await clock.advance_and_settle(1)
            await election.resign("second", hold_off=3)
            await clock.advance_and_settle(2.5)
            assert not election.is_leader()
            await clock.advance_and_settle(0.5)
            assert election.is_leader()

    async def test_aclose_during_a_hold_off_ends_cleanly(self) -> None:
        """Closing while held off ends the retake task; no TAKEN follows."""
        clock = ManualClock()
        election = StandaloneElection(clock=clock)
        async with election:
            await election.resign("x", hold_off=1)
        await clock.advance_and_settle(2)
        assert not election.is_leader()
        assert election.epoch == 1

    async def test_enters_once(self) -> None:
        """A closed election refuses a second async with."""
        election = StandaloneElection()
        async with election:
            pass
        with pytest.raises(RuntimeError, match="entered once"):
            await election.__aenter__()

    async def test_transitions_are_published_on_its_bus(self) -> None:
        """Enter, resign, retake and close each publish a LeadershipChanged."""
        bus = EventBus()
        seen: list[Event] = []
        bus.subscribe(seen.append)
        clock = ManualClock()
        async with StandaloneElection(name="solo", clock=clock, events=bus) as election:
            await election.resign("x", hold_off=1)
            await clock.advance_and_settle(1)
        assert [(e.event, e.epoch, e.reason) for e in seen if isinstance(e, LeadershipChanged)] == [
            (LeaderEvent.TAKEN, 1, "acquired"),
            (LeaderEvent.LOST, 1, "resigned:x"),
            (LeaderEvent.TAKEN, 2, "acquired"),
            (LeaderEvent.LOST, 2, "stop"),
        ]

    async def test_health_passes_while_open_only(self) -> None:
        """The default check passes while entered and fails before and after."""
        election = StandaloneElection()
        with pytest.raises(RuntimeError, match="not started"):
            election.ensure_running()
        async with election:
            election.ensure_running()
        with pytest.raises(RuntimeError, match="closed"):
            election.ensure_running()


class TestRunComponents:
    def container(self, rec: Recorder) -> containers.DeclarativeContainer:
        class C(containers.DeclarativeContainer):
            redis = Component(rec.factory("redis"))
            db = Component(rec.factory("db"), redis)
            http = Component(rec.factory("http"), db)
            other = Component(rec.factory("other"))

        return C()

    async def test_starts_only_the_subgraph_the_named_components_need(self) -> None:
        """run_components(c, 'db') starts redis and db only, and stops them."""
        rec = Recorder()
        async with run_components(self.container(rec), "db") as app:
            assert rec.of("start") == ["redis", "db"]
            assert app.state is RunState.RUNNING
        assert rec.of("stop") == ["db", "redis"]

    async def test_always_stops_when_the_body_raises(self) -> None:
        """The stop runs even when the test body fails."""
        rec = Recorder()
        with pytest.raises(LookupError):
            async with run_components(self.container(rec), "http"):
                raise LookupError
        assert rec.of("stop") == ["http", "db", "redis"]

    async def test_unknown_name_is_a_config_error(self) -> None:
        """Naming a component the container lacks fails before anything starts."""
        rec = Recorder()
        with pytest.raises(ValueError, match="ghost"):
            async with run_components(self.container(rec), "ghost"):
                pass
        assert rec.events == []
