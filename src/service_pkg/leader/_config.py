"""``LeaderConfig`` and ``LeaderStats``: how an election behaves, and what it counted."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from service_pkg._checks import check_seconds
from service_pkg.exceptions import ConfigError
from service_pkg.lock import ttl_ms

__all__ = (
    "DEFAULT_EXPIRATION",
    "ELECTION_CLICKHOUSE_BUSHER",
    "ELECTION_CRON",
    "ELECTION_SHK_ON_PLACE_STREAM_PROCESSOR_DOWNLOADER",
    "LeaderConfig",
    "LeaderStats",
)

DEFAULT_EXPIRATION = 30.0
"""Seconds a lease lasts: the Go ``DefaultLeaderExpiration``."""
ELECTION_CRON = "watchdog_cron"
"""The Go ``watchdog.Cron`` election name."""
ELECTION_CLICKHOUSE_BUSHER = "watchdog_clickhouse_busher"
"""The Go ``watchdog.ClickhouseBusher`` election name."""
ELECTION_SHK_ON_PLACE_STREAM_PROCESSOR_DOWNLOADER = (
    "watchdog_shk_on_place_stream_processor_downloader"
)
"""The Go ``watchdog.ShkOnPlaceStreamProcessorDownloader`` election name."""

_MIN_EXPIRATION = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderConfig:
    """How one election behaves. ``expiration`` (E) drives every other duration."""

    name: str
    """Election (lock) name, e.g. :data:`ELECTION_CRON`."""
    expiration: float = DEFAULT_EXPIRATION
    """Lease length E in seconds: at least 0.1 s, in whole milliseconds. A crashed leader is
    replaced after at most about E; a leader that cannot reach the store steps down before
    its lease can have expired."""
    guard: float | None = None
    """Seconds the local deadline keeps clear of the lease end, for event-loop lateness
    between checks; ``None`` = E/10. Must be < E/2."""
    release_timeout: float | None = None
    """Seconds the final release may take at stop; ``None`` = E/3."""

    def __post_init__(self) -> None:
        """Validate the fields (``ConfigError`` names the field)."""
        name: object = self.name  # checked at runtime: callers may not be type-checked
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("name", name, "must be a non-empty election name")
        _check_expiration(self.expiration)
        for name in ("guard", "release_timeout"):
            check_seconds(name, getattr(self, name), allow_none=True)
        if self.guard is not None and self.guard >= self.expiration / 2:
            raise ConfigError("guard", self.guard, "must be < expiration / 2")

    @property
    def guard_s(self) -> float:
        """The effective guard in seconds."""
        return self.guard if self.guard is not None else self.expiration / 10

    @property
    def release_timeout_s(self) -> float:
        """The effective release timeout in seconds."""
        return self.release_timeout if self.release_timeout is not None else self.expiration / 3


def _check_expiration(value: object) -> None:
    """One rule and one message for every bad lease length (issue 9)."""
    rule = "must be a number of seconds >= 0.1, in whole milliseconds"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < _MIN_EXPIRATION
    ):
        raise ConfigError("expiration", value, rule)
    try:
        ttl_ms("expiration", value)
    except ConfigError:
        raise ConfigError("expiration", value, rule) from None


@dataclass(slots=True)
class LeaderStats:
    """Counters of one election (a snapshot; read :attr:`LockElection.stats` again)."""

    taken: int = 0
    lost: int = 0
    renew_failures: int = 0
    acquire_failures: int = 0
    step_downs: dict[str, int] = field(default_factory=dict)
    """Step-downs by reason: ``not_owner``, ``master_changed``, ``deadline``, ``stop``,
    ``resigned``."""
    epoch: int = 0
