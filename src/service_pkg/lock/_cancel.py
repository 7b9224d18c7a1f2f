"""Cancellations that redis-py swallows on Python 3.11, delivered again.

redis-py sends every command through ``asyncio.wait_for(..., socket_timeout)`` whenever the
connection has a socket timeout (its ``Connection`` default is 5 s). On Python 3.11,
``wait_for`` returns the inner result when a cancellation arrives in the same loop iteration
in which the send finished (CPython gh-86296, fixed in 3.12), so the awaiting task carries
on as if it had never been cancelled: the request is used up, ``Task.cancelling()`` stays
raised, and no ``CancelledError`` comes at any later ``await``. In a stress script on this
machine (redis-py 8.1, cancels 0-5 loop iterations after the call started), 4 of 400
cancelled ``PING`` calls and 70 of 400 cancelled ``connect()`` calls (its ``CLIENT SETINFO``
is two sends) returned normally.

Two places in ``RedisLock`` then waited for ever (the intermittent hang of
``test_many_waits_share_one_subscription``): a ``wait_released()`` whose own timeout was
swallowed during its ``EXISTS`` check went on to wait for a wake-up with no timer left, and a
release listener cancelled by ``aclose()`` during its ``SUBSCRIBE`` went on to read the
subscription for ever while ``aclose()`` waited for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

__all__ = ("cancel_pending", "no_swallowed_cancel")


def cancel_pending(since: int = 0) -> bool:
    """Whether the current task has more cancellation requests than ``since``."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > since


@contextlib.contextmanager
def no_swallowed_cancel() -> Iterator[None]:
    """Raise ``CancelledError`` when the block was cancelled but ended without one.

    Compares ``Task.cancelling()`` before and after the block, so a cancellation that was
    delivered and handled inside (an ``asyncio.timeout`` that expired and uncancelled) is
    not raised twice, and code running in a ``finally`` after an earlier cancellation (a
    release at close) is left alone. A block that ended with another error after swallowing
    a cancellation raises ``CancelledError`` from that error: the caller may tolerate the
    error, but must not carry on.
    """
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    try:
        yield
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if cancel_pending(before):
            raise asyncio.CancelledError from exc
        raise
    if cancel_pending(before):
        raise asyncio.CancelledError
