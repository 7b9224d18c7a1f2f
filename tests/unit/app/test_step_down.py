"""A leader whose gated group fails to start resigns with a growing, capped hold-off."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from dependency_injector import containers, providers

from service_pkg import Application, Component
from service_pkg.health import HealthStatus
from service_pkg.testing import ManualClock, ManualElection, manual_election

from .conftest import settle


class Flaky:
    """A gated component factory that fails while ``failing`` is true."""

    def __init__(self) -> None:
        self.failing = True

    def factory(self) -> Callable[[], AsyncGenerator[str, object]]:
        async def jobs() -> AsyncGenerator[str, object]:
            if self.failing:
                raise ConnectionError("queue unreachable")
            yield "jobs"

        return jobs


def gated(flaky: Flaky, election: ManualElection) -> Any:
    class C(containers.DeclarativeContainer):
        vote = Component(manual_election, providers.Object(election))
        jobs = Component(flaky.factory(), leader=vote)

    return C()


async def fail_once(election: ManualElection, flaky: Flaky, clock: ManualClock) -> None:
    """Move past any hold-off, take leadership, and wait for the resignation."""
    resigned = len(election.resignations)
    clock.advance(max(0.0, election.hold_off_until - clock.monotonic()))
    election.take()
    await settle(lambda: len(election.resignations) > resigned)


def make_app(container: containers.Container, **kwargs: float) -> Application:
    return Application(container, install_signals=False, **kwargs)  # type: ignore[arg-type]


async def test_failed_gated_start_resigns_with_the_reason_and_the_base_hold_off() -> None:
    """The group is rolled back, and the election resigns ("gated_start_failed", 5 s)."""
    clock = ManualClock()
    election = ManualElection(clock=clock)
    flaky = Flaky()
    async with make_app(gated(flaky, election)):
        await settle(lambda: election.subscribers == 1)
        await fail_once(election, flaky, clock)
        resignation = election.resignations[0]
        assert (resignation.reason, resignation.hold_off, resignation.was_leader) == (
            "gated_start_failed",
            5.0,
            True,
        )
        assert (election.is_leader(), election.last_reason) == (
            False,
            "resigned:gated_start_failed",
        )


async def test_hold_off_doubles_on_each_failure_up_to_the_cap() -> None:
    """Consecutive failures hold off 1 s, 2 s, 4 s, then the 5 s cap."""
    clock = ManualClock()
    election = ManualElection(clock=clock)
    flaky = Flaky()
    async with make_app(gated(flaky, election), gated_backoff=1.0, gated_backoff_max=5.0):
        await settle(lambda: election.subscribers == 1)
        for _ in range(5):
            await fail_once(election, flaky, clock)
    assert [r.hold_off for r in election.resignations[:5]] == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_group_in_back_off_is_failed_without_affecting_readiness() -> None:
    """While in back-off the members are `failed` with the reason; the app stays ready."""
    clock = ManualClock()
    election = ManualElection(clock=clock)
    flaky = Flaky()
    app = make_app(gated(flaky, election))
    async with app:
        await settle(lambda: election.subscribers == 1)
        await fail_once(election, flaky, clock)
        report = await app.health()
    entry = report["jobs"]
    assert (entry.status, entry.affects_readiness, report.ready) == (
        HealthStatus.FAILED,
        False,
        True,
    )
    assert entry.error == ("jobs failed to start: queue unreachable; resigned, retrying in 5 s")


async def test_successful_start_resets_the_back_off_and_the_health_entry() -> None:
    """After a failure, a start that succeeds clears the failure: `ok`, next hold-off = base."""
    clock = ManualClock()
    election = ManualElection(clock=clock)
    flaky = Flaky()
    container = gated(flaky, election)
    app = make_app(container, gated_backoff=1.0, gated_backoff_max=8.0, health_max_age=0)
    async with app:
        await settle(lambda: election.subscribers == 1)
        await fail_once(election, flaky, clock)
        await fail_once(election, flaky, clock)
        flaky.failing = False
        clock.advance(election.hold_off_until - clock.monotonic())
        election.take()
        await settle(lambda: container.jobs.started)
        assert (await app.health())["jobs"].status is HealthStatus.OK
        election.lose()
        await settle(lambda: not container.jobs.started)
        flaky.failing = True
        await fail_once(election, flaky, clock)
    assert [r.hold_off for r in election.resignations] == [1.0, 2.0, 1.0]
