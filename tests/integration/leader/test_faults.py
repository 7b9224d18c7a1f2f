"""Safety of the Redis election under faults: three candidate processes per scenario.

Each candidate acts every 10 ms only while ``is_leader()``; the tests assert safety (no action
under an old epoch after a newer epoch began elsewhere), not timing. E is 1 s to keep the
suite short; the failover benchmark measures timings at E = 3 s.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Callable, Iterator

import pytest
import redis.asyncio as aioredis

from service_pkg.leader import LeaderConfig, LeaderEvent, LockElection
from service_pkg.lock import RedisLock, RedisLockConfig
from tests.integration.redis_server import RedisServer, redis_server_fixture, wait_until  # noqa: F401

from .harness import Candidate, leader_of, stale_actions, transitions

pytestmark = pytest.mark.integration

E = 1.0
Trio = Callable[..., list[Candidate]]


@pytest.fixture(name="trio")
def _trio(redis_server: RedisServer) -> Iterator[Trio]:
    started: list[Candidate] = []

    def trio(*, grace: bool = True, stall: float = 0.0) -> list[Candidate]:
        group = [Candidate(redis_server.port, E, grace=grace, stall=stall) for _ in range(3)]
        started.extend(group)
        wait_until(lambda: all(c.events("ready") for c in group), 20, "three ready candidates")
        wait_until(lambda: leader_of(group) is not None, 10 * E, "a first leader")
        return group

    yield trio
    for candidate in started:
        candidate.close()


def new_leader(group: list[Candidate], old: Candidate) -> Candidate | None:
    leader = leader_of(group)
    return leader if leader is not None and leader is not old else None


def test_s1_killed_leader_is_replaced_without_stale_actions(trio: Trio) -> None:
    """S1: SIGKILL of the leader → another candidate takes over; 0 stale actions."""
    group = trio()
    old = leader_of(group)
    assert old is not None
    old.send(signal.SIGKILL)
    wait_until(lambda: new_leader(group, old) is not None, 5 * E, "a new leader")
    assert stale_actions(group) == []


def test_s2_sigterm_hands_over_after_the_gated_group_stopped(trio: Trio) -> None:
    """S2: SIGTERM → the old leader stops acting before the new one takes over."""
    group = trio()
    old = leader_of(group)
    assert old is not None
    old.send(signal.SIGTERM)
    assert old.wait_exit() == 0
    wait_until(lambda: new_leader(group, old) is not None, 5 * E, "a new leader")
    new = new_leader(group, old)
    assert new is not None
    last_act = max(r["t"] for r in old.events("act"))
    assert last_act < new.events("taken")[-1]["t"]
    assert stale_actions(group) == []


@pytest.mark.parametrize("fault", ["client_pause", "debug_sleep"])
def test_s3_s4_long_redis_outage_makes_the_leader_step_down(
    trio: Trio, redis_server: RedisServer, fault: str
) -> None:
    """S3/S4: Redis paused or blocked for 1.5 E → the leader steps down at its deadline."""
    group = trio()
    old = leader_of(group)
    assert old is not None
    time.sleep(random.uniform(E / 3, 2 * E / 3))
    if fault == "client_pause":
        redis_server.pause(1.5 * E)
    else:
        redis_server.debug_sleep(1.5 * E)
    wait_until(lambda: bool(old.events("lost")), 3 * E, "the leader to step down")
    wait_until(lambda: leader_of(group) is not None, 6 * E, "a leader after the outage")
    assert redis_server.debug_sleep_error is None
    assert stale_actions(group) == []


@pytest.mark.parametrize("fault", ["client_pause", "debug_sleep"])
def test_short_redis_outage_causes_no_transition(
    trio: Trio, redis_server: RedisServer, fault: str
) -> None:
    """S3b/S4b: a 0.4 E pause is absorbed: no step-down, no new leader."""
    group = trio()
    time.sleep(random.uniform(E / 3, 2 * E / 3))
    start = time.monotonic()
    if fault == "client_pause":
        redis_server.pause(0.4 * E)
    else:
        redis_server.debug_sleep(0.4 * E).join()
    time.sleep(1.5 * E)
    assert transitions(group, since=start) == 0


def test_s5_redis_restarted_empty_gives_no_stale_actions(
    trio: Trio, redis_server: RedisServer
) -> None:
    """S5: Redis killed and restarted empty → restart grace keeps it safe; a new leader after."""
    group = trio()
    old = leader_of(group)
    assert old is not None
    restarted = time.monotonic()
    redis_server.restart()
    wait_until(lambda: bool(old.events("lost")), 3 * E, "the old leader to step down")
    wait_until(
        lambda: any(r["t"] > restarted for c in group for r in c.events("taken")),
        8 * E,
        "a leader after the restart",
    )
    assert stale_actions(group) == []


def test_s8_stalled_leader_loop_takes_no_action_after_a_new_leader(trio: Trio) -> None:
    """S8: the leader's event loop sleeps 1.5 E → 0 actions after another candidate's TAKEN."""
    group = trio(stall=1.5 * E)
    old = leader_of(group)
    assert old is not None
    old.send(signal.SIGUSR1)
    wait_until(
        lambda: any(c is not old and c.events("taken") for c in group), 5 * E, "a new leader"
    )
    time.sleep(1.5 * E)  # let the stalled loop wake up and try to act
    assert old.events("stall")
    assert stale_actions(group) == []


async def test_s11_cancellation_at_random_points_leaves_no_orphan(
    redis_server: RedisServer,
) -> None:
    """S11: cancelling start/renew/release anywhere leaves no key, ends iterators, no spin."""
    client = aioredis.Redis(host=redis_server.host, port=redis_server.port)
    rng = random.Random(11)
    try:
        for trial in range(20):
            config = LeaderConfig(name=f"s11-{trial}", expiration=0.3)
            lock = RedisLock(client, config.name, RedisLockConfig(ttl=0.3, restart_grace=False))
            election = LockElection(lock, config)
            events: list[LeaderEvent] = []

            async def consume(
                election: LockElection = election, out: list[LeaderEvent] = events
            ) -> None:
                out.extend([e async for e in election.events()])

            consumer = asyncio.create_task(consume())
            starting = asyncio.create_task(election.start())
            await asyncio.sleep(rng.uniform(0, 0.01))
            starting.cancel()
            await asyncio.wait({starting})
            await asyncio.sleep(rng.uniform(0, 0.2))
            cpu = time.process_time()
            await election.aclose()
            await lock.aclose()
            async with asyncio.timeout(2):
                await consumer
            assert await client.exists(lock.key) == 0
            assert events in ([], [LeaderEvent.TAKEN, LeaderEvent.LOST])
            assert time.process_time() - cpu < 0.2
    finally:
        await client.aclose()
