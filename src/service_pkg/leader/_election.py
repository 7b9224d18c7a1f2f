"""``LockElection``: leader election over any ``Lock``, safe against pauses and data loss."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Self, TypeVar

from service_pkg._tasks import cancel_and_wait, race_clock
from service_pkg.clock import Clock, SystemClock
from service_pkg.events import ElectionRenewed, EventBus, RenewOutcome, current_events
from service_pkg.exceptions import ConfigError
from service_pkg.health import default_health
from service_pkg.leader._config import LeaderConfig, LeaderStats
from service_pkg.leader._fanout import ACQUIRED, EventFanout, announce, check_hold_off, resigned
from service_pkg.leader._protocol import LeaderEvent
from service_pkg.lock import AcquireStatus, ExtendResult, Lock

__all__ = ("LockElection", "lock_election")

log = logging.getLogger("service_pkg.leader")

T = TypeVar("T")


class LockElection:
    """A :class:`~service_pkg.leader.LeaderElection` over a :class:`~service_pkg.lock.Lock`.

    Lifecycle contract:

    * ``async with election:`` runs :meth:`start`: the first acquire attempt is made before
      it returns ("started" = the first round is done), then the lease loop runs in a task
      the election owns. With ``owns_lock=True`` the lock is entered first and closed by
      :meth:`aclose` (the ``leader_election`` factory builds its ``RedisLock`` so).
    * As leader it renews every ``E/3 + U(0, E/10)`` (the Go period). The local deadline is
      taken from the *send* time of the last successful call minus a margin and the guard;
      :meth:`is_leader` is false from that deadline on, whatever the store says, and the loop
      emits ``LOST`` at the deadline even while a call hangs. A transient error is retried
      every E/10 until the deadline; a definite "not owner", or a store that is not the
      master the hold was taken on (``MASTER_CHANGED``: a failover, ``READONLY``), steps
      down at once. A renewal fewer replicas confirmed than the lock's ``min_replicas``
      (``UNCONFIRMED``) counts as a failed one: the deadline does not move.
    * As follower it sleeps until the holder's lease ends (observed PTTL plus a few ms) or a
      release notification, whichever comes first, but at most one period.
    * :meth:`resign` steps down if leader (``LOST``, reason ``resigned:<reason>``), releases
      the lock (which notifies followers) and keeps the loop out of acquisitions for the
      hold-off, even when the key is free.
    * :meth:`aclose` (idempotent; ``__aexit__`` calls it) stops the loop, emits a final
      ``LOST`` if leader, releases the lock within ``release_timeout`` (which notifies
      followers), ends every ``events()`` iterator and closes an owned lock. It never raises
      for store errors; they are logged.

    Events strictly alternate per election and are never dropped: each ``events()`` iterator
    has its own queue, and starts with ``TAKEN`` if leadership is held when it subscribes.
    Every transition is also published as a :class:`~service_pkg.events.LeadershipChanged`
    and every renewal as an :class:`~service_pkg.events.ElectionRenewed` on ``events``
    (default: :func:`~service_pkg.events.current_events`, read here).

    Raises:
        ConfigError: the lock's TTL differs from ``config.expiration``, or ``owns_lock`` is
            given for a lock that is not an async context manager with ``aclose()``.

    .. versionchanged:: 0.2.0 ``async with``, :meth:`resign`, :attr:`last_reason`,
       :attr:`hold_off_until`, :attr:`lock`, :meth:`ensure_running`, the ``events`` and
       ``owns_lock`` arguments.
    """

    def __init__(
        self,
        lock: Lock,
        config: LeaderConfig,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        events: EventBus | None = None,
        owns_lock: bool = False,
    ) -> None:
        if abs(lock.ttl - config.expiration) > 1e-9:  # noqa: PLR2004 - float noise only
            raise ConfigError("lock", lock, "ttl must equal the election's expiration")
        if owns_lock and not all(hasattr(lock, a) for a in ("__aenter__", "aclose")):
            raise ConfigError("owns_lock", owns_lock, "needs a lock with __aenter__ and aclose()")
        self._lock = lock
        self._config = config
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._bus = events if events is not None else current_events()
        self._owns_lock = owns_lock
        e = config.expiration
        self._period = e / 3 + self._rng.uniform(0, e / 10)
        self._margin = e * 0.01 + 0.002 + config.guard_s
        self._leader = False
        self._deadline = 0.0
        self._renewed_at = 0.0
        self._hold_off_until = -math.inf
        self._last_reason: str | None = None
        self._stats = LeaderStats()
        self._fanout = EventFanout()
        self._task: asyncio.Task[None] | None = None
        # start, resign and aclose each replace the loop; one at a time.
        self._transition = asyncio.Lock()
        self._started = False
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
    def lock(self) -> Lock:
        """The lock the election runs on (closed by :meth:`aclose` when owned)."""
        return self._lock

    @property
    def epoch(self) -> int:
        """Fencing token of the current (or last) term; 0 before the first ``TAKEN``."""
        return self._stats.epoch

    @property
    def last_reason(self) -> str | None:
        """Reason of the last transition; ``None`` before the first.

        ``acquired`` for a ``TAKEN``; ``stop``, ``deadline``, ``not_owner`` or
        ``resigned:<reason>`` for a ``LOST``.
        """
        return self._last_reason

    @property
    def hold_off_until(self) -> float:
        """Clock time before which the election does not acquire (``-inf``: no hold-off)."""
        return self._hold_off_until

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

    async def __aenter__(self) -> Self:
        """Run :meth:`start` and return self; a failed start closes what it opened.

        Raises:
            RuntimeError: entered (or started) before, or closed.
        """
        if self._started or self._closed:
            raise RuntimeError("an election starts once")
        try:
            await self.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        """Call :meth:`aclose`."""
        await self.aclose()

    async def start(self) -> None:
        """Make the first acquire attempt (unless in a hold-off), then run the lease loop.

        Raises:
            RuntimeError: started before, or closed.
        """
        async with self._transition:
            if self._started or self._closed:
                raise RuntimeError("an election starts once")
            self._started = True
            if self._owns_lock:
                opened: Any = self._lock  # checked in __init__: an async context manager
                await opened.__aenter__()
            log.info("election started", extra={"election": self._config.name})
            if not self._holding_off():
                await self._try_acquire()
            self._spawn()

    async def resign(self, reason: str, *, hold_off: float) -> None:
        """Step down if leader and stay out of acquisitions for ``hold_off`` seconds.

        As leader: ``LOST`` (reason ``resigned:<reason>``), then the lock is released within
        ``release_timeout`` (followers are notified and one takes over at once). In every
        case the loop makes no acquire attempt before ``hold_off`` seconds of the election's
        clock have passed, even when the key is free; a later resign extends the hold-off
        (the later end wins). After :meth:`aclose` it does nothing.

        Raises:
            ConfigError: ``hold_off`` is negative or not a finite number.
        """
        wait = check_hold_off(hold_off)
        async with self._transition:
            if self._closed:
                return
            until = self._clock.monotonic() + wait
            self._hold_off_until = max(self._hold_off_until, until)
            if self._task is not None:
                await cancel_and_wait(self._task)
            if self._leader:
                self._step_down(resigned(reason))
                await self._release_quietly()
            log.info(
                "election holding off",
                extra={"election": self._config.name, "reason": reason, "hold_off": wait},
            )
            if self._started:
                self._spawn()

    async def aclose(self) -> None:
        """Stop: final ``LOST`` if leader, release within the timeout, end the iterators."""
        if self._closed:
            return
        self._closed = True
        async with self._transition:
            if self._task is not None:
                await cancel_and_wait(self._task)
            if self._leader:
                self._step_down("stop")
                await self._release_quietly()
            self._fanout.close()
            if self._owns_lock:
                await self._close_lock()
        log.info("election stopped", extra={"election": self._config.name})

    def ensure_running(self) -> None:
        """Return while the lease loop runs (the default health check); raise otherwise.

        A start or resign in progress counts as running: it replaces the loop.

        Raises:
            RuntimeError: not started, closed, or the loop ended (cancelled or crashed).
        """
        name = self._config.name
        if self._transition.locked() and not self._closed:
            return
        if self._closed:
            raise RuntimeError(f"election {name!r}: closed")
        task = self._task
        if task is None:
            raise RuntimeError(f"election {name!r}: the lease loop has not started")
        if not task.done():
            return
        if task.cancelled():
            raise RuntimeError(f"election {name!r}: the lease loop was cancelled")
        error = task.exception()
        cause = f" with {type(error).__name__}" if error is not None else ""
        raise RuntimeError(f"election {name!r}: the lease loop ended{cause}")

    # -- the loop ------------------------------------------------------------------------

    def _spawn(self) -> None:
        self._task = asyncio.create_task(
            self._run(), name=f"service_pkg:election:{self._config.name}"
        )

    def _holding_off(self) -> bool:
        return self._clock.monotonic() < self._hold_off_until

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
                # LOST goes out at the deadline itself, not once the abandoned call is reaped.
                result = await self._within(
                    self._deadline - now,
                    self._lock.extend(),
                    on_expiry=functools.partial(self._renewal_expired, now),
                )
            except Exception as exc:  # noqa: BLE001 - transient until the deadline says otherwise
                if self._stepped_down():
                    return  # cut off at the deadline: _renewal_expired published it
                timed_out = isinstance(exc, TimeoutError)
                self._renewed(RenewOutcome.TIMED_OUT if timed_out else RenewOutcome.FAILED, now)
                self._stats.renew_failures += 1
                log.warning(
                    "renew failed, retrying",
                    extra={"election": self._config.name, "error": repr(exc)},
                )
                next_renew = self._clock.monotonic() + self._config.expiration / 10
                continue
            if self._stepped_down():
                return  # the deadline passed first: a reply that came late changes nothing
            if result in {ExtendResult.NOT_OWNER, ExtendResult.MASTER_CHANGED}:
                self._renewed(
                    RenewOutcome.NOT_OWNER
                    if result is ExtendResult.NOT_OWNER
                    else RenewOutcome.MASTER_CHANGED,
                    now,
                )
                self._step_down(str(result))
                return
            if result is ExtendResult.UNCONFIRMED:
                # Too few replicas have it: a failover could lose it, so the deadline stays.
                self._renewed(RenewOutcome.UNCONFIRMED, now)
                self._stats.renew_failures += 1
                log.warning(
                    "renew not confirmed by enough replicas, retrying",
                    extra={"election": self._config.name},
                )
                next_renew = self._clock.monotonic() + self._config.expiration / 10
                continue
            self._renewed(RenewOutcome.EXTENDED, now)
            self._deadline = now + self._config.expiration - self._margin
            self._renewed_at = now
            next_renew = now + self._period

    def _stepped_down(self) -> bool:
        # A method, not ``not self._leader`` inline: the flag changes under an await (in
        # ``on_expiry``), which type narrowing of the loop condition cannot see.
        return not self._leader

    def _renewal_expired(self, sent: float) -> None:
        self._renewed(RenewOutcome.TIMED_OUT, sent)
        self._stats.renew_failures += 1
        self._step_down("deadline")

    def _renewed(self, outcome: RenewOutcome, sent: float) -> None:
        """Publish one renewal; ``margin`` is measured against the deadline it had to beat."""
        if not self._bus.wants(ElectionRenewed):
            return
        arrived = self._clock.monotonic()
        self._bus.emit(
            ElectionRenewed(
                election=self._config.name,
                outcome=outcome,
                latency=arrived - sent,
                margin=self._deadline - arrived,
            ),
        )

    async def _follow(self) -> None:
        held_off = self._hold_off_until - self._clock.monotonic()
        if held_off > 0:
            await self._clock.sleep(held_off)
            return
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
        renewed = result.status is AcquireStatus.RENEWED
        if renewed and self._stats.taken and result.epoch <= self._stats.epoch:
            # Our key outlived our last term (we stepped down at the deadline while the
            # store kept our token): renewing it would begin a new term under the old epoch.
            # Hand it back and compete again, so every term gets a larger epoch (a fresh
            # acquisition is a new term whatever epoch a backend without fencing reports).
            await self._release_quietly()
            return 0.0
        if result.acquired:
            self._take(result.epoch, sent)
            return 0.0
        if result.status is AcquireStatus.UNCONFIRMED:
            return self._config.expiration / 10
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

    async def _close_lock(self) -> None:
        owned: Any = self._lock  # checked in __init__: has aclose()
        try:
            await owned.aclose()
        except Exception:  # stop never raises for store errors
            log.warning(
                "closing the lock failed",
                exc_info=True,
                extra={"election": self._config.name},
            )

    def _take(self, epoch: int, sent: float) -> None:
        self._leader = True
        self._renewed_at = sent
        self._deadline = sent + self._config.expiration - self._margin
        self._stats.taken += 1
        self._stats.epoch = epoch
        self._last_reason = ACQUIRED
        log.info("leadership taken", extra={"election": self._config.name, "epoch": epoch})
        announce(self._bus, self._config.name, LeaderEvent.TAKEN, epoch, ACQUIRED)
        self._fanout.emit(LeaderEvent.TAKEN)

    def _step_down(self, reason: str) -> None:
        self._leader = False
        self._last_reason = reason
        kind = reason.partition(":")[0]
        self._stats.lost += 1
        self._stats.step_downs[kind] = self._stats.step_downs.get(kind, 0) + 1
        # A graceful stop or a deliberate resign is the plan, not a fault (issue 9).
        level = logging.INFO if kind in {"stop", "resigned"} else logging.WARNING
        log.log(
            level,
            "leadership lost",
            extra={"election": self._config.name, "reason": reason, "epoch": self._stats.epoch},
        )
        announce(self._bus, self._config.name, LeaderEvent.LOST, self._stats.epoch, reason)
        self._fanout.emit(LeaderEvent.LOST)

    async def _within(
        self,
        seconds: float,
        call: Awaitable[T],
        *,
        on_expiry: Callable[[], object] | None = None,
    ) -> T:
        """Await ``call``, but give up (TimeoutError) after ``seconds`` of clock time."""
        task = await race_clock(self._clock, seconds, call, on_expiry=on_expiry)
        if not task.cancelled():
            return task.result()
        raise TimeoutError(f"lock call did not finish within {seconds:.3f} s")


def _lease_loop_runs(election: LockElection) -> None:
    election.ensure_running()


@default_health(_lease_loop_runs, affects_readiness=False)
def lock_election(
    lock: Lock,
    config: LeaderConfig,
    *,
    clock: Clock | None = None,
) -> LockElection:
    """Component factory: ``Component(lock_election, lock, config)``; any ``Lock`` works.

    Returns the unstarted election; the component's start enters it (first acquire round,
    then the lease loop) and its stop closes it. The lock is not closed (whoever created it
    owns it). The default health check passes while the lease loop runs and does not
    affect readiness.
    """
    return LockElection(lock, config, clock=clock)
