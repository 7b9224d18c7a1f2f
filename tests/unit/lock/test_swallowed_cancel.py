"""A cancellation redis-py swallows (Python 3.11 ``wait_for``) still ends the lock's calls.

The fakes below stand in for redis-py at the two places where a swallowed cancellation made
``RedisLock`` wait for ever (see ``service_pkg/lock/_cancel.py``): the ``EXISTS`` check of
``wait_released()`` and the ``SUBSCRIBE`` of the release listener. Each fake "send" swallows
a cancellation the way Python 3.11's ``asyncio.wait_for`` does when the send has finished:
it returns normally and the cancel request is used up.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from service_pkg.lock import RedisLock, RedisLockConfig
from service_pkg.lock._cancel import no_swallowed_cancel

NO_GRACE = RedisLockConfig(restart_grace=False)
BOUND = 2.0
"""Seconds a call may take before the test calls it a hang (the fixed calls take ~0)."""


async def _send_swallowing_a_cancel() -> None:
    """A send that is slow and, when cancelled, returns as if it had finished."""
    # What Python 3.11's wait_for does when the inner send completed meanwhile.
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()


class FakeConnection:
    """The lock's kept connection: every send swallows a cancel; ``EXISTS`` answers 1."""

    is_connected = True
    host = "fake"
    port = 0

    def pack_command(self, *args: object) -> list[bytes]:
        return [repr(args).encode()]

    async def send_packed_command(self, _: object) -> None:
        await _send_swallowing_a_cancel()

    async def read_response(self) -> int:
        return 1  # EXISTS: the key is still held


class FakeSingleClient:
    def __init__(self) -> None:
        self.connection = FakeConnection()

    def get_retry(self) -> None:
        return None

    async def aclose(self) -> None:
        self.connection = cast("Any", None)


class FakePubSub:
    """``subscribe`` confirms at once, or (``swallow=True``) swallows a cancel first."""

    def __init__(self, *, swallow: bool) -> None:
        self.swallow = swallow
        self.confirmations = 1

    async def subscribe(self, _: str) -> None:
        if self.swallow:
            await _send_swallowing_a_cancel()

    async def get_message(self, **_: object) -> dict[str, object] | None:
        if self.confirmations:
            self.confirmations -= 1
            return {"type": "subscribe"}
        await asyncio.Event().wait()  # no release ever comes
        return None

    async def aclose(self) -> None:
        return None


class FakeRedis:
    def __init__(self, *, swallow_subscribe: bool = False) -> None:
        self.swallow_subscribe = swallow_subscribe
        self.connection_pool = cast("Any", type("Pool", (), {"connection_kwargs": {}})())

    def client(self) -> FakeSingleClient:
        return FakeSingleClient()

    def pubsub(self) -> FakePubSub:
        return FakePubSub(swallow=self.swallow_subscribe)


def _lock(client: FakeRedis) -> RedisLock:
    return RedisLock(cast("Redis", client), "job", NO_GRACE)


async def test_wait_whose_timeout_was_swallowed_during_exists_returns_false() -> None:
    """The wait's own timeout lands in the EXISTS send: it still ends after ``within``."""
    lock = _lock(FakeRedis())
    async with asyncio.timeout(BOUND):
        assert not await lock.wait_released(0.05)


async def test_aclose_ends_a_listener_that_swallowed_its_cancel_in_subscribe() -> None:
    """aclose() cancels the listener inside SUBSCRIBE: the listener ends, aclose returns."""
    lock = _lock(FakeRedis(swallow_subscribe=True))
    assert not await lock.wait_released(0.01)  # starts the listener; it is in SUBSCRIBE
    async with asyncio.timeout(BOUND):
        await lock.aclose()


async def test_guard_raises_a_cancel_swallowed_in_the_block() -> None:
    async def call() -> None:
        with no_swallowed_cancel():
            await _send_swallowing_a_cancel()

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_guard_turns_an_error_after_a_swallowed_cancel_into_the_cancel() -> None:
    async def call() -> None:
        with no_swallowed_cancel():
            await _send_swallowing_a_cancel()
            raise OSError("link error after the swallowed cancel")

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_guard_leaves_a_cleanup_after_an_earlier_cancel_alone() -> None:
    """In a ``finally`` after a delivered cancel, cancelling() is raised but nothing is new."""
    finished: list[str] = []

    async def call() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            with no_swallowed_cancel():
                await asyncio.sleep(0)
            finished.append("cleanup")

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["cleanup"]


async def test_guard_lets_a_normal_block_through() -> None:
    with no_swallowed_cancel():
        await asyncio.sleep(0)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for swallows only on 3.11")
async def test_guard_catches_the_real_wait_for_swallow_of_python_3_11() -> None:
    """The mechanism itself: the send finishes and the cancel arrives in one iteration."""
    sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def call() -> None:
        with no_swallowed_cancel():
            await asyncio.wait_for(sent, 5)

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    sent.set_result(None)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
