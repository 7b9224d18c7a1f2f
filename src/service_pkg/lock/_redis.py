"""``RedisLock``: the ``Lock`` protocol on Redis, three Lua scripts, one round trip each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import warnings
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Self

from service_pkg.exceptions import ClosedResourceError, ConfigError, MissingDependencyError
from service_pkg.lock._protocol import (
    DEFAULT_KEY_PREFIX,
    AcquireResult,
    AcquireStatus,
    ExtendResult,
    ReleaseResult,
    ttl_ms,
)
from service_pkg.lock._scripts import ACQUIRE, EXTEND, GRACE, RELEASE, RENEWED, Script

try:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import NoScriptError, RedisError
except ImportError as exc:  # pragma: no cover - the import test hides redis-py
    raise MissingDependencyError("service_pkg.lock.RedisLock", "redis") from exc

__all__ = ("RedisLock", "RedisLockConfig", "redis_lock")

logger = logging.getLogger("service_pkg.lock")

_CLEANUP_TIMEOUT = 2.0
"""Upper bound (seconds) of the release that follows a cancelled acquire (also capped at TTL)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisLockConfig:
    """Configuration of a :class:`RedisLock`.

    Raises:
        ConfigError: ``ttl`` is not a whole number of milliseconds ≥ 1 ms, ``prefix`` is not a
            str, or ``restart_grace`` is not a bool.

    .. versionadded:: 0.1.0
    """

    ttl: float = 30.0
    """Lease length in seconds, whole milliseconds, at least 0.001 (Go ``DefaultLeaderExpiration``
    is 30 s). The key expires this long after the last acquire or extend."""
    prefix: str = DEFAULT_KEY_PREFIX
    """Key prefix; the key is ``prefix + name``. Use :data:`~service_pkg.lock.GO_KEY_PREFIX` to
    share locks with Go ``locker`` instances."""
    restart_grace: bool = True
    """When the epoch key is missing (a new Redis, or one that restarted without its data), let
    nobody acquire for one TTL, so a holder that did not notice the loss passes its own deadline
    first. Turn off for tests and single-node development, where the first acquire would wait."""

    def __post_init__(self) -> None:
        """Validate the fields."""
        ttl_ms("ttl", self.ttl)
        prefix: object = self.prefix
        if not isinstance(prefix, str):
            raise ConfigError("prefix", prefix, "must be a str")
        grace: object = self.restart_grace
        if not isinstance(grace, bool):
            raise ConfigError("restart_grace", grace, "must be a bool")


class _Attempt:
    """Whether a call reached the point where a command may have been sent."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


class RedisLock:
    """A :class:`~service_pkg.lock.Lock` on Redis: key ``prefix + name``, value a random token.

    Same rules as :class:`~service_pkg.testing.InMemoryLock`:

    * :meth:`acquire` takes a free key (``SET token PX ttl`` + ``INCR <key>:epoch``), renews a
      key that already holds our token (no self-lockout, Go bug #3), and otherwise reports
      ``HELD`` (or ``GRACE``) with the remaining milliseconds;
    * :meth:`extend` resets the TTL and :meth:`release` deletes the key only while our token
      holds it; a release publishes on ``<key>:released``, which :meth:`wait_released` awaits;
    * the epoch (``<key>:epoch``) only grows: when it is missing it restarts from Redis ``TIME``
      in microseconds, and with ``restart_grace`` nobody acquires for one TTL after that.

    Each call is one ``EVALSHA`` round trip; ``NOSCRIPT`` loads the script and retries once.

    Lifecycle contract: the lock takes one connection from the client's pool at its first call
    and keeps it (a dedicated connection, so a cancelled call cannot desynchronise other users
    of the client) until :meth:`aclose`, which returns it. ``aclose()`` does **not** release the
    lock; call :meth:`release` first. The client itself is never closed here. Calls after
    ``aclose()`` raise :class:`~service_pkg.exceptions.ClosedResourceError`.

    Cancellation: a cancelled :meth:`acquire` on a lock that did not hold the key deletes the
    key if our token got it (shielded, bounded), so it leaves no orphan; a cancelled
    :meth:`release` or :meth:`extend` changes nothing locally and keeps the token, so the
    call can be repeated. Connection errors and timeouts are retried per the client's retry
    policy; repeating a script is safe because each is idempotent for one token (a retried
    release whose first attempt was applied reports ``NOT_OWNER``).

    .. versionadded:: 0.1.0
    """

    def __init__(self, client: Redis, name: str, config: RedisLockConfig | None = None) -> None:
        """Describe the lock; nothing is sent to Redis until the first call.

        Args:
            client: The ``redis.asyncio.Redis`` to borrow one connection from; never closed.
            name: The lock's name; the key is ``config.prefix + name``.
            config: TTL, key prefix and restart grace; ``RedisLockConfig()`` when ``None``.

        Raises:
            ConfigError: ``name`` is not a non-empty str.
        """
        given: object = name
        if not isinstance(given, str) or not given:
            raise ConfigError("name", given, "must be a non-empty str")
        self._client = client
        self._config = config if config is not None else RedisLockConfig()
        self._name = name
        self._key = self._config.prefix + name
        self._channel = self._key + ":released"
        self._token = secrets.token_hex(16)
        self._ttl_ms = ttl_ms("ttl", self._config.ttl)
        key, token, ttl = self._key.encode(), self._token.encode(), b"%d" % self._ttl_ms
        grace = b"1" if self._config.restart_grace else b"0"
        self._acquire_cmd = ACQUIRE.call(
            (key, key + b":epoch", key + b":grace"), (token, ttl, grace)
        )
        self._extend_cmd = EXTEND.call((key,), (token, ttl))
        self._release_cmd = RELEASE.call((key,), (token, self._channel.encode()))
        self._mutex = asyncio.Lock()
        self._conn: AbstractConnection | None = None
        self._holding = False
        self._closed = False
        self._cleanup_pending = False
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        """Show name, key, local belief and TTL; never the token."""
        state = "closed" if self._closed else ("holding" if self._holding else "free")
        return f"<RedisLock name={self._name!r} key={self._key!r} state={state} ttl={self.ttl:g}>"

    def __del__(self, _warn: Any = warnings.warn) -> None:
        """Warn when a lock still keeping a connection is garbage-collected without aclose()."""
        if getattr(self, "_conn", None) is not None and not getattr(self, "_closed", True):
            _warn(f"unclosed {self!r}: call aclose()", ResourceWarning, source=self, stacklevel=1)

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
        """See :meth:`service_pkg.lock.Lock.acquire`."""
        attempt = _Attempt()
        try:
            reply = await self._call(self._acquire_cmd, ACQUIRE, attempt)
        except asyncio.CancelledError:
            if attempt.sent and not self._holding:
                await self._clean_up_after_cancel()
            raise
        if isinstance(reply, int):  # the hot path: acquired, the reply is the new epoch
            self._holding = True
            return AcquireResult(AcquireStatus.ACQUIRED, epoch=reply)
        status, value = reply
        if status == RENEWED:
            self._holding = True
            return AcquireResult(AcquireStatus.RENEWED, epoch=int(value))
        self._holding = False
        ttl = max(1, int(value)) if value >= 0 else -1
        return AcquireResult(
            AcquireStatus.GRACE if status == GRACE else AcquireStatus.HELD, ttl_ms=ttl
        )

    async def extend(self) -> ExtendResult:
        """See :meth:`service_pkg.lock.Lock.extend`."""
        extended = await self._call(self._extend_cmd, EXTEND)
        self._holding = extended == 1
        return ExtendResult.EXTENDED if self._holding else ExtendResult.NOT_OWNER

    async def release(self) -> ReleaseResult:
        """See :meth:`service_pkg.lock.Lock.release`."""
        released = await self._call(self._release_cmd, RELEASE)
        self._holding = False
        return ReleaseResult.RELEASED if released == 1 else ReleaseResult.NOT_OWNER

    async def wait_released(self, within: float) -> bool:
        """See :meth:`service_pkg.lock.Lock.wait_released`.

        Subscribes to ``<key>:released`` on a connection of its own for the duration of the
        call, and closes it on every exit (also when cancelled). A release that happened before
        the subscription took effect is not seen: the caller's next acquire finds the key free.
        """
        self._check_open()
        if within <= 0:
            return False
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            async with asyncio.timeout(within):
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None and message.get("type") == "message":
                        return True
        except TimeoutError:
            return False
        finally:
            await self._finish(pubsub.aclose())  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        """Return the connection to the client's pool. Idempotent; does not release the lock."""
        if self._closed:
            return
        self._closed = True
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        async with self._mutex:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    await self._client.connection_pool.release(conn)
                except KeyError:  # the pool was reset meanwhile: the connection is ours to drop
                    await conn.disconnect()

    async def __aenter__(self) -> Self:
        """Return the lock; :meth:`aclose` runs at exit."""
        return self

    async def __aexit__(self, *_: object) -> None:
        """Call :meth:`aclose` (the lock itself is not released)."""
        await self.aclose()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedResourceError(f"{self!r} was closed; create a new RedisLock")

    async def _call(self, command: bytes, script: Script, attempt: _Attempt | None = None) -> Any:
        self._check_open()
        async with self._mutex:
            conn = self._conn
            if conn is None:
                conn = self._conn = await _connection(self._client)
            if attempt is not None:
                attempt.sent = True
            if self._cleanup_pending:  # an earlier cancelled acquire may have left our key
                self._cleanup_pending = False
                await _run(conn, self._release_cmd, RELEASE)
            return await _run(conn, command, script)

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
        try:
            async with asyncio.timeout(min(self.ttl, _CLEANUP_TIMEOUT)), self._mutex:
                if not self._cleanup_pending:
                    return
                self._cleanup_pending = False
                conn = self._conn
                if conn is None:
                    conn = self._conn = await _connection(self._client)
                await _run(conn, self._release_cmd, RELEASE)
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning(
                "lock: release after a cancelled acquire failed; the key expires after its TTL",
                extra={"service_pkg_lock_key": self._key, "service_pkg_error": repr(exc)},
            )

    async def _finish(self, closing: Any) -> None:
        """Await a cleanup shielded from cancellation; aclose() waits for it if we are cut."""
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(closing)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)


async def _connection(client: Redis) -> AbstractConnection:
    """Take one connection out of the client's pool (connected), for this lock alone."""
    pool = client.connection_pool
    conn: AbstractConnection = await pool.get_connection()  # type: ignore[no-untyped-call]
    return conn


async def _send(conn: AbstractConnection, command: bytes) -> None:
    """Write one packed command.

    redis-py's ``send_packed_command`` wraps every write in ``asyncio.wait_for`` (a new task
    per command: a fifth of a lock cycle's CPU). A write to a connected transport never
    blocks, and the reply read that follows is bounded by the socket timeout, so a connected
    connection is written to directly; otherwise (or with health checks on) redis-py's path
    connects and checks as usual.
    """
    writer = getattr(conn, "_writer", None)
    if writer is None or conn.health_check_interval:
        await conn.send_packed_command(command)
        return
    try:
        writer.write(command)
        await writer.drain()
    except OSError as exc:
        await conn.disconnect(nowait=True)
        raise RedisConnectionError(f"error while writing to Redis: {exc}") from exc
    except BaseException:
        await conn.disconnect(nowait=True)  # a partial write leaves the stream unusable
        raise


async def _run(conn: AbstractConnection, command: bytes, script: Script) -> Any:
    """Send one packed ``EVALSHA``; on ``NOSCRIPT`` load the script and send it again.

    Connection errors and timeouts are retried with the connection's (the client's) retry
    policy, reconnecting in between, as ``Redis.execute_command`` does; a connection error on
    a connection that was open before the call gets one more try on a new connection.
    """

    async def attempt() -> Any:
        await _send(conn, command)
        try:
            return await conn.read_response()
        except NoScriptError:
            await _send(conn, script.load)
            await conn.read_response()
            await _send(conn, command)
            return await conn.read_response()

    async def reconnect(_error: Exception) -> None:
        await conn.disconnect()

    reused = conn.is_connected
    try:
        return await conn.retry.call_with_retry(attempt, reconnect)
    except RedisConnectionError:
        if not reused:
            raise
    # The kept connection was dead before we used it (server restart, idle timeout, CLIENT
    # KILL): what the pool's check at checkout would have caught. Reopen it once more.
    await conn.disconnect()
    return await conn.retry.call_with_retry(attempt, reconnect)


async def redis_lock(
    client: Redis, name: str, config: RedisLockConfig | None = None
) -> AsyncGenerator[RedisLock, object]:
    """Component factory: a :class:`RedisLock`, released (if held) and closed at stop.

    ``Component(redis_lock, redis, "reports", RedisLockConfig(ttl=10))``. The components that
    use the lock stop before it, so releasing at its stop never cuts their work short.

    .. versionadded:: 0.1.0
    """
    lock = RedisLock(client, name, config)
    try:
        yield lock
    finally:
        try:
            if lock.holding:
                await lock.release()
        finally:
            await lock.aclose()
