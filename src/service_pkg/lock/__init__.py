"""Named expiring locks: the ``Lock`` protocol and its Redis backend.

``RedisLock`` (extra ``redis``) is the production backend; ``service_pkg.testing.InMemoryLock``
has the same semantics for tests. Keys are ``<prefix><name>``; :data:`GO_KEY_PREFIX` makes a
Python candidate compete with Go ``locker`` holders for the same name.

``RedisLock``, ``RedisLockConfig`` and ``redis_lock`` are imported on first use, so this module
(and ``InMemoryLock``) works without redis-py; without it, using them raises
:class:`~service_pkg.exceptions.MissingDependencyError`. See ``docs/lock.md``.
"""

import importlib
from typing import TYPE_CHECKING

from service_pkg.lock._protocol import DEFAULT_KEY_PREFIX as DEFAULT_KEY_PREFIX
from service_pkg.lock._protocol import GO_KEY_PREFIX as GO_KEY_PREFIX
from service_pkg.lock._protocol import AcquireResult as AcquireResult
from service_pkg.lock._protocol import AcquireStatus as AcquireStatus
from service_pkg.lock._protocol import ExtendResult as ExtendResult
from service_pkg.lock._protocol import Lock as Lock
from service_pkg.lock._protocol import ReleaseResult as ReleaseResult
from service_pkg.lock._protocol import ttl_ms as ttl_ms

if TYPE_CHECKING:
    from service_pkg.lock._redis import RedisLock as RedisLock
    from service_pkg.lock._redis import RedisLockConfig as RedisLockConfig
    from service_pkg.lock._redis import redis_lock as redis_lock

__all__ = (
    "DEFAULT_KEY_PREFIX",
    "GO_KEY_PREFIX",
    "AcquireResult",
    "AcquireStatus",
    "ExtendResult",
    "Lock",
    "RedisLock",
    "RedisLockConfig",
    "ReleaseResult",
    "redis_lock",
    "ttl_ms",
)

_REDIS_NAMES = frozenset({"RedisLock", "RedisLockConfig", "redis_lock"})


def __getattr__(name: str) -> object:
    """Import the Redis backend on first use (it needs the ``redis`` extra)."""
    if name in _REDIS_NAMES:
        return getattr(importlib.import_module("service_pkg.lock._redis"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
