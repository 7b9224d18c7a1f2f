"""Racing an awaitable against an injectable clock, and reaping the losers safely."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from service_pkg.clock import Clock

__all__ = ("cancel_and_wait", "race_clock")

T = TypeVar("T")


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel what still runs and wait for it to end.

    ``asyncio.wait`` never raises the tasks' own errors or cancellations, so a cancellation
    of *our* caller still propagates (a ``suppress(CancelledError)`` here would swallow it).
    """
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


async def race_clock(
    clock: Clock,
    seconds: float,
    awaitable: Awaitable[T],
    *,
    on_expiry: Callable[[], object] | None = None,
) -> asyncio.Future[T]:
    """Run ``awaitable`` for at most ``seconds`` of ``clock`` time.

    Returns its task: finished (result or error) if it won, cancelled if the clock won. The
    loser is always cancelled and reaped, also when our caller is cancelled. ``on_expiry``
    runs the moment the clock wins, *before* the reaping: a call that honours its
    cancellation late (redis-py on Python 3.11 may finish the reply it is reading first)
    must not delay what the expiry means.
    """
    task = asyncio.ensure_future(awaitable)
    sleeper = asyncio.ensure_future(clock.sleep(max(0.0, seconds)))
    try:
        await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        if on_expiry is not None and not task.done():
            on_expiry()
    finally:
        await cancel_and_wait(task, sleeper)
    return task
