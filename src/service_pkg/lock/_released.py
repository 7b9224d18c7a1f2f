"""The release subscription of a ``RedisLock``: how a follower hears that the key was freed.

One reader task per lock keeps a subscription to ``<key>:released`` open, reopening it after
errors, and counts two things: releases heard and (re)subscriptions. An acquire notes both
counters when it is sent (:meth:`ReleaseWatch.note_attempt`), so a wait that follows returns
at once for a release published in between, and checks the key itself when the subscription
began (or came back) after the attempt, since a release in that gap was not heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service_pkg._tasks import cancel_and_wait
from service_pkg.lock._cancel import cancel_pending

__all__ = ("ReleaseWatch",)

logger = logging.getLogger("service_pkg.lock")

_RESUBSCRIBE_MIN, _RESUBSCRIBE_MAX = 0.05, 2.0
"""Back-off (seconds) between attempts to reopen a lost release subscription."""


class ReleaseWatch:
    """The release notifications of one lock; not used on a cluster (the lock polls there).

    Lifecycle: the first :meth:`wait` starts the reader task, which lives until
    :meth:`aclose`. Errors never reach a waiter: a lost subscription is reopened with
    back-off (logged once), and its return is reported through ``on_reconnect``.
    """

    def __init__(
        self,
        client: Redis,
        channel: str,
        name: str,
        on_reconnect: Callable[[BaseException | str, str], None],
    ) -> None:
        self._client = client
        self._channel = channel
        self._name = name
        self._on_reconnect = on_reconnect
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._released = 0
        self._subscriptions = 0
        self._seen_released = 0
        self._seen_subscriptions = 0

    def note_attempt(self) -> None:
        """Called as an acquire is sent: later releases and resubscriptions count as new."""
        self._seen_released = self._released
        if self._subscribed.is_set():
            self._seen_subscriptions = self._subscriptions

    async def wait(self, within: float, key_free: Callable[[], Awaitable[bool]]) -> bool:
        """True once a release came since the last attempt (or the last True); False at the end.

        ``key_free`` is asked once per (re)subscription that began after the last attempt.
        """
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name=f"service_pkg:lock:{self._name}:released"
            )
        try:
            async with asyncio.timeout(within):
                while True:
                    await self._subscribed.wait()
                    if self._released != self._seen_released:
                        self._seen_released = self._released
                        return True
                    if self._subscriptions != self._seen_subscriptions:
                        self._seen_subscriptions = self._subscriptions
                        if await key_free():
                            return True
                        continue
                    await self._wakeup.wait()
        except TimeoutError:
            return False

    async def aclose(self) -> None:
        """End the reader task (and with it the subscription's connection)."""
        if self._listener is not None:
            await cancel_and_wait(self._listener)

    async def _listen(self) -> None:
        """Own task: keep one subscription to the channel, reopening it after errors.

        It is only ever cancelled by :meth:`aclose`, so any cancellation request means stop:
        one that redis-py swallowed (``_cancel.py``) is raised after the call that took it.
        """
        error: BaseException | None = None
        delay = _RESUBSCRIBE_MIN
        while True:
            pubsub = self._client.pubsub()
            confirmed = False
            try:
                await pubsub.subscribe(self._channel)
                _stop_if_cancelled()
                while True:
                    message = await pubsub.get_message(timeout=None)
                    _stop_if_cancelled()
                    kind = message.get("type") if message else None
                    if kind == "message":
                        self._released += 1
                    elif kind == "subscribe":
                        self._subscriptions += 1
                        self._subscribed.set()
                        delay = _RESUBSCRIBE_MIN
                        if error is not None or confirmed:
                            # confirmed: redis-py reconnected and resubscribed on its own
                            # (its retry policy), so the error it handled is not ours to see
                            lost = error if error is not None else "connection lost"
                            self._on_reconnect(lost, "release subscription")
                            error = None
                        confirmed = True
                    else:
                        continue
                    self._wake()
            except (RedisError, OSError) as exc:
                _stop_if_cancelled()
                self._subscribed.clear()
                if error is None:
                    logger.warning(
                        "lock: release subscription lost; reopening it",
                        extra={"service_pkg_lock": self._name, "service_pkg_error": str(exc)},
                    )
                error = exc
            finally:
                await _close_quietly(pubsub.aclose())  # type: ignore[no-untyped-call]
            _stop_if_cancelled()
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RESUBSCRIBE_MAX)

    def _wake(self) -> None:
        event, self._wakeup = self._wakeup, asyncio.Event()
        event.set()


def _stop_if_cancelled() -> None:
    """In the reader task: end it if a cancellation request is pending."""
    if cancel_pending():
        raise asyncio.CancelledError


async def _close_quietly(closing: Awaitable[object]) -> None:
    """Close a subscription; an error while closing a broken connection changes nothing."""
    with contextlib.suppress(RedisError, OSError):
        await closing
