"""The ``LeaderElection`` protocol the runtime gates components on.

A component declared with ``leader=election`` starts when ``election.events()`` yields
:attr:`LeaderEvent.TAKEN` and stops when it yields :attr:`LeaderEvent.LOST` (or the iterator
ends). The numbers are the Go ``watchdog`` constants (``LostAcquire = 1``,
``TakenAcquire = 2``), so logs and metrics read the same across every implementation.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

__all__ = ("LeaderElection", "LeaderEvent")


class LeaderEvent(enum.IntEnum):
    """A leadership transition, numbered as in Go."""

    LOST = 1
    TAKEN = 2


@runtime_checkable
class LeaderElection(Protocol):
    """What the runtime needs from an election component's value.

    Contract for implementers:

    * ``events()`` returns a new async iterator; it yields ``TAKEN`` first if leadership is
      already held, then strictly alternating transitions, and ends when the election stops
      (after a final ``LOST`` if it was leader).
    * ``is_leader()`` answers from local state without I/O and must be false once the local
      lease may have expired, so gated code can check it before each action.
    * ``epoch`` is a fencing token that only grows; it changes with each ``TAKEN``.
    * ``last_reason`` is the reason of the last transition (``None`` before the first):
      ``"acquired"`` for a ``TAKEN``; for a ``LOST`` ``"stop"``, ``"deadline"``,
      ``"not_owner"``, ``"resigned:<reason>"``, … It is set before the event is delivered, so
      a consumer reading it on ``LOST`` sees that loss's reason.
    * ``resign(reason, hold_off=s)`` steps down if leader (``LOST`` with reason
      ``resigned:<reason>``, the lock released so another candidate can take over at once),
      and in every case keeps the election out of acquisitions for ``s`` seconds of its
      clock; a later resign extends the hold-off. It raises
      :class:`~service_pkg.exceptions.ConfigError` for a negative or non-finite ``hold_off``
      and does nothing else once the election is closed.

    .. versionchanged:: 0.2.0 ``resign`` and ``last_reason`` are part of the protocol.
    """

    def events(self) -> AsyncIterator[LeaderEvent]:
        """Return an iterator over leadership transitions (see the class contract)."""
        ...

    def is_leader(self) -> bool:
        """Tell whether this process may act as leader right now."""
        ...

    @property
    def epoch(self) -> int:
        """Fencing token of the current (or last) term."""
        ...

    @property
    def last_reason(self) -> str | None:
        """Reason of the last transition; ``None`` before the first."""
        ...

    async def resign(self, reason: str, *, hold_off: float) -> None:
        """Step down if leader, then stay out of acquisitions for ``hold_off`` seconds."""
        ...
