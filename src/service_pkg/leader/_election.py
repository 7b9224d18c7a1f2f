"""``LockElection``: leader election over any ``Lock``, safe against pauses and data loss."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from service_pkg._checks import check_seconds
from service_pkg._tasks import cancel_and_wait, race_clock
from service_pkg.clock import Clock, SystemClock
from service_pkg.exceptions import ConfigError
from service_pkg.leader._fanout import EventFanout
from service_pkg.leader._protocol import LeaderEvent
from service_pkg.lock import AcquireStatus, ExtendResult, Lock, ttl_ms

__all__ = (
    "DEFAULT_EXPIRATION",
    "ELECTION_CLICKHOUSE_BUSHER",
    "ELECTION_CRON",
    "ELECTION_SHK_ON_PLACE_STREAM_PROCESSOR_DOWNLOADER",
    "LeaderConfig",
    "LeaderStats",
    "LockElection",
    "lock_election",
)

log = logging.getLogger("service_pkg.leader")

T = TypeVar("T")

DEFAULT_EXPIRATION = 30.0
"""Seconds a lease lasts: the Go ``DefaultLeaderExpiration``."""
ELECTION_CRON = "watchdog_cron"
"""The Go ``watchdog.Cron`` election name."""
ELECTION_CLICKHOUSE_BUSHER = "watchdog_clickhouse_busher"
"""The Go ``watchdog.ClickhouseBusher`` election name."""
ELECTION_SHK_ON_PLACE_STREAM_PROCESSOR_DOWNLOADER = (
    "watchdog_shk_on_place_stream_processor_downloader"
)
"""The Go ``watchdog.ShkOnPlaceStreamProcessorDownloader`` election name."""

_MIN_EXPIRATION = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderConfig:
    """How one election behaves. ``expiration`` (E) drives every other duration."""

    name: str
    """Election (lock) name, e.g. :data:`ELECTION_CRON`."""
    expiration: float = DEFAULT_EXPIRATION
    """Lease length E in seconds: at least 0.1 s, whole milliseconds. A crashed leader is
    replaced after at most about E; a leader that cannot reach the store steps down before
    its lease can have expired."""
    guard: float | None = None
    """Seconds the local deadline keeps clear of the lease end, for event-loop lateness
    between checks; ``None`` = E/10. Must be < E/2."""
    release_timeout: float | None = None
    """Seconds the final release may take at stop; ``None`` = E/3."""

    def __post_init__(self) -> None:
        """Validate the fields (``ConfigError`` names the field)."""
        name: object = self.name  # checked at runtime: callers may not be type-checked
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("name", name, "must be a non-empty election name")
        ttl_ms("expiration", self.expiration)
        if self.expiration < _MIN_EXPIRATION:
            raise ConfigError("expiration", self.expiration, "must be at least 0.1 s")
        for name in ("guard", "release_timeout"):
            check_seconds(name, getattr(self, name), allow_none=True)
        if self.guard is not None and self.guard >= self.expiration / 2:
            raise ConfigError("guard", self.guard, "must be < expiration / 2")

    @property
    def guard_s(self) -> float:
        """The effective guard in seconds."""
        return self.guard if self.guard is not None else self.expiration / 10

    @property
    def release_timeout_s(self) -> float:
        """The effective release timeout in seconds."""
        return self.release_timeout if self.release_timeout is not None else self.expiration / 3


@dataclass(slots=True)
class LeaderStats:
    """Counters of one election (a snapshot; read :attr:`LockElection.stats` again)."""

    taken: int = 0
    lost: int = 0
    renew_failures: int = 0
    acquire_failures: int = 0
    step_downs: dict[str, int] = field(default_factory=dict)
    """Step-downs by reason: ``not_owner``, ``deadline``, ``stop``."""
    epoch: int = 0


class LockElection:
    """A :class:`~service_pkg.leader.LeaderElection` over a :class:`~service_pkg.lock.Lock`.

    Lifecycle contract:

    * :meth:`start` makes the first acquire attempt before it returns ("started" = the first
      round is done), then runs the lease loop in a task it owns.
    * As leader it renews every ``E/3 + U(0, E/10)`` (the Go period). The local deadline is
      taken from the *send* time of the last successful call minus a margin and the guard;
      :meth:`is_leader` is false from that deadline on, whatever the store says, and the loop
      emits ``LOST`` at the deadline even while a call hangs. A transient error is retried
      every E/10 until the deadline; a definite "not owner" steps down at once.
    * As follower it sleeps until the holder's lease ends (observed PTTL plus a few ms) or a
      release notification, whichever comes first, but at most one period.
    * :meth:`aclose` (idempotent) stops the loop, emits a final ``LOST`` if leader, releases
      the lock within ``release_timeout`` (which notifies followers), and ends every
      ``events()`` iterator. It never raises for store errors; they are logged.

    Events strictly alternate per election and are never dropped: each ``events()`` iterator
    has its own queue, and starts with ``TAKEN`` if leadership is held when it subscribes.
    """

    def __init__(
        self,
        lock: Lock,
        config: LeaderConfig,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if abs(lock.ttl - config.expiration) > 1e-9:  # noqa: PLR2004 - float noise only
            raise ConfigError("lock", lock, "ttl must equal the election's expiration")
        self._lock = lock
        self._config = config
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        e = config.expiration
        self._period = e / 3 + self._rng.uniform(0, e / 10)
        self._margin = e * 0.01 + 0.002 + config.guard_s
        self._leader = False
        self._deadline = 0.0
        self._renewed_at = 0.0
        self._stats = LeaderStats()
        self._fanout = EventFanout()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        """Show the name, leadership and epoch."""
        return (
            f"<LockElection name={self._config.name!r} leader={self.is_leader()} "
            f"epoch={self._stats.epoch}>"
        )

    @property
    def config(self) -> LeaderConfig:
        """The election's configuration."""
        return self._config

    @property
    def epoch(self) -> int:
        """Fencing token of the current (or last) term; 0 before the first ``TAKEN``."""
        return self._stats.epoch

    @property
    def period(self) -> float:
        """Seconds between renewals (drawn once, as in Go)."""
        return self._period

    @property
    def stats(self) -> LeaderStats:
        """A copy of the counters."""
        s = self._stats
        return LeaderStats(
            s.taken, s.lost, s.renew_failures, s.acquire_failures, dict(s.step_downs), s.epoch
        )

    def is_leader(self) -> bool:
        """True only while leader *and* before the local lease deadline."""
        return self._leader and self._clock.monotonic() < self._deadline

    def events(self) -> AsyncIterator[LeaderEvent]:
        """Yield ``TAKEN``/``LOST`` transitions until the election stops."""
        return self._fanout.subscribe(lambda: self._leader)

    async def start(self) -> None:
        """Make the first acquire attempt, then run the lease loop in the background."""
        if self._task is not None or self._closed:
            raise RuntimeError("an election starts once")
        log.info("election started", extra={"election": self._config.name})
        await self._try_acquire()
        self._task = asyncio.create_task(
            self._run(), name=f"service_pkg:election:{self._config.name}"
        )

    async def aclose(self) -> None:
        """Stop: final ``LOST`` if leader, release within the timeout, end the iterators."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._leader:
            self._step_down("stop")
            await self._release_quietly()
        self._fanout.close()
        log.info("election stopped", extra={"election": self._config.name})

    # -- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                if self._leader:
                    await self._lead()
                else:
                    await self._follow()
            except Exception:  # the loop must outlive any surprise; leadership is re-checked
                log.exception("election loop error", extra={"election": self._config.name})
                await self._clock.sleep(self._config.expiration / 10)

    async def _lead(self) -> None:
        next_renew = self._renewed_at + self._period
        while self._leader:
            now = self._clock.monotonic()
            if now >= self._deadline:
                self._step_down("deadline")
                return
            await self._clock.sleep(max(0.0, min(next_renew, self._deadline) - now))
            now = self._clock.monotonic()
            if now >= self._deadline:
                self._step_down("deadline")
                return
            try:
                result = await self._within(self._deadline - now, self._lock.extend())
            except Exception as exc:  # noqa: BLE001 - transient until the deadline says otherwise
                self._stats.renew_failures += 1
                log.warning(
                    "renew failed, retrying",
                    extra={"election": self._config.name, "error": repr(exc)},
                )
                next_renew = self._clock.monotonic() + self._config.expiration / 10
                continue
            if result is ExtendResult.NOT_OWNER:
                self._step_down("not_owner")
                return
            self._deadline = now + self._config.expiration - self._margin
            self._renewed_at = now
            next_renew = now + self._period

    async def _follow(self) -> None:
        wait = await self._try_acquire()
        if self._leader:
            return
        try:
            await self._lock.wait_released(wait)
        except Exception:  # noqa: BLE001 - the store is unreachable: just wait
            await self._clock.sleep(wait)

    async def _try_acquire(self) -> float:
        """One acquire attempt; return how long a follower should wait before the next."""
        sent = self._clock.monotonic()
        try:
            result = await self._within(self._period, self._lock.acquire())
        except asyncio.CancelledError:
            # The acquire may have succeeded just as we were cancelled, its reply dropped
            # with the cancellation: release whatever our token holds so nothing is orphaned.
            await self._release_quietly()
            raise
        except Exception as exc:  # noqa: BLE001 - a follower just tries again later
            self._stats.acquire_failures += 1
            log.warning(
                "acquire failed, retrying",
                extra={"election": self._config.name, "error": repr(exc)},
            )
            return self._config.expiration / 10
        if result.acquired:
            self._take(result.epoch, sent)
            return 0.0
        if result.status in {AcquireStatus.HELD, AcquireStatus.GRACE} and result.ttl_ms > 0:
            return min(result.ttl_ms / 1000 + self._rng.uniform(0.001, 0.01), self._period)
        return self._period

    async def _release_quietly(self) -> None:
        """Release if our token holds the lock, within the release timeout; never raise."""
        try:
            await self._within(self._config.release_timeout_s, self._lock.release())
        except Exception:  # the lease expires by itself; log and go on
            log.warning(
                "release failed; the lease will expire by itself",
                exc_info=True,
                extra={"election": self._config.name},
            )

    def _take(self, epoch: int, sent: float) -> None:
        self._leader = True
        self._renewed_at = sent
        self._deadline = sent + self._config.expiration - self._margin
        self._stats.taken += 1
        self._stats.epoch = epoch
        log.info("leadership taken", extra={"election": self._config.name, "epoch": epoch})
        self._emit(LeaderEvent.TAKEN)

    def _step_down(self, reason: str) -> None:
        self._leader = False
        self._stats.lost += 1
        self._stats.step_downs[reason] = self._stats.step_downs.get(reason, 0) + 1
        log.warning(
            "leadership lost",
            extra={"election": self._config.name, "reason": reason, "epoch": self._stats.epoch},
        )
        self._emit(LeaderEvent.LOST)

    def _emit(self, event: LeaderEvent) -> None:
        self._fanout.emit(event)

    async def _within(self, seconds: float, call: Awaitable[T]) -> T:
        """Await ``call``, but give up (TimeoutError) after ``seconds`` of clock time."""
        task = await race_clock(self._clock, seconds, call)
        if not task.cancelled():
            return task.result()
        raise TimeoutError(f"lock call did not finish within {seconds:.3f} s")


async def lock_election(
    lock: Lock,
    config: LeaderConfig,
    *,
    clock: Clock | None = None,
) -> AsyncGenerator[LockElection, object]:
    """Component factory: ``Component(lock_election, lock, config)``; any ``Lock`` works."""
    election = LockElection(lock, config, clock=clock)
    await election.start()
    try:
        yield election
    finally:
        await election.aclose()
