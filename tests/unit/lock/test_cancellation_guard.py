"""A cancellation that a link-error handler swallowed still ends the lock's call."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from service_pkg.lock._redis import _raise_if_cancelling


async def test_a_swallowed_cancellation_is_raised_again() -> None:
    async def call() -> None:
        # What a handler of OSError does when a timeout error stands in for the cancel.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        _raise_if_cancelling()

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_without_a_cancellation_request_nothing_is_raised() -> None:
    _raise_if_cancelling()
