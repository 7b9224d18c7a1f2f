"""The lock's one connection: packed commands out, replies in, reconnection through the pool.

A ``RedisLock`` sends its scripts (and ``WAIT``) on one connection of the caller's pool, taken
through a single-connection client (``client.client()``). redis-py reconnects a dropped
connection from inside ``send_packed_command`` with the address it last used, which on a
Sentinel pool is the *old* master's: a lock that kept one connection forever never followed a
failover (issue 10). So the link does its own reconnecting, through the connection's public
``connect()``, which on a Sentinel-managed connection asks the sentinels for the master first
(on a plain connection it dials the same address, as before).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ReadOnlyError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.connection import AbstractConnection

__all__ = ("LINK_ERRORS", "ClusterLink", "Command", "Link")

Command = tuple[str | int, ...]
"""One command's arguments, e.g. ``("EVALSHA", sha, 2, key, epoch_key, token, ttl)``."""

LINK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
"""Errors that mean the connection (not the command) failed."""

_DEMOTED = "previous master is now a slave"
"""redis-py's Sentinel connection turns a ``READONLY`` reply into a ConnectionError with this."""


def _demoted(error: BaseException) -> bool:
    return isinstance(error, ReadOnlyError) or (
        isinstance(error, RedisConnectionError) and _DEMOTED in str(error)
    )


class Link:
    """One kept connection and the rule for getting it back (see the module docstring).

    ``run()`` sends pipelined commands and returns every reply; a ``NOSCRIPT`` reply to the
    first command loads the script and sends the batch again. A link error (or a demoted
    master) drops the connection and tries again as the client's ``retry`` setting says, plus
    one immediate attempt when the failure hit a connection that was up before (a stale one:
    the server restarted, or Sentinel moved the master). ``demoted`` is set when a reply said
    the server is no longer a master, and stays set until :meth:`take_demoted` reads it.
    """

    __slots__ = ("_cache", "_client", "_demoted", "error", "redis")

    def __init__(self, client: Redis) -> None:
        self._client = client
        self.redis: Redis = client.client()
        self.error: BaseException | None = None
        """The last link error, until a call succeeds again (the caller reports the reconnect)."""
        self._demoted = False
        self._cache: dict[Command, bytes] = {}

    def take_demoted(self) -> bool:
        """Whether a reply said the master was demoted since the last call; resets the flag."""
        demoted, self._demoted = self._demoted, False
        return demoted

    @property
    def address(self) -> str:
        """``host:port/db`` of the server the connection last dialled: never a password."""
        conn = self.redis.connection
        kwargs = self._client.connection_pool.connection_kwargs
        if conn is not None and getattr(conn, "host", None):
            return f"{conn.host}:{conn.port}/{kwargs.get('db', 0)}"
        where = (
            kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        )
        return f"{where}/{kwargs.get('db', 0)}"

    async def run(self, commands: Sequence[Command], replies: int, script: str | None) -> list[Any]:
        """Send ``commands`` in one write (one round trip) and read ``replies`` replies.

        Args:
            commands: argument tuples; each is packed once and kept.
            replies: how many replies to read.
            script: the source of the ``EVALSHA`` the batch starts with, loaded on ``NOSCRIPT``.

        Raises:
            redis.exceptions.ReadOnlyError: the server is a replica now (a plain connection).
            redis.exceptions.RedisError: a command failed, or the link did after the retries.
        """
        conn = await self._connection()
        if conn.is_connected:  # the fast path: the kept connection is up
            try:
                return await self._send(conn, commands, replies, script)
            except LINK_ERRORS as exc:
                await self._failed(exc)  # maybe stale (restart, failover): reconnect once now
        retry = self.redis.get_retry() or Retry(NoBackoff(), 0)

        async def attempt() -> list[Any]:
            conn = await self._connection()
            if not conn.is_connected:
                # On a Sentinel pool, connect() asks the sentinels for the master first.
                await conn.connect()  # type: ignore[no-untyped-call]
            return await self._send(conn, commands, replies, script)

        return await retry.call_with_retry(attempt, self._failed)

    async def _failed(self, error: BaseException) -> None:
        if _demoted(error):
            self._demoted = True
        self.error = error
        conn = self.redis.connection
        if conn is not None:
            with contextlib.suppress(*LINK_ERRORS):
                await conn.disconnect()

    async def _connection(self) -> AbstractConnection:
        if self.redis.connection is None:
            _ = await self.redis.initialize()  # takes the one connection from the pool
        conn = self.redis.connection
        assert conn is not None  # noqa: S101 - initialize() of a single-connection client sets it
        return conn

    def _packed(self, conn: AbstractConnection, commands: Sequence[Command]) -> list[bytes]:
        out: list[bytes] = []
        for command in commands:
            packed = self._cache.get(command)
            if packed is None:
                packed = self._cache[command] = b"".join(conn.pack_command(*command))
            out.append(packed)
        return out

    async def _send(
        self,
        conn: AbstractConnection,
        commands: Sequence[Command],
        replies: int,
        script: str | None,
    ) -> list[Any]:
        await conn.send_packed_command(self._packed(conn, commands))
        results: list[Any] = []
        first_error: ResponseError | None = None
        for _ in range(replies):
            try:
                results.append(await conn.read_response())
            except ResponseError as exc:  # read in full: the next replies are still due
                first_error = first_error or exc
                results.append(exc)
        if first_error is None:
            return results
        if isinstance(first_error, NoScriptError) and script is not None:
            await conn.send_packed_command(conn.pack_command("SCRIPT", "LOAD", script))
            await conn.read_response()
            return await self._send(conn, commands, replies, None)
        raise first_error

    async def drop(self) -> None:
        """Disconnect, so the next call dials again (through the sentinels on a Sentinel pool)."""
        conn = self.redis.connection
        if conn is not None:
            with contextlib.suppress(*LINK_ERRORS):
                await conn.disconnect()

    async def aclose(self) -> None:
        """Give the connection back to the pool."""
        await self.redis.aclose()


class ClusterLink:
    """The same calls on a ``redis.asyncio.cluster.RedisCluster`` (issue 10, Redis Cluster).

    Every command goes through the cluster client, which routes by key slot, follows
    ``MOVED``/``ASK`` and re-reads the slot map after a failover. ``WAIT`` has no key, so it is
    sent to the node that owns the lock's slot right after the script: two round trips
    instead of one (the cluster client cannot pipeline a keyless command to a chosen node).
    ``NOSCRIPT`` loads the script on that node and sends the command again.
    """

    __slots__ = ("_cluster", "_key", "error")

    def __init__(self, cluster: RedisCluster, key: str) -> None:
        self._cluster = cluster
        self._key = key
        self.error: BaseException | None = None

    def take_demoted(self) -> bool:
        """Never: the cluster client follows a failover itself; the run_id marker tells."""
        return False

    @property
    def address(self) -> str:
        """``host:port`` of the node that owns the lock's slot (as the client last saw it)."""
        try:
            node = self._cluster.get_node_from_key(self._key)
        except RedisError:
            node = None
        return f"{node.host}:{node.port}" if node is not None else "cluster"

    async def run(self, commands: Sequence[Command], replies: int, script: str | None) -> list[Any]:
        """Send each command (see the class docstring); return their replies."""
        del replies  # one reply per command here
        results: list[Any] = []
        for command in commands:
            name = str(command[0])
            try:
                if name in {"EVALSHA", "EXISTS"}:
                    results.append(
                        await self._keyed(command, script if name == "EVALSHA" else None)
                    )
                else:
                    node = self._cluster.get_node_from_key(self._key)
                    results.append(await self._cluster.execute_command(*command, target_nodes=node))
            except LINK_ERRORS as exc:
                self.error = exc
                raise
        return results

    async def _keyed(self, command: Command, script: str | None) -> Any:
        try:
            return await self._cluster.execute_command(*command)
        except NoScriptError:
            if script is None:
                raise
            node = self._cluster.get_node_from_key(self._key)
            await self._cluster.execute_command("SCRIPT", "LOAD", script, target_nodes=node)
            return await self._cluster.execute_command(*command)

    async def drop(self) -> None:
        """Nothing to drop: the cluster client owns its connections and re-routes itself."""

    async def aclose(self) -> None:
        """Nothing to return: the lock borrows the cluster client's connections per call."""
