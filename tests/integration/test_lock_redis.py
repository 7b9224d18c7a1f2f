"""``RedisLock`` on real Redis: Go interop, round trips, NOSCRIPT, restarts, cancellation.

The lock contract itself (acquire / renew / held / extend / release / epochs / grace /
wait_released) is tested once for both backends in ``tests/unit/lock/test_lock_behaviour.py``.
Tests that only read and write their own keys use the shared Redis on 127.0.0.1:6379 under a
unique name; tests that flush, pause, block, count commands or restart use a private server.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aredis
from dependency_injector import containers
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from service_pkg import Component
from service_pkg.events import Event, EventBus, StoreReconnected
from service_pkg.exceptions import ClosedResourceError
from service_pkg.lock import (
    GO_KEY_PREFIX,
    AcquireStatus,
    ExtendResult,
    RedisLock,
    RedisLockConfig,
    ReleaseResult,
    redis_lock,
)
from service_pkg.redis import redis_client
from service_pkg.testing import run_components
from tests.integration.conftest import Address
from tests.integration.redis_server import (
    RedisServer,
    redis_server_fixture,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.integration

# The Go locker's three scripts (go-behaviour-spec.md §7), played from the test.
GO_LOCK = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end return 0"
GO_UNLOCK = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)
GO_EXTEND = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)
# Commands a client sends itself; Redis also counts the calls a script makes (GET, SET...).
CLIENT_COMMANDS = ("evalsha", "eval", "script|load", "script|exists", "ping", "hello")

NO_GRACE = RedisLockConfig(restart_grace=False, ttl=5)


@pytest.fixture(name="client")
async def _client(redis_address: Address) -> AsyncIterator[aredis.Redis]:
    host, port = redis_address
    client = aredis.Redis(host=host, port=port)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(name="retrying_client")
async def _retrying_client(redis_server: RedisServer) -> AsyncIterator[aredis.Redis]:
    """A client whose calls retry once after a connection error (redis-py's public Retry)."""
    client = aredis.Redis.from_url(
        redis_server.url, retry=Retry(NoBackoff(), 1), retry_on_error=[RedisConnectionError]
    )
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(name="private_client")
async def _private_client(redis_server: RedisServer) -> AsyncIterator[aredis.Redis]:
    client = aredis.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


def _unique() -> str:
    return f"service-pkg-test-{uuid.uuid4().hex}"


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in CLIENT_COMMANDS}


class TestGoInterop:
    async def test_go_holder_blocks_a_python_candidate(self, client: aredis.Redis) -> None:
        """A Go holder (plain SET NX PX with a UUID) makes a Python candidate see HELD."""
        name = _unique()
        go_token = str(uuid.uuid4())
        assert await client.set(GO_KEY_PREFIX + name, go_token, nx=True, px=2000)
        try:
            async with RedisLock(client, name, RedisLockConfig(prefix=GO_KEY_PREFIX)) as lock:
                result = await lock.acquire()
                assert result.status is AcquireStatus.HELD
                assert 0 < result.ttl_ms <= 2000
                assert await lock.extend() is ExtendResult.NOT_OWNER
                assert await lock.release() is ReleaseResult.NOT_OWNER
            assert await client.get(GO_KEY_PREFIX + name) == go_token.encode()
        finally:
            await client.delete(GO_KEY_PREFIX + name, f"{GO_KEY_PREFIX}{name}:epoch")

    async def test_python_holder_blocks_the_go_lock(self, client: aredis.Redis) -> None:
        """While Python holds the key, Go's SET NX, Lock, Extend and Unlock all fail."""
        name = _unique()
        key = GO_KEY_PREFIX + name
        go_token = str(uuid.uuid4())
        try:
            config = RedisLockConfig(prefix=GO_KEY_PREFIX, restart_grace=False)
            async with RedisLock(client, name, config) as lock:
                assert lock.key == key
                assert (await lock.acquire()).acquired
                assert await client.set(key, go_token, nx=True, px=2000) is None
                assert await client.eval(GO_LOCK, 1, key, go_token, 2000) == 0
                assert await client.eval(GO_EXTEND, 1, key, go_token, 2000) == 0
                assert await client.eval(GO_UNLOCK, 1, key, go_token) == 0
                assert await client.get(key) == lock.token.encode()
                await lock.release()
        finally:
            await client.delete(key, f"{key}:epoch")

    async def test_python_takes_over_after_the_go_holder_unlocks(
        self, client: aredis.Redis
    ) -> None:
        """Go Lock, then Go Unlock: the Python candidate acquires at once."""
        name = _unique()
        key = GO_KEY_PREFIX + name
        go_token = str(uuid.uuid4())
        try:
            assert await client.eval(GO_LOCK, 1, key, go_token, 2000) == 1
            config = RedisLockConfig(prefix=GO_KEY_PREFIX, restart_grace=False)
            async with RedisLock(client, name, config) as lock:
                assert (await lock.acquire()).status is AcquireStatus.HELD
                assert await client.eval(GO_UNLOCK, 1, key, go_token) == 1
                assert (await lock.acquire()).status is AcquireStatus.ACQUIRED
                await lock.release()
        finally:
            await client.delete(key, f"{key}:epoch")


class TestRoundTrips:
    async def test_a_successful_cycle_is_exactly_two_commands(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """acquire + release = 2 EVALSHA and nothing else (INFO commandstats deltas)."""
        async with RedisLock(private_client, "job", NO_GRACE) as lock:
            await lock.acquire()  # connect and load the scripts first
            await lock.release()
            before = redis_server.commandstats()
            for _ in range(50):
                assert (await lock.acquire()).status is AcquireStatus.ACQUIRED
                assert await lock.release() is ReleaseResult.RELEASED
            after = redis_server.commandstats()
        assert _delta(before, after) == dict.fromkeys(CLIENT_COMMANDS, 0) | {"evalsha": 100}

    async def test_a_failed_attempt_is_one_command(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """An acquire that finds the lock held costs one EVALSHA."""
        async with (
            RedisLock(private_client, "job", NO_GRACE) as holder,
            RedisLock(private_client, "job", NO_GRACE) as other,
        ):
            await holder.acquire()
            await other.acquire()
            before = redis_server.commandstats()
            for _ in range(10):
                assert (await other.acquire()).status is AcquireStatus.HELD
            after = redis_server.commandstats()
        assert _delta(before, after)["evalsha"] == 10
        assert sum(_delta(before, after).values()) == 10

    async def test_script_shas_match_what_redis_computes(self, redis_server: RedisServer) -> None:
        """The SHA1 the lock sends with EVALSHA is the one SCRIPT LOAD returns."""
        from service_pkg.lock._scripts import ACQUIRE, EXTEND, RELEASE  # noqa: PLC0415

        for script in (ACQUIRE, EXTEND, RELEASE):
            assert redis_server.command("SCRIPT", "LOAD", script.source) == script.sha.encode()


class TestServerChanges:
    async def test_noscript_after_script_flush_loads_the_script_and_retries(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """After SCRIPT FLUSH one call costs NOSCRIPT + SCRIPT LOAD + EVALSHA, then 1 again."""
        async with RedisLock(private_client, "job", NO_GRACE) as lock:
            await lock.acquire()
            redis_server.script_flush()
            before = redis_server.commandstats()
            assert await lock.release() is ReleaseResult.RELEASED
            middle = redis_server.commandstats()
            assert (await lock.acquire()).status is AcquireStatus.ACQUIRED
            after = redis_server.commandstats()
        assert _delta(before, middle) == dict.fromkeys(CLIENT_COMMANDS, 0) | {
            "evalsha": 2,
            "script|load": 1,
        }
        assert _delta(middle, after)["script|load"] == 1  # the acquire script was flushed too
        assert _delta(middle, after)["evalsha"] == 2

    async def test_restart_without_data_reconnects_and_the_epoch_still_grows(
        self, redis_server: RedisServer, retrying_client: aredis.Redis
    ) -> None:
        """Redis SIGKILLed and restarted empty: the next acquire reconnects, reloads, grows."""
        async with RedisLock(retrying_client, "job", NO_GRACE) as lock:
            before = await lock.acquire()
            redis_server.restart()
            after = await lock.acquire()
        assert after.status is AcquireStatus.ACQUIRED
        assert after.epoch > before.epoch

    async def test_restart_without_data_starts_the_grace(
        self, redis_server: RedisServer, retrying_client: aredis.Redis
    ) -> None:
        """With restart_grace, the holder itself gets GRACE after Redis restarted empty."""
        config = RedisLockConfig(ttl=1.0, restart_grace=True)
        async with RedisLock(retrying_client, "job", config) as lock:
            result = await lock.acquire()
            while result.status is AcquireStatus.GRACE:  # the private server just started
                await asyncio.sleep(result.ttl_ms / 1000)
                result = await lock.acquire()
            assert result.status is AcquireStatus.ACQUIRED
            redis_server.restart()
            assert (await lock.acquire()).status is AcquireStatus.GRACE

    async def test_killed_connection_is_reopened_by_the_clients_retry(
        self, redis_server: RedisServer, retrying_client: aredis.Redis
    ) -> None:
        """CLIENT KILL of the lock's connection: with a retry set, the next call renews."""
        async with RedisLock(retrying_client, "job", NO_GRACE) as lock:
            first = await lock.acquire()
            assert redis_server.kill_clients() >= 1
            again = await lock.acquire()
        assert again.status is AcquireStatus.RENEWED
        assert again.epoch == first.epoch


class TestCancellation:
    async def test_cancelled_acquire_that_reached_redis_leaves_no_orphan_key(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """An acquire cancelled while Redis is blocked ran its SET later; the lock deletes it."""
        async with RedisLock(private_client, "job", NO_GRACE) as lock:
            await lock.acquire()
            await lock.release()
            sets_before = redis_server.commandstats().get("set", 0)
            sleeper = redis_server.debug_sleep(0.3)
            await asyncio.sleep(0.05)
            acquiring = asyncio.create_task(lock.acquire())
            await asyncio.sleep(0.05)
            acquiring.cancel()
            with pytest.raises(asyncio.CancelledError):
                await acquiring
            sleeper.join()
            assert redis_server.debug_sleep_error is None
            # it did run: SET of the epoch and of the key
            assert redis_server.commandstats().get("set", 0) - sets_before == 2
            assert redis_server.command("GET", lock.key) is None
            assert not lock.holding

    async def test_cancelled_renewal_keeps_the_hold(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """A holder's cancelled acquire (a renewal) must not delete its own key."""
        async with RedisLock(private_client, "job", NO_GRACE) as lock:
            await lock.acquire()
            sleeper = redis_server.debug_sleep(0.2)
            await asyncio.sleep(0.05)
            renewing = asyncio.create_task(lock.acquire())
            await asyncio.sleep(0.05)
            renewing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await renewing
            sleeper.join()
            assert redis_server.command("GET", lock.key) == lock.token.encode()
            assert (await lock.acquire()).status is AcquireStatus.RENEWED
            await lock.release()

    async def test_cancelled_release_keeps_the_token(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """A release cancelled before Redis ran it leaves the hold; releasing again works."""
        async with RedisLock(private_client, "job", NO_GRACE) as lock:
            await lock.acquire()
            token = lock.token
            redis_server.pause(0.3, "WRITE")
            releasing = asyncio.create_task(lock.release())
            await asyncio.sleep(0.05)
            releasing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await releasing
            redis_server.unpause()
            assert lock.token == token
            assert lock.holding
            assert redis_server.command("GET", lock.key) == token.encode()
            assert await lock.release() is ReleaseResult.RELEASED

    async def test_random_cancellations_leave_no_orphan_and_no_stuck_call(
        self, client: aredis.Redis
    ) -> None:
        """Cancelling acquire at random points: every call ends; no key survives a cancel."""
        name = _unique()
        config = RedisLockConfig(restart_grace=False, ttl=5)
        rng = random.Random(4)
        cancelled = 0
        try:
            for _ in range(60):
                async with RedisLock(client, name, config) as lock:
                    acquiring = asyncio.create_task(lock.acquire())
                    # 0 yields: cancelled before sending; 1-4: sent, reply pending; a real
                    # sleep: often done before the cancel
                    if rng.random() < 0.7:
                        for _ in range(rng.randrange(5)):
                            await asyncio.sleep(0)
                    else:
                        await asyncio.sleep(rng.uniform(0, 0.002))
                    acquiring.cancel()
                    async with asyncio.timeout(5):
                        try:
                            result = await acquiring
                        except asyncio.CancelledError:
                            cancelled += 1
                            assert await client.get(lock.key) is None
                        else:
                            assert result.acquired
                            assert await lock.release() is ReleaseResult.RELEASED
        finally:
            await client.delete(f"service-pkg:lock:{name}", f"service-pkg:lock:{name}:epoch")
        assert cancelled > 0

    async def test_cancelled_wait_keeps_the_one_subscription_until_aclose(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """Cancelling wait_released() leaves the lock's subscription; aclose() ends it."""
        async with (
            RedisLock(private_client, "job", NO_GRACE) as holder,
            RedisLock(private_client, "job", NO_GRACE) as lock,
        ):
            await holder.acquire()
            waiting = asyncio.create_task(lock.wait_released(10))
            await _pubsub_clients(redis_server, 1)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert not await lock.wait_released(0.01)
            await _pubsub_clients(redis_server, 1)
        await _pubsub_clients(redis_server, 0)


async def _pubsub_clients(server: RedisServer, count: int) -> None:
    """Return once exactly ``count`` pubsub connections are open (fail after 5 s)."""
    async with asyncio.timeout(5):
        while True:
            listed = server.command("CLIENT", "LIST", "TYPE", "pubsub")
            assert isinstance(listed, bytes)
            if len(listed.splitlines()) == count:
                return
            await asyncio.sleep(0.005)


class TestSubscription:
    async def test_many_waits_share_one_subscription(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """Three waits and two releases: one pubsub connection, one SUBSCRIBE, all seen."""
        async with (
            RedisLock(private_client, "job", NO_GRACE) as holder,
            RedisLock(private_client, "job", NO_GRACE) as waiter,
        ):
            await holder.acquire()
            assert not await waiter.wait_released(0.01)
            for _ in range(2):
                await holder.acquire()
                assert (await waiter.acquire()).status is AcquireStatus.HELD
                await holder.release()
                async with asyncio.timeout(2):
                    assert await waiter.wait_released(5)
            assert redis_server.commandstats().get("subscribe", 0) == 1
            await _pubsub_clients(redis_server, 1)

    async def test_killed_subscription_comes_back_and_is_reported(
        self, redis_server: RedisServer, private_client: aredis.Redis
    ) -> None:
        """CLIENT KILL of the pubsub connection: it resubscribes, emits StoreReconnected."""
        seen: list[Event] = []
        bus = EventBus()
        bus.subscribe(seen.append)
        async with (
            RedisLock(private_client, "job", NO_GRACE) as holder,
            RedisLock(private_client, "job", NO_GRACE, events=bus) as waiter,
        ):
            await holder.acquire()
            assert not await waiter.wait_released(0.01)
            reported = asyncio.Event()
            bus.subscribe(lambda _: reported.set())
            await _pubsub_clients(redis_server, 1)
            assert redis_server.kill_clients("pubsub") == 1
            async with asyncio.timeout(5):
                await reported.wait()
            await holder.acquire()
            assert (await waiter.acquire()).status is AcquireStatus.HELD
            await holder.release()
            async with asyncio.timeout(2):
                assert await waiter.wait_released(5)
        assert len(seen) == 1
        event = seen[0]
        assert isinstance(event, StoreReconnected)
        assert event.component == "job"
        assert event.address == f"{redis_server.host}:{redis_server.port}/0"
        assert event.error

    async def test_call_that_works_again_after_a_link_error_is_reported(
        self, redis_server: RedisServer
    ) -> None:
        """No retry set: the call after CLIENT KILL reconnects once, works and is reported."""
        seen: list[Event] = []
        bus = EventBus()
        bus.subscribe(seen.append)
        no_retry = aredis.Redis.from_url(redis_server.url, retry=Retry(NoBackoff(), 0))
        try:
            async with RedisLock(no_retry, "job", NO_GRACE, events=bus) as lock:
                await lock.acquire()
                redis_server.kill_clients()
                assert (await lock.acquire()).status is AcquireStatus.RENEWED
        finally:
            await no_retry.aclose()
        assert [type(e) for e in seen] == [StoreReconnected]

    async def test_ping_answers_while_open(self, private_client: aredis.Redis) -> None:
        """ping() returns on a reachable Redis and raises ClosedResourceError after aclose()."""
        lock = RedisLock(private_client, "job", NO_GRACE)
        await lock.ping()
        await lock.aclose()
        with pytest.raises(ClosedResourceError):
            await lock.ping()


class TestLifecycle:
    async def test_one_connection_is_kept_until_aclose(self, client: aredis.Redis) -> None:
        """The lock borrows one pool connection at its first call and returns it at aclose()."""
        pool = client.connection_pool
        lock = RedisLock(client, _unique(), NO_GRACE)
        assert len(pool._in_use_connections) == 0
        await lock.extend()
        assert len(pool._in_use_connections) == 1
        await lock.aclose()
        await lock.aclose()  # idempotent
        assert len(pool._in_use_connections) == 0

    async def test_calls_after_aclose_raise_closed_resource_error(
        self, client: aredis.Redis
    ) -> None:
        """Using a closed lock is an error, not a silent reconnect."""
        lock = RedisLock(client, _unique(), NO_GRACE)
        await lock.aclose()
        for call in (lock.acquire, lock.extend, lock.release):
            with pytest.raises(ClosedResourceError):
                await call()
        with pytest.raises(ClosedResourceError):
            await lock.wait_released(0.01)
        assert "state=closed" in repr(lock)

    async def test_repr_shows_key_and_state_but_not_the_token(self, client: aredis.Redis) -> None:
        """repr() names the key and whether we hold it; the token stays out."""
        name = _unique()
        async with RedisLock(client, name, NO_GRACE) as lock:
            assert "state=free" in repr(lock)
            await lock.acquire()
            assert f"key='service-pkg:lock:{name}'" in repr(lock)
            assert "state=holding" in repr(lock)
            assert lock.token not in repr(lock)
            await lock.release()
        await client.delete(f"service-pkg:lock:{name}:epoch")

    async def test_component_releases_the_lock_at_stop(self, redis_address: Address) -> None:
        """Component(redis_lock, ...) yields a lock; stopping releases the hold and closes it."""
        host, port = redis_address
        name = _unique()

        class Container(containers.DeclarativeContainer):
            redis = Component(redis_client, url=f"redis://{host}:{port}/0")
            lock = Component(redis_lock, redis, name, NO_GRACE)

        container = Container()
        async with run_components(container, "lock"):
            lock = container.lock()
            assert isinstance(lock, RedisLock)
            assert (await lock.acquire()).acquired
            key = lock.key
        checker = aredis.Redis(host=host, port=port)
        try:
            assert await checker.get(key) is None
            assert "state=closed" in repr(lock)
        finally:
            await checker.delete(f"{key}:epoch")
            await checker.aclose()
