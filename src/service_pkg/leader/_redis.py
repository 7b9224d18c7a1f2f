"""``leader_election``: the Redis-backed election component (needs the ``redis`` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service_pkg.clock import Clock
from service_pkg.health import default_health
from service_pkg.leader._config import LeaderConfig
from service_pkg.leader._election import LockElection
from service_pkg.lock import DEFAULT_KEY_PREFIX

if TYPE_CHECKING:
    # Only for the annotation: redis-py is optional, and DI does not read annotations.
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ("leader_election",)


def _lease_loop_runs(election: LockElection) -> None:
    election.ensure_running()


@default_health(_lease_loop_runs, affects_readiness=False)
def leader_election(
    redis: Redis | RedisCluster,
    config: LeaderConfig,
    *,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    restart_grace: bool = True,
    min_replicas: int = 0,
    clock: Clock | None = None,
) -> LockElection:
    """Component factory: a :class:`LockElection` over a ``RedisLock``; the Go ``watchdog``.

    ``Component(leader_election, redis, LeaderConfig(name=ELECTION_CRON))``. Returns the
    unstarted election, which owns its lock: the component's start enters both and makes the
    first acquire attempt; its stop emits the final ``LOST``, releases the lock (which
    notifies followers) and closes the lock (its connection goes back to the pool). The client
    is not closed (its own component owns it). ``key_prefix=GO_KEY_PREFIX`` competes with Go
    candidates; ``restart_grace=False`` is for tests and single-node development.
    ``min_replicas=N`` makes an acquisition or a renewal count only once ``N`` replicas
    confirmed it (``WAIT``; see ``docs/leader-election.md``, Sentinel). The client may be a
    standalone, a Sentinel (``master_for``) or a cluster client. The default health check
    passes while the lease loop runs and does not affect readiness.

    .. versionchanged:: 0.2.0 a plain function returning the election (was a generator).
    .. versionchanged:: 0.3.0 ``min_replicas``.
    """
    from service_pkg.lock._redis import RedisLock, RedisLockConfig  # noqa: PLC0415 - optional

    lock = RedisLock(
        redis,
        config.name,
        RedisLockConfig(
            ttl=config.expiration,
            prefix=key_prefix,
            restart_grace=restart_grace,
            min_replicas=min_replicas,
        ),
    )
    return LockElection(lock, config, clock=clock, owns_lock=True)
