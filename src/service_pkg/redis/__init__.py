"""Redis clients for services: ``RedisConfig``, the ``redis_client`` component, ``mask_url``.

A port of the Go ``redis`` package (``NewRedisClient``) over ``redis.asyncio`` (extra
``redis``). Go → Python:

.. code-block:: text

    NewRedisClient(dsn, opts...)              Component(redis_client, RedisConfig(url=dsn, ...))
                                              or open_redis(config) outside a container
    WithDialTimeout / WithReadTimeout         RedisConfig(connect_timeout=, socket_timeout=)
    WithMaxRetries / WithMaxRetryBackoff      RedisConfig(retries=, max_backoff=)
    WithPassword / WithSentinelPassword       RedisConfig(password=, sentinel_password=)
    DSN with ?master_name=...                 the same URL: a Sentinel client
    NewClusterClient / ParseClusterURL        Component(redis_cluster, RedisConfig(url=dsn,
                                              cluster=True)); addr=host:port seeds

Deviations from Go (``docs/redis.md``): a failed ``PING`` at start is an error
(:class:`~service_pkg.exceptions.BrokenResourceError` naming the masked address) instead of a
printed line and a broken client; passwords are never printed or put in a repr (bug #29),
whatever characters they have; the client is closed when the component stops; the component
reports its health (a ``PING``) with no user code.

.. versionadded:: 0.1.0
"""

try:
    import redis.asyncio as _redis_asyncio
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.redis", "redis") from exc

from service_pkg.redis._client import open_redis as open_redis
from service_pkg.redis._client import redis_client as redis_client
from service_pkg.redis._cluster import open_redis_cluster as open_redis_cluster
from service_pkg.redis._cluster import redis_cluster as redis_cluster
from service_pkg.redis._config import RedisConfig as RedisConfig
from service_pkg.redis._url import mask_url as mask_url

del _redis_asyncio

__all__ = (
    "RedisConfig",
    "mask_url",
    "open_redis",
    "open_redis_cluster",
    "redis_client",
    "redis_cluster",
)
