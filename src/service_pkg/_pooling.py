"""An idle limit for SQLAlchemy pools (the PostgreSQL and ClickHouse components share it)."""

from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.pool import ConnectionPoolEntry, Pool

__all__ = ("install_idle_limit",)

_IDLE_SINCE = "service_pkg_idle_since"


def install_idle_limit(pool: Pool, max_idle: float) -> None:
    """Replace a connection that sat in ``pool`` longer than ``max_idle`` s on its checkout.

    SQLAlchemy's pools have a lifetime limit (``pool_recycle``) but no idle limit (Go's
    ``ConnMaxIdleTime``); raising ``DisconnectionError`` from a ``checkout`` listener is its
    documented way to make the pool discard a connection and hand out a fresh one.
    """

    def on_checkin(_dbapi: object, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def on_checkout(_dbapi: object, record: ConnectionPoolEntry, _proxy: object) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is not None and time.monotonic() - since > max_idle:
            raise exc.DisconnectionError("idle longer than max_idle")

    event.listen(pool, "checkin", on_checkin)
    event.listen(pool, "checkout", on_checkout)
