"""The lifecycle event stream: exact events in order, and subscribers that cannot hurt."""

from __future__ import annotations

import pytest
from dependency_injector import containers

from service_pkg import Application, Component, RunState, ShutdownReason
from service_pkg.events import (
    ApplicationStateChanged,
    ComponentStarted,
    ComponentStartFailed,
    ComponentStarting,
    ComponentStopFailed,
    ComponentStopped,
    ComponentStopping,
    DrainEnded,
    Event,
    EventBus,
    LeadershipChanged,
    ReadinessChanged,
    StartAborted,
)
from service_pkg.exceptions import StartError, StopError
from service_pkg.leader import LeaderEvent
from service_pkg.testing import ManualElection, manual_election

from .conftest import Recorder, settle


def describe(event: Event) -> tuple[object, ...]:  # noqa: C901, PLR0911 - one case per kind
    """The fields a test can compare exactly (no durations, no exception objects)."""
    match event:
        case ApplicationStateChanged(old=old, new=new, reason=reason):
            return ("state", old.value, new.value, reason)
        case ReadinessChanged(ready=ready, cause=cause):
            return ("ready", ready, cause)
        case ComponentStarting(component=c):
            return ("starting", c)
        case ComponentStarted(component=c):
            return ("started", c)
        case ComponentStartFailed(component=c, timed_out=t):
            return ("start failed", c, t)
        case ComponentStopping(component=c, reason=r):
            return ("stopping", c, r)
        case ComponentStopped(component=c, reason=r):
            return ("stopped", c, r)
        case ComponentStopFailed(component=c, timed_out=t):
            return ("stop failed", c, t)
        case StartAborted(component=c, rolled_back=rolled):
            return ("aborted", c, rolled)
        case DrainEnded(reason=r, delay=delay):
            return ("drain ended", r, delay)
        case LeadershipChanged(election=name, event=leader_event, epoch=epoch, reason=reason):
            return ("leadership", name, leader_event, epoch, reason)
    return (type(event).__name__,)


def record(app: Application) -> list[tuple[object, ...]]:
    seen: list[tuple[object, ...]] = []
    app.subscribe(lambda e: seen.append(describe(e)))
    return seen


REQ = ShutdownReason.REQUESTED
FAIL = ShutdownReason.START_FAILURE


async def test_full_start_and_stop_publish_every_step_in_order(rec: Recorder) -> None:
    """Start then stop of two components gives state, component and readiness events."""

    class C(containers.DeclarativeContainer):
        db = Component(rec.factory("db"), priority=1000)
        api = Component(rec.factory("api"), db, priority=100)

    app = Application(C(), install_signals=False)
    seen = record(app)
    async with app:
        pass
    assert seen == [
        ("state", "created", "starting", None),
        ("starting", "db"),
        ("started", "db"),
        ("starting", "api"),
        ("started", "api"),
        ("state", "starting", "running", None),
        ("ready", True, "started"),
        ("state", "running", "stopping", REQ),
        ("ready", False, "stopping"),
        ("drain ended", REQ, 0.0),
        ("stopping", "api", REQ),
        ("stopped", "api", REQ),
        ("stopping", "db", REQ),
        ("stopped", "db", REQ),
        ("state", "stopping", "stopped", REQ),
    ]


async def test_failed_start_publishes_the_rollback(rec: Recorder) -> None:
    """A failing start gives start failed, the rollback stops, then StartAborted and FAILED."""

    class C(containers.DeclarativeContainer):
        db = Component(rec.factory("db"), priority=1000)
        api = Component(rec.factory("api", fail_start=True), db, priority=100)

    app = Application(C(), install_signals=False)
    seen = record(app)
    with pytest.raises(StartError):
        await app.start()
    assert seen == [
        ("state", "created", "starting", None),
        ("starting", "db"),
        ("started", "db"),
        ("starting", "api"),
        ("start failed", "api", False),
        ("state", "starting", "stopping", FAIL),
        ("stopping", "db", FAIL),
        ("stopped", "db", FAIL),
        ("state", "stopping", "failed", FAIL),
        ("aborted", "api", ("db",)),
    ]


async def test_start_aborted_carries_the_root_cause(rec: Recorder) -> None:
    """StartAborted.error is the component's own exception, not the kit's wrapper."""

    class C(containers.DeclarativeContainer):
        api = Component(rec.factory("api", fail_start=True))

    app = Application(C(), install_signals=False)
    aborted: list[StartAborted] = []
    app.subscribe(lambda e: aborted.append(e) if isinstance(e, StartAborted) else None)
    with pytest.raises(StartError):
        await app.start()
    assert [repr(a.error) for a in aborted] == ["RuntimeError('api cannot start')"]


async def test_hung_stop_publishes_a_timed_out_stop_failure(rec: Recorder) -> None:
    """A stop past its timeout is ComponentStopFailed(timed_out=True); the next stop runs."""

    class C(containers.DeclarativeContainer):
        db = Component(rec.factory("db"), priority=1000)
        api = Component(rec.factory("api", hang_stop=True), db, priority=100, stop_timeout=0.01)

    app = Application(C(), install_signals=False)
    await app.start()
    seen = record(app)
    with pytest.raises(StopError):
        await app.stop()
    assert seen == [
        ("state", "running", "stopping", REQ),
        ("ready", False, "stopping"),
        ("drain ended", REQ, 0.0),
        ("stopping", "api", REQ),
        ("stop failed", "api", True),
        ("stopping", "db", REQ),
        ("stopped", "db", REQ),
        ("state", "stopping", "failed", REQ),
    ]


async def test_leadership_change_publishes_the_gated_group_steps(rec: Recorder) -> None:
    """The election's TAKEN, the group's start, its LOST and the group's stop, in order."""

    class C(containers.DeclarativeContainer):
        vote = Component(manual_election)
        jobs = Component(rec.factory("jobs"), leader=vote)

    container = C()
    app = Application(container, install_signals=False)
    async with app:
        election = container.vote()
        assert isinstance(election, ManualElection)
        await settle(lambda: election.subscribers == 1)
        seen = record(app)
        election.take()
        await settle(lambda: container.jobs.started)
        election.lose()
        await settle(lambda: not container.jobs.started)
        assert seen == [
            ("leadership", "manual", LeaderEvent.TAKEN, 1, "acquired"),
            ("starting", "jobs"),
            ("started", "jobs"),
            ("leadership", "manual", LeaderEvent.LOST, 1, "lost"),
            ("stopping", "jobs", ShutdownReason.LEADERSHIP_LOST),
            ("stopped", "jobs", ShutdownReason.LEADERSHIP_LOST),
        ]


async def test_raising_subscriber_changes_nothing_else(caplog: pytest.LogCaptureFixture) -> None:
    """With a subscriber that raises on every event, the lifecycle runs exactly as without."""

    def broken(_: Event) -> None:
        raise ValueError("observer bug")

    outcomes = []
    for subscribers in ((), (broken,)):
        rec = Recorder()

        class C(containers.DeclarativeContainer):
            db = Component(rec.factory("db"))

        app = Application(C(), install_signals=False)
        for fn in subscribers:
            app.subscribe(fn)
        seen = record(app)
        async with app:
            pass
        outcomes.append((app.state, rec.events, seen))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][0] is RunState.STOPPED
    assert any(r.getMessage() == "event subscriber failed" for r in caplog.records)


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    """After the handle is called the subscriber sees nothing; calling it twice is fine."""
    bus = EventBus()
    seen: list[Event] = []
    unsubscribe = bus.subscribe(seen.append)
    bus.emit(ComponentStarting(component="a"))
    unsubscribe()
    unsubscribe()
    bus.emit(ComponentStarting(component="b"))
    assert seen == [ComponentStarting(component="a")]


def test_subscription_by_kind_sees_only_those_kinds() -> None:
    """A subscriber naming kinds gets only events of those kinds; wants() reflects it."""
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append, ComponentStarted)
    bus.emit(ComponentStarting(component="a"))
    bus.emit(ComponentStarted(component="a", duration=0.0))
    assert (seen, bus.wants(ComponentStarted), bus.wants(ComponentStarting)) == (
        [ComponentStarted(component="a", duration=0.0)],
        True,
        False,
    )


def test_no_events_bus_refuses_subscribers() -> None:
    """The bus outside an application takes no subscriber and wants nothing."""
    from service_pkg.events import NO_EVENTS, current_events  # noqa: PLC0415

    with pytest.raises(RuntimeError, match="NO_EVENTS takes no subscribers"):
        NO_EVENTS.subscribe(print)
    assert (current_events() is NO_EVENTS, NO_EVENTS.wants(ComponentStarted)) == (True, False)


async def test_components_see_the_application_bus_while_they_start() -> None:
    """current_events() inside a factory is the bus of the application starting it."""
    from collections.abc import AsyncGenerator  # noqa: PLC0415

    from service_pkg.events import current_events  # noqa: PLC0415

    seen: list[EventBus] = []

    async def probe() -> AsyncGenerator[None, object]:
        seen.append(current_events())
        yield None

    class C(containers.DeclarativeContainer):
        p = Component(probe)

    app = Application(C(), install_signals=False)
    async with app:
        pass
    assert seen == [app.events]


def test_conditional_subscription_counts_only_while_its_condition_holds() -> None:
    """A `when=` subscriber is wanted and called only while when() is true."""
    bus = EventBus()
    on = {"value": False}
    seen: list[Event] = []
    bus.subscribe(seen.append, ComponentStarting, when=lambda: on["value"])
    assert not bus.wants(ComponentStarting)
    bus.emit(ComponentStarting(component="a"))
    on["value"] = True
    assert bus.wants(ComponentStarting)
    bus.emit(ComponentStarting(component="b"))
    assert seen == [ComponentStarting(component="b")]


async def test_lifecycle_log_builds_no_info_events_while_info_is_off(
    rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """With the app logger at WARNING and no subscriber, component start events are unwanted."""
    import logging  # noqa: PLC0415

    class C(containers.DeclarativeContainer):
        db = Component(rec.factory("db"))

    caplog.set_level(logging.WARNING, "service_pkg.app")
    app = Application(C(), install_signals=False)
    assert (app.events.wants(ComponentStarting), app.events.wants(ComponentStartFailed)) == (
        False,
        True,
    )
    caplog.set_level(logging.INFO, "service_pkg.app")
    assert app.events.wants(ComponentStarting)
