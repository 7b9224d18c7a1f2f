"""The ``Lock`` contract, written once and run on every backend (``InMemoryLock``, ``RedisLock``).

Each test gets fresh competing lock objects on one store (see ``conftest.py``): the memory
backend runs on a manual clock, the Redis backend (marked ``integration``) on real Redis.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from service_pkg.exceptions import ClosedResourceError, ConfigError
from service_pkg.lock import AcquireResult, AcquireStatus, ExtendResult, Lock, ReleaseResult
from tests.unit.lock.conftest import Backend

TTL = 0.2
"""Lease of the locks in these tests, in seconds: short, so the Redis runs stay fast."""


class TestAcquire:
    async def test_free_lock_is_acquired_with_a_positive_epoch(self, backend: Backend) -> None:
        """Acquiring a free lock returns ACQUIRED and an epoch > 0; the store holds our token."""
        lock = backend.make(ttl=TTL)
        result = await lock.acquire()
        assert result.status is AcquireStatus.ACQUIRED
        assert result.acquired
        assert result.epoch > 0
        assert await backend.holder() == lock.token

    async def test_acquiring_again_renews_without_a_new_epoch(self, backend: Backend) -> None:
        """A second acquire by the holder is RENEWED with the same epoch (no self-lockout)."""
        lock = backend.make(ttl=TTL)
        first = await lock.acquire()
        again = await lock.acquire()
        assert again.status is AcquireStatus.RENEWED
        assert again.acquired
        assert again.epoch == first.epoch

    async def test_renewal_resets_the_ttl(self, backend: Backend) -> None:
        """A renewing acquire restarts the lease: the lock outlives its first TTL."""
        lock, other = backend.make(ttl=TTL), backend.make(ttl=TTL)
        await lock.acquire()
        await backend.elapse(TTL * 0.6)
        await lock.acquire()
        await backend.elapse(TTL * 0.6)
        assert (await other.acquire()).status is AcquireStatus.HELD

    async def test_lock_held_by_another_token_reports_held_and_remaining_ttl(
        self, backend: Backend
    ) -> None:
        """A competitor gets HELD, epoch 0 and 0 < ttl_ms <= TTL; the holder is unchanged."""
        holder, other = backend.make(ttl=TTL), backend.make(ttl=TTL)
        await holder.acquire()
        result = await other.acquire()
        assert result.status is AcquireStatus.HELD
        assert not result.acquired
        assert result.epoch == 0
        assert 0 < result.ttl_ms <= TTL * 1000
        assert await backend.holder() == holder.token

    async def test_expired_lock_is_acquired_by_another_with_a_larger_epoch(
        self, backend: Backend
    ) -> None:
        """Once the holder's TTL passes, a competitor acquires under a larger epoch."""
        first, second = backend.make(ttl=TTL), backend.make(ttl=TTL)
        taken = await first.acquire()
        await backend.elapse(TTL)
        result = await second.acquire()
        assert result.status is AcquireStatus.ACQUIRED
        assert result.epoch > taken.epoch
        assert await backend.holder() == second.token

    async def test_epoch_grows_with_every_acquisition(self, backend: Backend) -> None:
        """Acquire, release, acquire: the second epoch is larger than the first."""
        lock = backend.make(ttl=TTL)
        first = await lock.acquire()
        await lock.release()
        second = await lock.acquire()
        assert second.epoch > first.epoch

    async def test_names_are_independent(self, backend: Backend) -> None:
        """Holding one name does not block another."""
        a, b = backend.make("a", ttl=TTL), backend.make("b", ttl=TTL)
        assert (await a.acquire()).acquired
        assert (await b.acquire()).acquired

    async def test_each_lock_object_has_its_own_token(self, backend: Backend) -> None:
        """Two lock objects for one name are two candidates: different tokens."""
        a, b = backend.make(ttl=TTL), backend.make(ttl=TTL)
        assert a.token != b.token
        assert (a.name, b.name) == ("job", "job")
        assert a.ttl == TTL


class TestExtend:
    async def test_holder_extends(self, backend: Backend) -> None:
        """extend() by the holder is EXTENDED and restarts the lease."""
        lock, other = backend.make(ttl=TTL), backend.make(ttl=TTL)
        await lock.acquire()
        await backend.elapse(TTL * 0.6)
        assert await lock.extend() is ExtendResult.EXTENDED
        await backend.elapse(TTL * 0.6)
        assert (await other.acquire()).status is AcquireStatus.HELD

    async def test_non_holder_cannot_extend(self, backend: Backend) -> None:
        """extend() by another token is NOT_OWNER and leaves the holder's lease alone."""
        holder, other = backend.make(ttl=TTL), backend.make(ttl=TTL)
        await holder.acquire()
        assert await other.extend() is ExtendResult.NOT_OWNER
        assert await backend.holder() == holder.token

    async def test_expired_hold_cannot_be_extended(self, backend: Backend) -> None:
        """After the TTL passed, extend() is NOT_OWNER: the hold is lost for good."""
        lock = backend.make(ttl=TTL)
        await lock.acquire()
        await backend.elapse(TTL)
        assert await lock.extend() is ExtendResult.NOT_OWNER
        assert await backend.holder() is None


class TestRelease:
    async def test_holder_releases_and_the_lock_is_free(self, backend: Backend) -> None:
        """release() by the holder is RELEASED; a competitor then acquires at once."""
        holder, other = backend.make(ttl=TTL), backend.make(ttl=TTL)
        await holder.acquire()
        assert await holder.release() is ReleaseResult.RELEASED
        assert await backend.holder() is None
        assert (await other.acquire()).status is AcquireStatus.ACQUIRED

    async def test_non_holder_cannot_release(self, backend: Backend) -> None:
        """release() by another token is NOT_OWNER and the holder keeps the lock."""
        holder, other = backend.make(ttl=TTL), backend.make(ttl=TTL)
        await holder.acquire()
        assert await other.release() is ReleaseResult.NOT_OWNER
        assert await backend.holder() == holder.token

    async def test_second_release_is_not_owner(self, backend: Backend) -> None:
        """Releasing twice: RELEASED, then NOT_OWNER."""
        lock = backend.make(ttl=TTL)
        await lock.acquire()
        assert await lock.release() is ReleaseResult.RELEASED
        assert await lock.release() is ReleaseResult.NOT_OWNER

    async def test_release_after_expiry_is_not_owner(self, backend: Backend) -> None:
        """A hold that expired cannot be released."""
        lock = backend.make(ttl=TTL)
        await lock.acquire()
        await backend.elapse(TTL)
        assert await lock.release() is ReleaseResult.NOT_OWNER


class TestWaitReleased:
    async def test_release_wakes_a_waiter(self, backend: Backend) -> None:
        """wait_released() returns True when the holder releases, well before its timeout."""
        holder, waiter = backend.make(ttl=5.0), backend.make(ttl=5.0)
        await holder.acquire()
        waiting = asyncio.create_task(waiter.wait_released(5.0))
        await backend.waiting(waiter)
        assert await holder.release() is ReleaseResult.RELEASED
        async with asyncio.timeout(2):
            assert await waiting is True

    async def test_no_release_means_false_after_the_timeout(self, backend: Backend) -> None:
        """wait_released(within) returns False once ``within`` passed without a release."""
        holder, waiter = backend.make(ttl=TTL), backend.make(ttl=TTL)
        await holder.acquire()
        waiting = asyncio.create_task(waiter.wait_released(0.05))
        await backend.waiting(waiter)
        await backend.elapse(0.05)
        async with asyncio.timeout(2):
            assert await waiting is False

    async def test_failed_release_does_not_wake_waiters(self, backend: Backend) -> None:
        """A NOT_OWNER release publishes nothing: the waiter times out."""
        holder, other, waiter = (backend.make(ttl=TTL) for _ in range(3))
        await holder.acquire()
        waiting = asyncio.create_task(waiter.wait_released(0.05))
        await backend.waiting(waiter)
        assert await other.release() is ReleaseResult.NOT_OWNER
        await backend.elapse(0.05)
        async with asyncio.timeout(2):
            assert await waiting is False


async def timed_out_wait(backend: Backend, lock: Lock) -> bool:
    """wait_released(0.05) with the store's time moved past it: the answer without a release."""
    waiting = asyncio.create_task(lock.wait_released(0.05))
    await backend.waiting(lock)
    await backend.elapse(0.05)
    async with asyncio.timeout(2):
        return await waiting


class TestHandover:
    async def test_release_between_an_attempt_and_the_wait_is_seen(self, backend: Backend) -> None:
        """A release that lands after a HELD attempt but before wait_released() still wakes it."""
        holder, waiter = backend.make(ttl=5.0), backend.make(ttl=5.0)
        await holder.acquire()
        assert await timed_out_wait(backend, waiter) is False  # the waiter has listened before
        assert (await waiter.acquire()).status is AcquireStatus.HELD
        assert await holder.release() is ReleaseResult.RELEASED
        await backend.elapse(0.01)  # the notification arrives before anyone waits
        async with asyncio.timeout(2):
            assert await waiter.wait_released(5.0) is True
        assert (await waiter.acquire()).status is AcquireStatus.ACQUIRED

    async def test_release_before_the_first_wait_is_seen(self, backend: Backend) -> None:
        """A waiter that never listened before still sees a release after its last attempt."""
        holder, waiter = backend.make(ttl=5.0), backend.make(ttl=5.0)
        await holder.acquire()
        assert (await waiter.acquire()).status is AcquireStatus.HELD
        assert await holder.release() is ReleaseResult.RELEASED
        async with asyncio.timeout(2):
            assert await waiter.wait_released(5.0) is True

    async def test_a_reported_release_is_reported_once(self, backend: Backend) -> None:
        """After wait_released() returned True, the next wait needs a new release."""
        holder, waiter = backend.make(ttl=5.0), backend.make(ttl=5.0)
        await holder.acquire()
        assert (await waiter.acquire()).status is AcquireStatus.HELD
        await holder.release()
        async with asyncio.timeout(2):
            assert await waiter.wait_released(5.0) is True
        await holder.acquire()
        assert await timed_out_wait(backend, waiter) is False


class TestEpochAcrossDataLoss:
    async def test_epoch_keeps_growing_after_the_store_lost_its_data(
        self, flushable_backend: Backend
    ) -> None:
        """After a flush (Redis FLUSHALL) the next epoch is still larger than the last one."""
        lock = flushable_backend.make(ttl=TTL)
        before = await lock.acquire()
        await flushable_backend.elapse(0.01)
        await flushable_backend.flush()
        after = await lock.acquire()
        assert after.status is AcquireStatus.ACQUIRED
        assert after.epoch > before.epoch


GRACE_TTL = 1.0
"""Lease of the grace tests: Redis counts its uptime in whole seconds."""


async def acquire_after_grace(backend: Backend, lock: Lock) -> AcquireResult:
    """Acquire, sleeping out the restart grace the store reports (a fresh Redis has one)."""
    result = await lock.acquire()
    while result.status is AcquireStatus.GRACE:
        await backend.elapse(result.ttl_ms / 1000)
        result = await lock.acquire()
    return result


class TestRestartGrace:
    async def test_new_name_on_a_store_up_longer_than_the_ttl_is_acquired_at_once(
        self, backend: Backend
    ) -> None:
        """restart_grace on: a name never used before is not refused by a long-running store."""
        await backend.up_for(TTL)
        lock = backend.make(ttl=TTL, restart_grace=True)
        assert (await lock.acquire()).status is AcquireStatus.ACQUIRED

    async def test_restart_without_data_refuses_everyone_for_the_rest_of_the_lease(
        self, flushable_backend: Backend
    ) -> None:
        """A store restarted empty answers GRACE to every grace lock until one lease passed."""
        backend = flushable_backend
        lock = backend.make(ttl=GRACE_TTL, restart_grace=True)
        other = backend.make(ttl=GRACE_TTL, restart_grace=True)
        held = await acquire_after_grace(backend, lock)
        assert held.status is AcquireStatus.ACQUIRED
        await backend.restart()
        grace = await lock.acquire()
        assert grace.status is AcquireStatus.GRACE
        assert not grace.acquired
        assert 0 < grace.ttl_ms <= GRACE_TTL * 1000
        assert (await other.acquire()).status is AcquireStatus.GRACE
        # Redis's whole-second uptime can refuse once more (the grace errs long, never short).
        after = await acquire_after_grace(backend, lock)
        assert after.status is AcquireStatus.ACQUIRED
        assert after.epoch > held.epoch

    async def test_without_restart_grace_a_restarted_store_grants_at_once(
        self, flushable_backend: Backend
    ) -> None:
        """restart_grace off: the first acquire after a restart without data succeeds."""
        lock = flushable_backend.make(ttl=GRACE_TTL)
        await lock.acquire()
        await flushable_backend.restart()
        assert (await lock.acquire()).status is AcquireStatus.ACQUIRED

    async def test_keys_lost_while_the_store_runs_are_not_evidence(
        self, flushable_backend: Backend
    ) -> None:
        """FLUSHALL on a store up longer than the lease is no restart: no grace."""
        backend = flushable_backend
        lock = backend.make(ttl=GRACE_TTL, restart_grace=True)
        await acquire_after_grace(backend, lock)
        await backend.flush()
        assert (await lock.acquire()).status is AcquireStatus.ACQUIRED

    async def test_grace_is_logged_at_info_with_reason_and_time_left(
        self, flushable_backend: Backend, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A refusal by the grace logs one INFO record (service_pkg.lock): why, and how long."""
        backend = flushable_backend
        lock = backend.make(ttl=GRACE_TTL, restart_grace=True)
        await acquire_after_grace(backend, lock)
        await backend.restart()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="service_pkg.lock"):
            grace = await lock.acquire()
        records = [
            r
            for r in caplog.records
            if r.name == "service_pkg.lock" and hasattr(r, "service_pkg_grace_left_ms")
        ]
        assert [r.levelno for r in records] == [logging.INFO]
        record = records[0]
        assert record.service_pkg_reason == "store_uptime_below_lease"  # type: ignore[attr-defined]
        assert record.service_pkg_grace_left_ms == grace.ttl_ms
        assert f"{grace.ttl_ms} ms" in record.getMessage()


class TestResourceShape:
    async def test_async_with_returns_the_lock_and_aclose_releases_our_hold(
        self, backend: Backend
    ) -> None:
        """Leaving ``async with`` releases a hold the lock believes in: a competitor acquires."""
        lock, other = backend.make(ttl=5.0), backend.make(ttl=5.0)
        async with lock as entered:
            assert entered is lock
            assert (await lock.acquire()).acquired
        assert await backend.holder() is None
        assert (await other.acquire()).status is AcquireStatus.ACQUIRED

    async def test_aclose_is_idempotent_and_later_calls_raise(self, backend: Backend) -> None:
        """A second aclose() does nothing; acquire() and ping() after it raise."""
        lock = backend.make(ttl=TTL)
        await lock.aclose()
        await lock.aclose()
        with pytest.raises(ClosedResourceError):
            await lock.acquire()
        with pytest.raises(ClosedResourceError):
            await lock.ping()

    async def test_ping_answers_while_open(self, backend: Backend) -> None:
        """ping(), the health probe, returns on a reachable store."""
        await backend.make(ttl=TTL).ping()


class TestTtlValidation:
    @pytest.mark.parametrize(
        "ttl", [0, -1, 0.0005, 1.0005, float("inf"), float("nan"), "1", True, None]
    )
    def test_bad_ttl_is_a_config_error_naming_ttl(self, backend: Backend, ttl: object) -> None:
        """TTL must be a whole number of milliseconds >= 1 ms: else ConfigError(field='ttl')."""
        with pytest.raises(ConfigError) as caught:
            backend.make(ttl=ttl)  # type: ignore[arg-type]
        assert caught.value.field == "ttl"

    @pytest.mark.parametrize("ttl", [0.001, 0.25, 30, 30.0])
    def test_whole_milliseconds_are_accepted(self, backend: Backend, ttl: float) -> None:
        """1 ms and any whole number of milliseconds are valid TTLs."""
        lock: Lock = backend.make(ttl=ttl)
        assert lock.ttl == ttl
