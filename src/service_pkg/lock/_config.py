"""``RedisLockConfig`` and the key rule of ``RedisLock`` (no redis-py needed here)."""

from __future__ import annotations

from dataclasses import dataclass

from service_pkg.exceptions import ConfigError
from service_pkg.lock._protocol import DEFAULT_KEY_PREFIX, ttl_ms

__all__ = ("RedisLockConfig", "companion")


def companion(key: str, suffix: str) -> str:
    """``key``'s companion key ``suffix``, in the same Redis Cluster hash slot as ``key``.

    ``{key}:suffix`` hashes like ``key`` itself when ``key`` has no hash tag; a key that has
    one (``a{tag}b``) shares it with ``key:suffix``. The lock key itself is never changed, so
    the Go prefix still names the Go key.
    """
    start = key.find("{")
    if start != -1 and key.find("}", start + 1) > start + 1:
        return f"{key}:{suffix}"
    if "}" in key:  # no tag can reproduce such a key's slot; fine off a cluster
        return f"{key}:{suffix}"
    return f"{{{key}}}:{suffix}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisLockConfig:
    """Configuration of a :class:`RedisLock`.

    Raises:
        ConfigError: ``ttl`` is not a whole number of milliseconds ≥ 1 ms, ``prefix`` is not a
            str, ``restart_grace`` is not a bool, ``min_replicas`` is not an int ≥ 0, or
            ``replica_timeout`` is not a whole number of milliseconds below ``ttl``.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0 ``min_replicas`` and ``replica_timeout``; the restart grace
       also covers a master change.
    """

    ttl: float = 30.0
    """Lease length in seconds, whole milliseconds, at least 0.001 (Go ``DefaultLeaderExpiration``
    is 30 s). The key expires this long after the last acquire or extend."""
    prefix: str = DEFAULT_KEY_PREFIX
    """Key prefix; the key is ``prefix + name``. Use :data:`~service_pkg.lock.GO_KEY_PREFIX` to
    share locks with Go ``locker`` instances."""
    restart_grace: bool = True
    """Refuse a free lock while Redis has been up for less than one TTL (``INFO server``
    ``uptime_in_seconds``): a Redis that restarted without the key may still have a holder
    that believes it leads, and that holder's lease ends one TTL after the restart at the
    latest. A new name on a Redis that has been up longer is acquired at once. The same rule
    covers a master change (a failover, a restart from a snapshot): the server's ``run_id``
    is stored at each acquisition, and a different one starts one TTL of grace, drops a hold
    taken on the old master and makes its holder's ``extend()`` answer ``MASTER_CHANGED``.
    See ``docs/lock.md`` (restart grace)."""
    min_replicas: int = 0
    """Replicas that must confirm an acquisition or a renewal (``WAIT``, sent with the script
    in one write) before it counts; fewer answer ``UNCONFIRMED``. 0: no ``WAIT``. See
    ``docs/leader-election.md`` (Sentinel) for what it guarantees."""
    replica_timeout: float | None = None
    """Seconds the ``WAIT`` may block, whole milliseconds; ``None`` = ``ttl / 10``."""

    def __post_init__(self) -> None:
        """Validate the fields."""
        ttl = ttl_ms("ttl", self.ttl)
        replicas: object = self.min_replicas
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise ConfigError("min_replicas", replicas, "must be an int >= 0")
        if self.replica_timeout is not None:
            wait = ttl_ms("replica_timeout", self.replica_timeout)
            if wait >= ttl:
                raise ConfigError(
                    "replica_timeout", self.replica_timeout, f"must be below ttl ({self.ttl:g} s)"
                )
        prefix: object = self.prefix
        if not isinstance(prefix, str):
            raise ConfigError("prefix", prefix, "must be a str")
        grace: object = self.restart_grace
        if not isinstance(grace, bool):
            raise ConfigError("restart_grace", grace, "must be a bool")

    @property
    def replica_timeout_ms(self) -> int:
        """The ``WAIT`` timeout in milliseconds (at least 1)."""
        if self.replica_timeout is not None:
            return ttl_ms("replica_timeout", self.replica_timeout)
        return max(1, ttl_ms("ttl", self.ttl) // 10)
