"""``leader_election``: the Redis-backed election component (needs the ``redis`` extra)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from service_pkg.clock import Clock
from service_pkg.leader._election import LeaderConfig, LockElection
from service_pkg.lock import DEFAULT_KEY_PREFIX

if TYPE_CHECKING:
    # Only for the annotation: redis-py is optional, and DI does not read annotations.
    from redis.asyncio import Redis

__all__ = ("leader_election",)


async def leader_election(
    redis: Redis,
    config: LeaderConfig,
    *,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    restart_grace: bool = True,
    clock: Clock | None = None,
) -> AsyncGenerator[LockElection, object]:
    """Component factory: a :class:`LockElection` over a ``RedisLock``; the Go ``watchdog``.

    ``Component(leader_election, redis, LeaderConfig(name=ELECTION_CRON))``. Start makes the
    first acquire attempt; stop emits the final ``LOST``, releases the lock (which notifies
    followers) and returns the lock's connection. The client is not closed (its own
    component owns it). ``key_prefix=GO_KEY_PREFIX`` competes with Go candidates;
    ``restart_grace=False`` is for tests and single-node development.
    """
    from service_pkg.lock._redis import RedisLock, RedisLockConfig  # noqa: PLC0415 - optional

    lock = RedisLock(
        redis,
        config.name,
        RedisLockConfig(ttl=config.expiration, prefix=key_prefix, restart_grace=restart_grace),
    )
    election = LockElection(lock, config, clock=clock)
    try:
        await election.start()
        yield election
    finally:
        await election.aclose()
        await lock.aclose()
