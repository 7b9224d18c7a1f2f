"""``FakeRuntime``: a :class:`~service_pkg.app.Runtime` a test sets up by hand."""

from __future__ import annotations

import time
from collections.abc import Callable

from service_pkg.app import Plan, RunState, Runtime, build_plan
from service_pkg.events import Event, EventBus, Subscriber
from service_pkg.exceptions import ConfigError
from service_pkg.health import ComponentHealth, HealthReport, HealthStatus
from service_pkg.readiness import ReadinessBarrier, ReadinessConfig

__all__ = ("FakeRuntime",)


class FakeRuntime(Runtime):
    """A runtime view whose state, readiness and health the test sets.

    Override the container's runtime dependency with it::

        container.runtime.override(providers.Object(FakeRuntime()))

    It starts ``RUNNING`` and ready (``ready=False`` for not ready), with no component
    entries. :meth:`set_health` adds or replaces an entry; :meth:`health` returns a report
    of the entries and counts its calls in :attr:`health_calls`; :meth:`emit` delivers an
    event to the subscribers, like the application's stream would.
    """

    def __init__(
        self,
        *,
        state: RunState = RunState.RUNNING,
        ready: bool = True,
        plan: Plan | None = None,
    ) -> None:
        self._state = state
        self._readiness = ReadinessBarrier(ReadinessConfig(name="fake-runtime"))
        self._readiness.start()
        if ready:
            self._readiness.set_ready()
        self._plan = plan or build_plan([])
        self._entries: dict[str, ComponentHealth] = {}
        self._bus = EventBus()
        self.health_calls = 0

    def __repr__(self) -> str:
        """Show state, readiness and the number of health entries."""
        return (
            f"<FakeRuntime state={self.state.value} ready={self._readiness.is_ready()} "
            f"entries={len(self._entries)}>"
        )

    @property
    def state(self) -> RunState:
        """The state given; assign to change it."""
        return self._state

    @state.setter
    def state(self, value: RunState) -> None:
        self._state = value

    @property
    def readiness(self) -> ReadinessBarrier:
        """A running barrier; ``set_ready()`` / ``set_not_ready()`` it from the test."""
        return self._readiness

    @property
    def plan(self) -> Plan:
        """The plan given, or an empty one."""
        return self._plan

    def set_health(
        self,
        name: str,
        status: HealthStatus | str = HealthStatus.OK,
        *,
        error: str | None = None,
        affects_readiness: bool = True,
    ) -> None:
        """Add or replace the entry of component ``name``.

        Raises:
            ConfigError: ``status`` is not one of ``ok``, ``failed``, ``standby``, ``stopped``.
        """
        try:
            parsed = HealthStatus(status)
        except ValueError:
            raise ConfigError(
                "status", status, "must be one of ok, failed, standby, stopped"
            ) from None
        self._entries[name] = ComponentHealth(
            name=name,
            status=parsed,
            error=error,
            affects_readiness=affects_readiness,
        )

    async def health(self) -> HealthReport:
        """A report of the entries set so far; ``lifecycle_ready`` is the barrier's value."""
        self.health_calls += 1
        return HealthReport(
            components=tuple(self._entries.values()),
            lifecycle_ready=self._readiness.is_ready() and self.state is RunState.RUNNING,
            checked_at=time.monotonic(),
        )

    def subscribe(self, fn: Subscriber, *kinds: type[Event]) -> Callable[[], None]:
        """Subscribe to the events :meth:`emit` delivers."""
        return self._bus.subscribe(fn, *kinds)

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to the subscribers."""
        self._bus.emit(event)
