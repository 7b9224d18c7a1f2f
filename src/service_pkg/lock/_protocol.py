"""The ``Lock`` protocol, its typed results and the TTL rule every backend shares."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from service_pkg.exceptions import ConfigError

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

DEFAULT_KEY_PREFIX = "service-pkg:lock:"
"""Key prefix of the Python kit's locks."""

GO_KEY_PREFIX = "github.com/PavelAgarkov/service-pkg-block-prefix-"
"""Key prefix of the Go ``locker`` package: use it so Go and Python candidates share a lock."""


class AcquireStatus(enum.StrEnum):
    """What an acquire attempt found."""

    ACQUIRED = "acquired"
    """The lock was free and is ours now, under a new fencing epoch."""
    RENEWED = "renewed"
    """We already held it (same token): its TTL was reset, the epoch is unchanged."""
    HELD = "held"
    """Another token holds it; ``ttl_ms`` says for how much longer at most."""
    GRACE = "grace"
    """Restart grace: the lock is free, but the store has been up for less than one TTL, so
    it may have lost a holder's key; nobody acquires until one TTL after the restart, when
    a holder that did not notice has passed its own deadline. ``ttl_ms`` is the time left.
    The same after a master change (a failover): one TTL from when it was first seen."""
    UNCONFIRMED = "unconfirmed"
    """Acquired or renewed on the master, but fewer replicas than the lock's ``min_replicas``
    confirmed it in time: it does not count (a failover could lose it). The key keeps our
    token, so the next attempt renews it and counts once the replicas confirm.

    .. versionadded:: 0.3.0"""


@dataclass(frozen=True, slots=True)
class AcquireResult:
    """Outcome of :meth:`Lock.acquire`."""

    status: AcquireStatus
    epoch: int = 0
    """Fencing token of our hold (0 when not acquired); only ever grows for a lock name."""
    ttl_ms: int = -1
    """For HELD/GRACE: milliseconds until the holder's lease (or the grace) ends; -1 unknown."""

    @property
    def acquired(self) -> bool:
        """True for ACQUIRED and RENEWED: we hold the lock now."""
        return self.status in {AcquireStatus.ACQUIRED, AcquireStatus.RENEWED}


class ExtendResult(enum.StrEnum):
    """Outcome of :meth:`Lock.extend`."""

    EXTENDED = "extended"
    """Our token still held the lock; its TTL was reset."""
    NOT_OWNER = "not_owner"
    """The lock expired or another token holds it: the hold is lost for good."""
    UNCONFIRMED = "unconfirmed"
    """The TTL was reset on the master, but fewer replicas than ``min_replicas`` confirmed it
    in time: the renewal does not count, and the holder's deadline must not move.

    .. versionadded:: 0.3.0"""
    MASTER_CHANGED = "master_changed"
    """The store is not the master the hold was taken on (a failover, a restart, ``READONLY``):
    what was written on the old one may be lost, so the hold is dropped; step down now.

    .. versionadded:: 0.3.0"""


class ReleaseResult(enum.StrEnum):
    """Outcome of :meth:`Lock.release`."""

    RELEASED = "released"
    """Our hold was deleted and waiters were notified."""
    NOT_OWNER = "not_owner"
    """We did not hold it (expired or taken); nothing was deleted."""


@runtime_checkable
class Lock(Protocol):
    """A named, expiring lock held under a token unique to this object.

    Contract for implementers: each call is one atomic step on the store; ``acquire`` with our
    own token renews instead of locking us out; ``extend`` and ``release`` act only if our
    token still holds the lock; ``release`` wakes :meth:`wait_released` callers, and a wait
    sees a release that came after this object's last ``acquire`` even when it began later;
    the epoch of a lock name only grows, also across a store that lost its data.

    A backend with replicas may also answer ``AcquireStatus.UNCONFIRMED`` /
    ``ExtendResult.UNCONFIRMED`` (applied, but not confirmed by enough replicas: it does not
    count) and ``ExtendResult.MASTER_CHANGED`` (the hold is gone with the old master);
    callers treat the first as a failed attempt and the second as a loss.

    .. versionchanged:: 0.3.0 ``UNCONFIRMED`` and ``MASTER_CHANGED``.
    """

    @property
    def name(self) -> str:
        """The lock's name (without the key prefix)."""
        ...

    @property
    def token(self) -> str:
        """This holder's random token."""
        ...

    @property
    def ttl(self) -> float:
        """Lease length in seconds (whole milliseconds)."""
        ...

    async def acquire(self) -> AcquireResult:
        """Take the lock if free or already ours; report who holds it otherwise."""
        ...

    async def extend(self) -> ExtendResult:
        """Reset the TTL if our token still holds the lock."""
        ...

    async def release(self) -> ReleaseResult:
        """Delete the lock if our token holds it and notify waiters."""
        ...

    async def wait_released(self, within: float) -> bool:
        """Wait up to ``within`` seconds for a release since our last acquire; True if one came.

        A release already seen by an earlier call that returned True does not count again.
        """
        ...


def ttl_ms(field: str, seconds: object) -> int:
    """Validate a TTL given in seconds and return it in whole milliseconds.

    Raises:
        ConfigError: not a number, not finite, below 1 ms, or not a whole number of ms.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ConfigError(field, seconds, "must be a number of seconds")
    if not math.isfinite(seconds) or seconds < 0.001:  # noqa: PLR2004 - 1 ms
        raise ConfigError(field, seconds, "must be at least 0.001 s (1 ms)")
    ms = round(seconds * 1000)
    if abs(ms - seconds * 1000) > 1e-6:  # noqa: PLR2004 - float noise only
        raise ConfigError(field, seconds, "must be a whole number of milliseconds")
    return ms
