"""The restart-grace rule both lock backends share, and its log line."""

from __future__ import annotations

import logging
import math

__all__ = ("grace_left_ms", "log_grace", "log_master_change")

logger = logging.getLogger("service_pkg.lock")


def grace_left_ms(ttl_ms: int, uptime: float) -> int:
    """Milliseconds a free lock stays refused on a store up for ``uptime`` seconds.

    A store up for less than one lease may have restarted without a holder's key, and that
    holder's lease ends one lease after the restart at the latest. Zero or less: no grace.
    The in-memory store knows its uptime exactly. Redis reports whole seconds that can be
    almost one second ahead of the real time since its start, so the acquire script counts
    one second less (the grace errs long there, by under two seconds, never short).
    """
    return math.ceil(ttl_ms - uptime * 1000)


def log_grace(name: str, left_ms: int, uptime: float, ttl: float) -> None:
    """Log at INFO that the restart grace refused an acquisition, why, and for how long."""
    logger.info(
        "lock %r: restart grace, not acquiring for %d ms more: the store has been up %g s, "
        "less than the %g s lease, so it may have lost a holder's key",
        name,
        left_ms,
        uptime,
        ttl,
        extra={
            "service_pkg_lock": name,
            "service_pkg_reason": "store_uptime_below_lease",
            "service_pkg_store_uptime_s": uptime,
            "service_pkg_grace_left_ms": left_ms,
        },
    )


def log_master_change(name: str, left_ms: int, address: str) -> None:
    """Log at INFO that a master change refused an acquisition (or dropped a hold), for how long."""
    logger.info(
        "lock %r: the master changed since the last acquisition (now %s), not acquiring for "
        "%d ms more: writes on the old master may be lost",
        name,
        address,
        left_ms,
        extra={
            "service_pkg_lock": name,
            "service_pkg_reason": "master_changed",
            "service_pkg_grace_left_ms": left_ms,
        },
    )
