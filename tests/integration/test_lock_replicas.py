"""``RedisLock`` with replicas (issue 10): ``min_replicas`` / ``WAIT``, master changes, epochs.

A private master and replica per test (never the shared server: these tests freeze, promote
and demote servers). Sentinel failovers with candidate processes are in
``tests/integration/leader/test_sentinel_faults.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aredis

from service_pkg.events import ElectionRenewed, EventBus, RenewOutcome
from service_pkg.leader import LeaderConfig, LeaderEvent, LockElection
from service_pkg.lock import (
    AcquireResult,
    AcquireStatus,
    ExtendResult,
    RedisLock,
    RedisLockConfig,
    ReleaseResult,
)
from service_pkg.lock._scripts import EXTEND, MASTER_CHANGED
from tests.integration.redis_server import HOST, RedisServer
from tests.integration.sentinel_topology import FAST_SYNC

pytestmark = pytest.mark.integration

TTL = 1.0
# A generous WAIT timeout: a loaded machine must not make a healthy replica look absent.
CONFIRMED = RedisLockConfig(ttl=TTL, min_replicas=1, restart_grace=False, replica_timeout=0.5)
PLAIN = RedisLockConfig(ttl=TTL, restart_grace=False)
# A short WAIT timeout, so several unconfirmed renewals fit in one lease.
SHORT_WAIT = RedisLockConfig(ttl=TTL, min_replicas=1, restart_grace=False, replica_timeout=0.1)


def _wait_synced(master: RedisServer) -> None:
    master.wait_replicas_streaming(1, timeout=20)


@pytest.fixture(name="pair")
def _pair() -> Iterator[tuple[RedisServer, RedisServer]]:
    master = RedisServer(args=FAST_SYNC)
    replica: RedisServer | None = None
    try:
        master.start()
        replica = RedisServer(args=(*FAST_SYNC, "--replicaof", HOST, str(master.port)))
        replica.start()
        _wait_synced(master)
        yield master, replica
    finally:
        if replica is not None:
            replica.close()
        master.close()


@contextlib.asynccontextmanager
async def client_of(server: RedisServer) -> AsyncIterator[aredis.Redis]:
    client = aredis.Redis(host=server.host, port=server.port, socket_timeout=2)
    try:
        yield client
    finally:
        await client.aclose()


async def acquire_after_grace(lock: RedisLock) -> AcquireResult:
    """Acquire once the restart grace of a server that just started has passed."""
    result = await lock.acquire()
    while result.status is AcquireStatus.GRACE:
        await asyncio.sleep(result.ttl_ms / 1000 + 0.01)
        result = await lock.acquire()
    return result


def _delta(before: dict[str, int], after: dict[str, int], name: str) -> int:
    return after.get(name, 0) - before.get(name, 0)


async def test_a_confirmed_cycle_is_one_evalsha_and_one_wait_per_acquire(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    """With min_replicas=1 and a replica in sync: ACQUIRED, EXTENDED; WAIT only after writes."""
    master, _ = pair
    async with client_of(master) as client, RedisLock(client, "job", CONFIRMED) as lock:
        assert (await lock.acquire()).status is AcquireStatus.ACQUIRED
        await lock.extend()  # load every script first
        await lock.release()
        before = master.commandstats()
        for _ in range(20):
            assert (await lock.acquire()).status is AcquireStatus.ACQUIRED
            assert await lock.extend() is ExtendResult.EXTENDED
            assert await lock.release() is ReleaseResult.RELEASED
        after = master.commandstats()
    assert _delta(before, after, "evalsha") == 60
    assert _delta(before, after, "wait") == 40


async def test_without_a_replica_answering_acquire_and_extend_are_unconfirmed(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    """A stopped replica: the acquisition and the renewal do not count (UNCONFIRMED)."""
    master, replica = pair
    async with client_of(master) as client, RedisLock(client, "job", CONFIRMED) as lock:
        assert (await lock.acquire()).acquired
        replica.freeze()
        try:
            assert await lock.extend() is ExtendResult.UNCONFIRMED
            assert (await lock.acquire()).status is AcquireStatus.UNCONFIRMED
            assert lock.holding  # the key keeps our token on the master
        finally:
            replica.thaw()
        assert (await lock.acquire()).status is AcquireStatus.RENEWED  # confirmed again


async def test_a_renewal_no_replica_confirms_does_not_move_the_deadline(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    """An election with min_replicas=1 whose replica stops steps down at its first deadline.

    The timing (LOST at the deadline itself, not once the cut-off call unwinds) is shown on
    a manual clock in ``tests/unit/leader``; here the real server shows no renewal counted.
    """
    master, replica = pair
    config = LeaderConfig(name="confirmed", expiration=TTL)
    renewals: list[RenewOutcome] = []
    bus = EventBus()
    bus.subscribe(
        lambda event: renewals.append(event.outcome) if isinstance(event, ElectionRenewed) else None
    )
    async with client_of(master) as client:
        lock = RedisLock(client, config.name, SHORT_WAIT)
        async with lock, LockElection(lock, config, events=bus) as election:
            events = election.events()
            assert await anext(events) == LeaderEvent.TAKEN
            replica.freeze()
            try:
                async with asyncio.timeout(5):
                    assert await anext(events) == LeaderEvent.LOST
            finally:
                replica.thaw()
            assert election.stats.step_downs == {"deadline": 1}
    assert RenewOutcome.UNCONFIRMED in renewals
    assert RenewOutcome.EXTENDED not in renewals


async def test_a_demoted_master_makes_the_holder_step_down_and_starts_a_grace(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    """Promote the replica, demote the master: extend says MASTER_CHANGED; B waits one TTL."""
    master, replica = pair
    config = RedisLockConfig(ttl=TTL)
    async with (
        client_of(master) as on_a,
        client_of(replica) as on_b,
        RedisLock(on_a, "job", config) as holder,
    ):
        first = await acquire_after_grace(holder)
        assert first.status is AcquireStatus.ACQUIRED
        _wait_offsets_equal(master, replica)
        replica.command("REPLICAOF", "NO", "ONE")
        master.command("REPLICAOF", HOST, str(replica.port))
        assert await holder.extend() is ExtendResult.MASTER_CHANGED
        assert not holder.holding
        async with RedisLock(on_b, "job", config) as other:
            refused = await other.acquire()
            while refused.status is AcquireStatus.HELD:  # the holder's replicated key
                await asyncio.sleep(refused.ttl_ms / 1000 + 0.01)
                refused = await other.acquire()
            assert refused.status is AcquireStatus.GRACE  # the run_id differs
            assert 0 < refused.ttl_ms <= TTL * 1000
            await asyncio.sleep(refused.ttl_ms / 1000 + 0.05)
            later = await other.acquire()
            assert later.status is AcquireStatus.ACQUIRED
            assert later.epoch > first.epoch


async def test_a_promoted_replica_drops_the_hold_at_the_holders_next_renewal(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    """The holder's key reached the promoted replica: others see HELD; the holder's renewal
    there (the extend script with its token) answers master-changed and drops the key."""
    master, replica = pair
    config = RedisLockConfig(ttl=TTL)
    async with client_of(master) as on_a, RedisLock(on_a, "job", config) as holder:
        assert (await acquire_after_grace(holder)).acquired
        _wait_offsets_equal(master, replica)
        replica.command("REPLICAOF", "NO", "ONE")
        master.kill()
        async with client_of(replica) as on_b, RedisLock(on_b, "job", config) as other:
            assert (await other.acquire()).status is AcquireStatus.HELD
            key = holder.key
            node, grace = "{" + key + "}:node", "{" + key + "}:grace"
            ms = int(TTL * 1000)
            reply = await on_b.eval(EXTEND.source, 3, key, node, grace, holder.token, ms, "1")
            assert reply == MASTER_CHANGED
            assert await on_b.exists(key) == 0
            assert 0 < await on_b.pttl(grace) <= ms
            assert (await other.acquire()).status is AcquireStatus.GRACE


async def test_a_new_name_on_a_promoted_replica_is_acquired_at_once(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    """The first-use rule holds after a failover: no stored run_id, no grace (uptime > TTL)."""
    master, replica = pair
    replica.command("REPLICAOF", "NO", "ONE")
    master.kill()
    async with client_of(replica) as on_b:
        uptime = int((await on_b.info("server"))["uptime_in_seconds"])
        await asyncio.sleep(max(0.0, TTL + 2 - uptime))  # past a new server's restart grace
        async with RedisLock(on_b, "brand-new", RedisLockConfig(ttl=TTL)) as lock:
            assert (await lock.acquire()).status is AcquireStatus.ACQUIRED


async def test_the_epoch_is_at_least_the_server_time_in_microseconds(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    """An old epoch value (a replica that missed acquisitions) is overtaken by TIME in µs."""
    master, _ = pair
    async with client_of(master) as client, RedisLock(client, "job", PLAIN) as lock:
        epoch_key = "{" + lock.key + "}:epoch"
        await client.set(epoch_key, 5)
        seconds, micros = await client.time()
        result = await lock.acquire()
        assert result.epoch >= seconds * 1_000_000 + micros
        await lock.release()
        far = result.epoch + 10**9  # a larger stored epoch still only grows by one
        await client.set(epoch_key, far)
        assert (await lock.acquire()).epoch == far + 1


def _wait_offsets_equal(master: RedisServer, replica: RedisServer) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ours = master.info("replication").get("master_repl_offset")
        theirs = replica.info("replication").get("master_repl_offset")
        if ours is not None and ours == theirs:
            return
        time.sleep(0.01)
    raise AssertionError("the replica did not catch up")
