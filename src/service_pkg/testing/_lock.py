"""``InMemoryLock``: the ``Lock`` semantics of ``RedisLock`` without a server."""

from __future__ import annotations

import asyncio
import secrets
from typing import Self

from service_pkg._tasks import race_clock
from service_pkg.clock import Clock, SystemClock
from service_pkg.exceptions import ClosedResourceError
from service_pkg.lock import AcquireResult, AcquireStatus, ExtendResult, ReleaseResult, ttl_ms
from service_pkg.lock._grace import grace_left_ms, log_grace

__all__ = ("InMemoryLock", "LockStore")


class LockStore:
    """What Redis holds for locks, in memory: holders with expiry, epochs, and its uptime.

    Share one store between several :class:`InMemoryLock` objects to make them compete.
    A new store is a server that has been up ``uptime`` seconds (0: it just started).
    :meth:`flush` simulates a Redis that restarted empty (its uptime starts again from 0),
    :meth:`flushall` one that lost its keys while running (``FLUSHALL``: the uptime goes on).
    Expiry and uptime follow ``clock``, so a :class:`~service_pkg.testing.ManualClock`
    drives them.
    """

    def __init__(self, clock: Clock | None = None, *, uptime: float = 0.0) -> None:
        self.clock: Clock = clock or SystemClock()
        self._started = self.clock.monotonic() - uptime
        self._holders: dict[str, tuple[str, float]] = {}
        self._epochs: dict[str, int] = {}
        self._released: dict[str, asyncio.Event] = {}
        self._releases: dict[str, int] = {}

    def __repr__(self) -> str:
        """Show the names currently held."""
        return f"<LockStore held={sorted(self._holders)}>"

    @property
    def uptime(self) -> float:
        """Seconds since the simulated server (re)started (Redis ``INFO`` rounds it down)."""
        return self.clock.monotonic() - self._started

    def holder(self, name: str) -> str | None:
        """The token holding ``name`` now, or ``None``."""
        self._expire(name)
        held = self._holders.get(name)
        return held[0] if held else None

    def epoch(self, name: str) -> int:
        """The last fencing epoch handed out for ``name`` (0 if none)."""
        return self._epochs.get(name, 0)

    def flush(self) -> None:
        """Restart without persistence: every key is lost and the uptime starts from 0."""
        self.flushall()
        self._started = self.clock.monotonic()

    def flushall(self) -> None:
        """Lose every key while running (Redis ``FLUSHALL``); the uptime goes on."""
        self._holders.clear()
        self._epochs.clear()

    def _expire(self, name: str) -> None:
        held = self._holders.get(name)
        if held is not None and held[1] <= self.clock.monotonic():
            del self._holders[name]

    def _notify(self, name: str) -> None:
        self._releases[name] = self._releases.get(name, 0) + 1
        event = self._released.pop(name, None)
        if event is not None:
            event.set()

    def _release_event(self, name: str) -> asyncio.Event:
        return self._released.setdefault(name, asyncio.Event())


class InMemoryLock:
    """A :class:`~service_pkg.lock.Lock` over a :class:`LockStore`.

    Same rules as ``RedisLock``: acquiring with our own token renews (no self-lockout);
    extend and release act only for our token; release notifies waiters, and
    :meth:`wait_released` sees a release that came after the last acquire attempt even if
    it began waiting later; a store without an epoch for the name (new or flushed) starts
    the epoch from the clock in microseconds, so epochs keep growing across a flush; with
    ``restart_grace`` a free lock is refused while the store has been up for less than one
    TTL (logged at INFO), never merely because the name is new.

    Lifecycle: ``async with`` returns the lock; :meth:`aclose` (idempotent) releases a hold
    of ours, and later calls raise :class:`~service_pkg.exceptions.ClosedResourceError`.
    """

    def __init__(
        self,
        name: str,
        *,
        ttl: float,
        store: LockStore | None = None,
        restart_grace: bool = False,
    ) -> None:
        self._name = name
        self._ttl_ms = ttl_ms("ttl", ttl)
        self._store = store or LockStore()
        self._restart_grace = restart_grace
        self._token = secrets.token_hex(16)
        self._seen_releases = self._store._releases.get(name, 0)  # noqa: SLF001
        self._closed = False

    def __repr__(self) -> str:
        """Show the name and whether we hold it."""
        held = self._store.holder(self._name) == self._token
        return f"<InMemoryLock name={self._name!r} held={held} ttl={self.ttl:g}>"

    @property
    def name(self) -> str:
        """The lock's name."""
        return self._name

    @property
    def token(self) -> str:
        """This holder's random token."""
        return self._token

    @property
    def ttl(self) -> float:
        """Lease length in seconds."""
        return self._ttl_ms / 1000

    @property
    def store(self) -> LockStore:
        """The store this lock lives in."""
        return self._store

    async def acquire(self) -> AcquireResult:
        """See :meth:`service_pkg.lock.Lock.acquire`."""
        self._check_open()
        store, name = self._store, self._name
        self._seen_releases = store._releases.get(name, 0)  # noqa: SLF001
        now = store.clock.monotonic()
        store._expire(name)  # noqa: SLF001
        held = store._holders.get(name)  # noqa: SLF001
        if held is not None and held[0] == self._token:
            store._holders[name] = (self._token, now + self.ttl)  # noqa: SLF001
            return AcquireResult(AcquireStatus.RENEWED, epoch=store._epochs.get(name, 0))  # noqa: SLF001
        if held is not None:
            remaining = max(1, round((held[1] - now) * 1000))
            return AcquireResult(AcquireStatus.HELD, ttl_ms=remaining)
        if self._restart_grace:
            uptime = store.uptime
            left = grace_left_ms(self._ttl_ms, uptime)
            if left > 0:
                log_grace(name, left, uptime, self.ttl)
                return AcquireResult(AcquireStatus.GRACE, ttl_ms=left)
        if name not in store._epochs:  # noqa: SLF001
            store._epochs[name] = int(now * 1_000_000)  # noqa: SLF001
        store._holders[name] = (self._token, now + self.ttl)  # noqa: SLF001
        store._epochs[name] += 1  # noqa: SLF001
        return AcquireResult(AcquireStatus.ACQUIRED, epoch=store._epochs[name])  # noqa: SLF001

    async def extend(self) -> ExtendResult:
        """See :meth:`service_pkg.lock.Lock.extend`."""
        self._check_open()
        if self._store.holder(self._name) != self._token:
            return ExtendResult.NOT_OWNER
        now = self._store.clock.monotonic()
        self._store._holders[self._name] = (self._token, now + self.ttl)  # noqa: SLF001
        return ExtendResult.EXTENDED

    async def release(self) -> ReleaseResult:
        """See :meth:`service_pkg.lock.Lock.release`."""
        self._check_open()
        return self._release()

    async def wait_released(self, within: float) -> bool:
        """See :meth:`service_pkg.lock.Lock.wait_released` (``within`` in store-clock time)."""
        self._check_open()
        releases = self._store._releases  # noqa: SLF001
        if releases.get(self._name, 0) != self._seen_releases:
            self._seen_releases = releases[self._name]
            return True
        event = self._store._release_event(self._name)  # noqa: SLF001
        waiter = await race_clock(self._store.clock, within, event.wait())
        if waiter.cancelled():
            return False
        self._seen_releases = releases.get(self._name, 0)
        return True

    async def ping(self) -> None:
        """Health probe: healthy while open.

        Raises:
            ClosedResourceError: the lock was closed.
        """
        self._check_open()

    async def aclose(self) -> None:
        """Release our hold if we have one and close; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._release()

    async def __aenter__(self) -> Self:
        """Return the lock."""
        self._check_open()
        return self

    async def __aexit__(self, *_: object) -> None:
        """Call :meth:`aclose`."""
        await self.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedResourceError(f"{self!r} was closed; create a new InMemoryLock")

    def _release(self) -> ReleaseResult:
        if self._store.holder(self._name) != self._token:
            return ReleaseResult.NOT_OWNER
        del self._store._holders[self._name]  # noqa: SLF001
        self._store._notify(self._name)  # noqa: SLF001
        return ReleaseResult.RELEASED
