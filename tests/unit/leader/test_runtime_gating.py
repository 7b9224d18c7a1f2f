"""A LockElection as the leader= of components, end to end in the Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import containers

from service_pkg import Application, Component, ShutdownReason
from service_pkg.leader import LeaderConfig, lock_election
from service_pkg.testing import InMemoryLock, LockStore, run_components
from tests.unit.app.conftest import settle

from .conftest import FaultyLock


def container_with(lock: FaultyLock, log: list[str]) -> containers.DeclarativeContainer:
    async def jobs(election: object) -> AsyncIterator[str]:
        log.append("jobs started")
        reason = yield "jobs"
        log.append(f"jobs stopped ({reason})")

    class Service(containers.DeclarativeContainer):
        election = Component(lock_election, lock, LeaderConfig(name="cron", expiration=1.0))
        jobs_ = Component(jobs, election, leader=election)

    return Service()


async def test_gated_group_stops_before_the_lock_is_released() -> None:
    """Shutdown order is stop the gated group → release the lock (→ notify followers)."""
    log: list[str] = []
    lock = FaultyLock(InMemoryLock("cron", ttl=1.0))
    original = lock.release

    async def release() -> object:
        log.append("lock released")
        return await original()

    lock.release = release  # type: ignore[method-assign, assignment]
    async with run_components(container_with(lock, log)):
        await settle(lambda: "jobs started" in log)
    assert log == ["jobs started", f"jobs stopped ({ShutdownReason.REQUESTED})", "lock released"]


async def test_follower_instance_runs_nothing_until_the_leader_leaves() -> None:
    """Two instances share a store: only the leader runs the job; handover at its stop."""
    store = LockStore()
    log_a: list[str] = []
    log_b: list[str] = []
    a = Application(
        container_with(FaultyLock(InMemoryLock("cron", ttl=1.0, store=store)), log_a),
        install_signals=False,
    )
    b = Application(
        container_with(FaultyLock(InMemoryLock("cron", ttl=1.0, store=store)), log_b),
        install_signals=False,
    )
    await a.start()
    await b.start()
    await settle(lambda: "jobs started" in log_a)
    assert log_b == []
    await a.stop()
    await settle(lambda: "jobs started" in log_b)
    await b.stop()
    assert log_a == ["jobs started", f"jobs stopped ({ShutdownReason.REQUESTED})"]
    assert log_b == ["jobs started", f"jobs stopped ({ShutdownReason.REQUESTED})"]
