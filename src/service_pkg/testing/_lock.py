"""``InMemoryLock``: the ``Lock`` semantics of ``RedisLock`` without a server."""

from __future__ import annotations

import asyncio
import secrets

from service_pkg._tasks import race_clock
from service_pkg.clock import Clock, SystemClock
from service_pkg.lock import AcquireResult, AcquireStatus, ExtendResult, ReleaseResult, ttl_ms

__all__ = ("InMemoryLock", "LockStore")


class LockStore:
    """What Redis holds for locks, in memory: holders with expiry, epochs, restart grace.

    Share one store between several :class:`InMemoryLock` objects to make them compete.
    :meth:`flush` simulates a Redis that restarted empty. Expiry follows ``clock``, so a
    :class:`~service_pkg.testing.ManualClock` drives it.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._holders: dict[str, tuple[str, float]] = {}
        self._epochs: dict[str, int] = {}
        self._grace_until: dict[str, float] = {}
        self._released: dict[str, asyncio.Event] = {}

    def __repr__(self) -> str:
        """Show the names currently held."""
        return f"<LockStore held={sorted(self._holders)}>"

    def holder(self, name: str) -> str | None:
        """The token holding ``name`` now, or ``None``."""
        self._expire(name)
        held = self._holders.get(name)
        return held[0] if held else None

    def epoch(self, name: str) -> int:
        """The last fencing epoch handed out for ``name`` (0 if none)."""
        return self._epochs.get(name, 0)

    def flush(self) -> None:
        """Lose every key, as a Redis restarted without persistence would."""
        self._holders.clear()
        self._epochs.clear()
        self._grace_until.clear()

    def _expire(self, name: str) -> None:
        held = self._holders.get(name)
        if held is not None and held[1] <= self.clock.monotonic():
            del self._holders[name]

    def _notify(self, name: str) -> None:
        event = self._released.pop(name, None)
        if event is not None:
            event.set()

    def _release_event(self, name: str) -> asyncio.Event:
        return self._released.setdefault(name, asyncio.Event())


class InMemoryLock:
    """A :class:`~service_pkg.lock.Lock` over a :class:`LockStore`.

    Same rules as ``RedisLock``: acquiring with our own token renews (no self-lockout);
    extend and release act only for our token; release notifies waiters; a store without an
    epoch for the name (new or flushed) starts the epoch from the clock in microseconds, so
    epochs keep growing across a flush, and with ``restart_grace`` refuses everyone for one
    TTL.
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
        store, name = self._store, self._name
        now = store.clock.monotonic()
        store._expire(name)  # noqa: SLF001
        if name not in store._epochs:  # noqa: SLF001
            store._epochs[name] = int(now * 1_000_000)  # noqa: SLF001
            if self._restart_grace:
                store._grace_until[name] = now + self.ttl  # noqa: SLF001
        grace = store._grace_until.get(name, 0.0) - now  # noqa: SLF001
        if grace > 0:
            return AcquireResult(AcquireStatus.GRACE, ttl_ms=max(1, round(grace * 1000)))
        held = store._holders.get(name)  # noqa: SLF001
        if held is not None and held[0] != self._token:
            remaining = max(1, round((held[1] - now) * 1000))
            return AcquireResult(AcquireStatus.HELD, ttl_ms=remaining)
        store._holders[name] = (self._token, now + self.ttl)  # noqa: SLF001
        if held is not None:
            return AcquireResult(AcquireStatus.RENEWED, epoch=store._epochs[name])  # noqa: SLF001
        store._epochs[name] += 1  # noqa: SLF001
        return AcquireResult(AcquireStatus.ACQUIRED, epoch=store._epochs[name])  # noqa: SLF001

    async def extend(self) -> ExtendResult:
        """See :meth:`service_pkg.lock.Lock.extend`."""
        if self._store.holder(self._name) != self._token:
            return ExtendResult.NOT_OWNER
        now = self._store.clock.monotonic()
        self._store._holders[self._name] = (self._token, now + self.ttl)  # noqa: SLF001
        return ExtendResult.EXTENDED

    async def release(self) -> ReleaseResult:
        """See :meth:`service_pkg.lock.Lock.release`."""
        if self._store.holder(self._name) != self._token:
            return ReleaseResult.NOT_OWNER
        del self._store._holders[self._name]  # noqa: SLF001
        self._store._notify(self._name)  # noqa: SLF001
        return ReleaseResult.RELEASED

    async def wait_released(self, within: float) -> bool:
        """See :meth:`service_pkg.lock.Lock.wait_released` (``within`` in store-clock time)."""
        event = self._store._release_event(self._name)  # noqa: SLF001
        waiter = await race_clock(self._store.clock, within, event.wait())
        return not waiter.cancelled()
