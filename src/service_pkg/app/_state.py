"""The run state machine, shutdown reasons and the Go priority scale."""

from __future__ import annotations

import enum
from contextvars import ContextVar

__all__ = (
    "Priority",
    "RunState",
    "ShutdownReason",
    "current_shutdown_reason",
)


class Priority(enum.IntEnum):
    """The Go ``application`` priorities: a smaller number stops earlier.

    Any ``int`` is accepted where a priority is expected; the enum only names the Go values.
    """

    IMMEDIATE = 1
    CRITICAL = 20
    HIGHEST = 50
    HIGH = 100
    MEDIUM = 500
    LOW = 1000
    LOWEST = 10000


class ShutdownReason(enum.StrEnum):
    """Why a component is being stopped; a generator factory receives it from ``yield``.

    ``str(reason)`` is its value (``"signal"``...), ready for logs.
    """

    SIGNAL = "signal"
    """SIGTERM, SIGINT or SIGQUIT reached the application."""
    REQUESTED = "requested"
    """Code called :meth:`Application.stop` or :meth:`Application.request_stop`."""
    START_FAILURE = "start_failure"
    """Another component failed to start; everything already started is rolled back."""
    LEADERSHIP_LOST = "leadership_lost"
    """The election of a leader-gated group emitted ``LOST`` (or ended)."""
    ERROR = "error"
    """The application itself failed while running."""


_reason: ContextVar[ShutdownReason | None] = ContextVar("service_pkg_shutdown_reason", default=None)


def current_shutdown_reason() -> ShutdownReason | None:
    """Return the reason of the stop in progress, or ``None`` outside a stop.

    Generator factories get the reason from ``yield``; context-manager factories and
    ``AsyncResource`` subclasses, whose stop hooks take no such argument, read it here.
    """
    return _reason.get()


class RunState(enum.Enum):
    """Where an :class:`~service_pkg.Application` is in its one-way life."""

    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"

    def can_become(self, new: RunState) -> bool:
        """Tell whether the transition ``self → new`` is allowed."""
        return new in _TRANSITIONS[self]


_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.CREATED: frozenset({RunState.STARTING, RunState.STOPPING}),
    RunState.STARTING: frozenset({RunState.RUNNING, RunState.STOPPING, RunState.FAILED}),
    RunState.RUNNING: frozenset({RunState.STOPPING}),
    RunState.STOPPING: frozenset({RunState.STOPPED, RunState.FAILED}),
    RunState.STOPPED: frozenset(),
    RunState.FAILED: frozenset(),
}
