"""Named expiring locks: the ``Lock`` protocol and its Redis backend.

``RedisLock`` (extra ``redis``) is the production backend; ``service_pkg.testing.InMemoryLock``
has the same semantics for tests. Keys are ``<prefix><name>``; :data:`GO_KEY_PREFIX` makes a
Python candidate compete with Go ``locker`` holders for the same name.
"""

from service_pkg.lock._protocol import DEFAULT_KEY_PREFIX as DEFAULT_KEY_PREFIX
from service_pkg.lock._protocol import GO_KEY_PREFIX as GO_KEY_PREFIX
from service_pkg.lock._protocol import AcquireResult as AcquireResult
from service_pkg.lock._protocol import AcquireStatus as AcquireStatus
from service_pkg.lock._protocol import ExtendResult as ExtendResult
from service_pkg.lock._protocol import Lock as Lock
from service_pkg.lock._protocol import ReleaseResult as ReleaseResult
from service_pkg.lock._protocol import ttl_ms as ttl_ms

__all__ = (
    "DEFAULT_KEY_PREFIX",
    "GO_KEY_PREFIX",
    "AcquireResult",
    "AcquireStatus",
    "ExtendResult",
    "Lock",
    "ReleaseResult",
    "ttl_ms",
)
