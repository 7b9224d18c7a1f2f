"""ClickHouse for services: ``ClickHouseConfig``, ``ClickHouse``, ``clickhouse_client``, errors.

A port of the Go ``database/clickhouse`` package over clickhouse-sqlalchemy (extra
``clickhouse``): its native driver (clickhouse-driver, LZ4) or its HTTP driver, run on worker
threads the client owns, behind an async API. Go → Python:

.. code-block:: text

    NewClickhouseConnection(ctx, cfg)        Component(clickhouse_client, config)
    (*Connection).GetDB()                    ClickHouse.execute / fetch / insert / run, .engine
    (*Connection).Reconnect(ctx, cfg)        await ClickHouse.reconnect()
    (*Connection).Shutdown(ctx)              the component's stop (ClickHouse.aclose())
    NeedReconnect(err) (bool, *Exception)    need_reconnect(err) -> bool; error_code(err)
    NeedWait(err) (bool, Duration, *Exc.)    need_wait(err) -> (bool, seconds)

Deviations (``docs/clickhouse.md``): a failed start ping is an error (bug #22); the engine
swap is locked and the old engine outlives its running calls (bug #23); ``None`` and
non-ClickHouse errors classify consistently, with no stub exception (bug #24).

.. versionadded:: 0.2.0
"""

try:
    import clickhouse_sqlalchemy as _clickhouse_sqlalchemy
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.clickhouse", "clickhouse") from exc

from service_pkg.clickhouse._client import ClickHouse as ClickHouse
from service_pkg.clickhouse._client import clickhouse_client as clickhouse_client
from service_pkg.clickhouse._config import ClickHouseConfig as ClickHouseConfig
from service_pkg.clickhouse._errors import RECONNECT_CODES as RECONNECT_CODES
from service_pkg.clickhouse._errors import WAIT_CODES as WAIT_CODES
from service_pkg.clickhouse._errors import error_code as error_code
from service_pkg.clickhouse._errors import need_reconnect as need_reconnect
from service_pkg.clickhouse._errors import need_wait as need_wait

del _clickhouse_sqlalchemy

__all__ = (
    "RECONNECT_CODES",
    "WAIT_CODES",
    "ClickHouse",
    "ClickHouseConfig",
    "clickhouse_client",
    "error_code",
    "need_reconnect",
    "need_wait",
)
