"""``RedisLock``: the ``Lock`` protocol on Redis, three Lua scripts, one round trip each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Self

from service_pkg.events import EventBus, StoreReconnected, current_events
from service_pkg.exceptions import ClosedResourceError, ConfigError, MissingDependencyError
from service_pkg.health import default_health
from service_pkg.lock._cancel import no_swallowed_cancel
from service_pkg.lock._config import RedisLockConfig, companion
from service_pkg.lock._grace import log_grace, log_master_change
from service_pkg.lock._protocol import (
    AcquireResult,
    AcquireStatus,
    ExtendResult,
    ReleaseResult,
    ttl_ms,
)
from service_pkg.lock._scripts import (
    ACQUIRE,
    EXTEND,
    GRACE,
    MASTER_CHANGED,
    MOVED_UPTIME,
    RELEASE,
    RENEWED,
    Script,
)

try:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.exceptions import ReadOnlyError, RedisError

    from service_pkg.lock._link import LINK_ERRORS, ClusterLink, Command, Link
    from service_pkg.lock._released import ReleaseWatch
except ImportError as exc:  # pragma: no cover - the import test hides redis-py
    raise MissingDependencyError("service_pkg.lock.RedisLock", "redis") from exc

__all__ = ("RedisLock", "RedisLockConfig", "redis_lock")

logger = logging.getLogger("service_pkg.lock")

_CLEANUP_TIMEOUT = 2.0
"""Upper bound (seconds) of a release done on our own (after a cancelled acquire, at close)."""
_LINK_ERRORS = LINK_ERRORS
_POLL = 0.05
"""Seconds between ``EXISTS`` polls of a follower waiting on a cluster."""


class _Attempt:
    """Whether a call reached the point where a command may have been sent."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


class RedisLock:
    """A :class:`~service_pkg.lock.Lock` on Redis: key ``prefix + name``, value a random token.

    Same rules as :class:`~service_pkg.testing.InMemoryLock`:

    * :meth:`acquire` takes a free key (``SET token PX ttl``, epoch = ``max(last + 1, TIME
      in µs)`` in ``{<key>}:epoch``), renews a key that already holds our token (no
      self-lockout, Go bug #3), and otherwise reports ``HELD`` with the remaining
      milliseconds, or ``GRACE`` while the store may have lost the key (``restart_grace``: a
      Redis up for less than one TTL, or a master other than the one of the last acquisition;
      logged at INFO with the time left);
    * :meth:`extend` resets the TTL and :meth:`release` deletes the key only while our token
      holds it; a release publishes on ``<key>:released``, which :meth:`wait_released` awaits;
      :meth:`extend` answers ``MASTER_CHANGED`` on a server other than the hold's master;
    * with ``min_replicas=N``, ``WAIT N`` follows the acquire and extend scripts in the same
      write; fewer confirmations answer ``UNCONFIRMED`` (the call does not count).

    Each call is one ``EVALSHA`` (plus ``WAIT``) in one write; ``NOSCRIPT`` loads the script
    and sends it again. The client may be a standalone or Sentinel ``Redis`` or a
    ``RedisCluster`` (companion keys share the lock key's hash slot; see ``docs/lock.md``).
    Only redis-py's public API is used.

    Lifecycle contract: ``async with RedisLock(...) as lock`` (or no ``with`` at all: nothing
    is sent until the first call). The lock runs its calls on a dedicated single-connection
    client (``client.client()``): one connection of the client's pool, taken at the first call
    and kept, so a cancelled call never desynchronises other users of the client. The first
    :meth:`wait_released` opens one release subscription (a second connection) that lives,
    reconnecting after errors, until :meth:`aclose` (on a cluster it polls instead). ``aclose()``
    (idempotent; ``__aexit__`` calls it) ends the subscription, releases the lock if our token
    holds it (bounded, never raises for store errors: the key expires by itself), and returns
    the connection. The client itself is never closed here. Calls after ``aclose()`` raise
    :class:`~service_pkg.exceptions.ClosedResourceError`.

    Errors: a connection error or a timeout on the kept connection drops it; the call is sent
    again at once after the connection's ``connect()`` (on a Sentinel pool that asks the
    sentinels where the master is now), then retried as the client's ``retry`` setting says.
    Repeating a script is safe because each is idempotent for one token (a retried release
    whose first attempt was applied reports ``NOT_OWNER``). What is left raises
    ``redis.exceptions.RedisError``. When a call (or the subscription) succeeds again after
    such an error, :class:`~service_pkg.events.StoreReconnected` is emitted on ``events``.

    Cancellation: a cancelled :meth:`acquire` on a lock that did not hold the key deletes the
    key if our token got it (shielded, bounded), so it leaves no orphan; a cancelled
    :meth:`release` or :meth:`extend` changes nothing locally and keeps the token, so the
    call can be repeated.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0 Sentinel re-discovery on every reconnect, ``min_replicas``,
       master-change grace and ``MASTER_CHANGED``, epochs from ``max(last + 1, TIME)``,
       Redis Cluster.
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        name: str,
        config: RedisLockConfig | None = None,
        *,
        events: EventBus | None = None,
    ) -> None:
        """Describe the lock; nothing is sent to Redis until the first call.

        Args:
            client: The ``redis.asyncio.Redis`` whose pool the lock's connections come from
                (standalone or Sentinel ``master_for``), or a
                ``redis.asyncio.cluster.RedisCluster``; never closed.
            name: The lock's name; the key is ``config.prefix + name``.
            config: TTL, key prefix and restart grace; ``RedisLockConfig()`` when ``None``.
            events: Where :class:`~service_pkg.events.StoreReconnected` goes; the bus of the
                application starting the component (``current_events()``) when ``None``.

        Raises:
            ConfigError: ``name`` is not a non-empty str.
        """
        given: object = name
        if not isinstance(given, str) or not given:
            raise ConfigError("name", given, "must be a non-empty str")
        self._client = client
        self._config = config if config is not None else RedisLockConfig()
        self._events = events if events is not None else current_events()
        self._name = name
        self._key = self._config.prefix + name
        self._link: Link | ClusterLink = (
            ClusterLink(client, self._key) if isinstance(client, RedisCluster) else Link(client)
        )
        self._channel = self._key + ":released"
        self._token = secrets.token_hex(16)
        self._ttl_ms = ttl_ms("ttl", self._config.ttl)
        grace = "1" if self._config.restart_grace else "0"
        epoch, node, held_off = (companion(self._key, s) for s in ("epoch", "node", "grace"))
        self._acquire = _evalsha(
            ACQUIRE, (self._key, epoch, node, held_off), (self._token, self._ttl_ms, grace)
        )
        self._extend = _evalsha(
            EXTEND, (self._key, node, held_off), (self._token, self._ttl_ms, grace)
        )
        self._release = _evalsha(RELEASE, (self._key,), (self._token, self._channel))
        replicas = self._config.min_replicas
        self._wait: Command | None = (
            ("WAIT", replicas, self._config.replica_timeout_ms) if replicas > 0 else None
        )
        self._mutex = asyncio.Lock()
        self._holding = False
        self._closed = False
        self._cleanup_pending = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watch: ReleaseWatch | None = (
            None
            if isinstance(client, RedisCluster)
            else ReleaseWatch(client, self._channel, name, self._reconnected)
        )

    def __repr__(self) -> str:
        """Show name, key, local belief and TTL; never the token."""
        state = "closed" if self._closed else ("holding" if self._holding else "free")
        return f"<RedisLock name={self._name!r} key={self._key!r} state={state} ttl={self.ttl:g}>"

    @property
    def name(self) -> str:
        """The lock's name (without the prefix)."""
        return self._name

    @property
    def key(self) -> str:
        """The Redis key: prefix + name."""
        return self._key

    @property
    def token(self) -> str:
        """This holder's random token (32 hex digits)."""
        return self._token

    @property
    def ttl(self) -> float:
        """Lease length in seconds."""
        return self._ttl_ms / 1000

    @property
    def config(self) -> RedisLockConfig:
        """The configuration."""
        return self._config

    @property
    def holding(self) -> bool:
        """Whether the last answer from Redis said our token holds the key (a local belief)."""
        return self._holding

    async def acquire(self) -> AcquireResult:
        """See :meth:`service_pkg.lock.Lock.acquire`; ``UNCONFIRMED`` with ``min_replicas``."""
        attempt = _Attempt()
        try:
            reply, confirmed = await self._call(self._acquire, attempt)
            self._link.take_demoted()  # only a holder's renewal acts on a demotion
        except asyncio.CancelledError:
            if attempt.sent and not self._holding:
                await self._clean_up_after_cancel()
            raise
        if isinstance(reply, int):  # the hot path: acquired, the reply is the new epoch
            self._holding = True
            if not confirmed:
                return self._unconfirmed()
            return AcquireResult(AcquireStatus.ACQUIRED, epoch=reply)
        status, value = int(reply[0]), int(reply[1])
        if status == RENEWED:
            self._holding = True
            if not confirmed:
                return self._unconfirmed()
            return AcquireResult(AcquireStatus.RENEWED, epoch=value)
        self._holding = False
        ttl = max(1, value) if value >= 0 else -1
        if status == GRACE:
            uptime = int(reply[2])
            if uptime == MOVED_UPTIME:
                log_master_change(self._name, ttl, self._link.address)
            else:
                log_grace(self._name, ttl, uptime, self.ttl)
            return AcquireResult(AcquireStatus.GRACE, ttl_ms=ttl)
        return AcquireResult(AcquireStatus.HELD, ttl_ms=ttl)

    async def extend(self) -> ExtendResult:
        """See :meth:`service_pkg.lock.Lock.extend`.

        ``MASTER_CHANGED`` when the server is not the master the hold was taken on (its
        ``run_id`` differs, it answered ``READONLY``, or Sentinel moved the master while the
        call was retried): the key is dropped there and the holder must step down.
        ``UNCONFIRMED`` when fewer than ``min_replicas`` replicas confirmed the renewal.
        """
        try:
            reply, confirmed = await self._call(self._extend)
        except ReadOnlyError:  # a plain connection to a server that became a replica
            self._holding = False
            return ExtendResult.MASTER_CHANGED
        demoted = self._link.take_demoted()
        if reply == MASTER_CHANGED or (reply == 1 and demoted and not self._config.restart_grace):
            self._holding = reply != MASTER_CHANGED
            if self._holding:  # no run_id check: drop the hold on the new master ourselves
                await self._release_on_our_own("release after a master change")
            return ExtendResult.MASTER_CHANGED
        self._holding = reply == 1
        if not self._holding:
            return ExtendResult.NOT_OWNER
        return ExtendResult.EXTENDED if confirmed else ExtendResult.UNCONFIRMED

    async def release(self) -> ReleaseResult:
        """See :meth:`service_pkg.lock.Lock.release`."""
        released, _ = await self._call(self._release, wait=False)
        self._holding = False
        return ReleaseResult.RELEASED if released == 1 else ReleaseResult.NOT_OWNER

    def _unconfirmed(self) -> AcquireResult:
        logger.info(
            "lock %r: fewer than %d replicas confirmed the acquisition; it does not count",
            self._name,
            self._config.min_replicas,
            extra={"service_pkg_lock": self._name, "service_pkg_reason": "replicas_unconfirmed"},
        )
        return AcquireResult(AcquireStatus.UNCONFIRMED)

    async def wait_released(self, within: float) -> bool:
        """See :meth:`service_pkg.lock.Lock.wait_released`.

        Returns True at once when a release was published after the last :meth:`acquire` was
        sent (or after the last wait that returned True), so a release that falls between an
        attempt and this call is never missed. The first call opens the lock's release
        subscription (it stays open until :meth:`aclose`); when the subscription started, or
        came back after an error, later than the last attempt, the key itself is checked once
        and a free key counts as released. Errors are not raised: an unreachable Redis
        makes the wait last ``within`` and return False.
        """
        self._check_open()
        if within <= 0:
            return False
        if self._watch is None:
            return await self._poll_released(within)
        return await self._watch.wait(within, self._key_free)

    async def _key_free(self) -> bool:
        """Whether the key is absent; False when Redis does not answer (the wait goes on)."""
        with contextlib.suppress(*_LINK_ERRORS, RedisError):
            async with self._mutex:  # the connection serves one call at a time
                (exists,) = await self._run((("EXISTS", self._key),), None)
            return not exists
        return False

    async def _poll_released(self, within: float) -> bool:
        """On a cluster: ``EXISTS`` every 50 ms (at most) until the key is free or time is up.

        A subscription would need redis-py's cluster pub/sub, which differs across the
        supported versions; polling the one key is simple and bounded (≤ 20 commands/s per
        waiting follower, handover within 50 ms).
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while True:
            if await self._key_free():
                return True
            left = end - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(_POLL, left))

    async def ping(self) -> None:
        """Health probe: one ``PING`` on the lock's connection.

        Raises:
            ClosedResourceError: the lock was closed.
            redis.exceptions.RedisError: Redis did not answer.
        """
        self._check_open()
        async with self._mutex:  # the connection serves one call at a time
            await self._run((("PING",),), None)

    async def aclose(self) -> None:
        """Stop: end the subscription, release a hold we believe in, return the connection.

        Idempotent; never raises for store errors (a release that fails is logged and the key
        expires after its TTL).
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._watch is not None:
                await self._watch.aclose()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            if self._holding:
                await self._release_on_our_own("release at close")
        finally:
            await self._link.aclose()

    async def __aenter__(self) -> Self:
        """Return the lock (it connects at its first call)."""
        self._check_open()
        return self

    async def __aexit__(self, *_: object) -> None:
        """Call :meth:`aclose` (which releases a hold we still believe in)."""
        await self.aclose()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedResourceError(f"{self!r} was closed; create a new RedisLock")

    async def _call(
        self, call: _Call, attempt: _Attempt | None = None, *, wait: bool = True
    ) -> tuple[Any, bool]:
        """Run one script (and ``WAIT`` after it): (the script's reply, whether it counts)."""
        self._check_open()
        async with self._mutex:
            if attempt is not None:
                attempt.sent = True
                # Noted before sending: a release published after this point is counted by
                # the subscription and seen by the next wait_released().
                if self._watch is not None:
                    self._watch.note_attempt()
            if self._cleanup_pending:  # an earlier cancelled acquire may have left our key
                self._cleanup_pending = False
                await self._run((self._release.command,), self._release.script)
            if not wait or self._wait is None:
                (reply,) = await self._run((call.command,), call.script)
                return reply, True
            reply, acked = await self._run((call.command, self._wait), call.script)
            confirmed = isinstance(acked, int) and acked >= self._config.min_replicas
            if not confirmed:
                await self._link.drop()  # the next call asks Sentinel where the master is now
            return reply, confirmed

    async def _run(self, commands: tuple[Command, ...], script: str | None) -> list[Any]:
        """Send commands on the lock's connection (the caller holds the mutex).

        A cancellation redis-py swallowed during the call is raised here (``_cancel.py``):
        a cancelled call never returns a reply, and no error handler of a caller sees a link
        error in its place.
        """
        with no_swallowed_cancel():
            replies = await self._link.run(commands, len(commands), script)
        error, self._link.error = self._link.error, None
        if error is not None:
            self._reconnected(error, "connection")
        return replies

    def _reconnected(self, error: BaseException | str, what: str) -> None:
        logger.info(
            "lock: %s to Redis re-established",
            what,
            extra={"service_pkg_lock": self._name, "service_pkg_error": str(error)},
        )
        if self._events.wants(StoreReconnected):
            self._events.emit(
                StoreReconnected(component=self._name, address=self._address(), error=str(error))
            )

    def _address(self) -> str:
        """``host:port/db`` of the server last dialled (or the socket path): never a password."""
        return self._link.address

    async def _clean_up_after_cancel(self) -> None:
        # The pending flag is set before any await, so whichever call takes the connection
        # next (this task or a later operation) deletes the orphan first: a later acquire can
        # never be undone by a late cleanup.
        self._cleanup_pending = True
        task = asyncio.get_running_loop().create_task(self._cleanup())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    async def _cleanup(self) -> None:
        if self._cleanup_pending:
            await self._release_on_our_own("release after a cancelled acquire", pending=True)

    async def _release_on_our_own(self, what: str, *, pending: bool = False) -> None:
        """Release our token's key, bounded; log instead of raising (the key expires)."""
        try:
            async with asyncio.timeout(min(self.ttl, _CLEANUP_TIMEOUT)), self._mutex:
                if pending and not self._cleanup_pending:
                    return  # a call that took the connection first did it already
                self._cleanup_pending = False
                await self._run((self._release.command,), self._release.script)
                self._holding = False
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning(
                "lock: %s failed; the key expires after its TTL",
                what,
                extra={"service_pkg_lock_key": self._key, "service_pkg_error": str(exc)},
            )


@dataclass(frozen=True, slots=True)
class _Call:
    """One script call, packed once: its ``EVALSHA`` arguments and the source for ``NOSCRIPT``."""

    command: Command
    script: str


def _evalsha(script: Script, keys: tuple[str, ...], args: tuple[str | int, ...]) -> _Call:
    return _Call(("EVALSHA", script.sha, len(keys), *keys, *args), script.source)


def _ping(lock: RedisLock) -> Awaitable[None]:
    return lock.ping()


@default_health(_ping, affects_readiness=False)
def redis_lock(
    client: Redis | RedisCluster, name: str, config: RedisLockConfig | None = None
) -> RedisLock:
    """Component factory: ``Component(redis_lock, redis, "reports", RedisLockConfig(ttl=10))``.

    Returns the unstarted :class:`RedisLock`; the component enters it at start and calls
    :meth:`RedisLock.aclose` at stop, which releases a hold the lock still believes in. The
    components that use the lock stop before it, so releasing at its stop never cuts their
    work short. Health: :meth:`RedisLock.ping` (does not affect readiness).

    .. versionadded:: 0.1.0
    """
    return RedisLock(client, name, config)
