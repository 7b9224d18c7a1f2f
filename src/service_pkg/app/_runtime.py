"""``Runtime``: the running application as components see it, injected through the container."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

if TYPE_CHECKING:
    # Annotation-only (never evaluated at run time); avoids an import cycle with the app.
    from service_pkg.app._plan import Plan
    from service_pkg.app._state import RunState
    from service_pkg.events import Event, Subscriber
    from service_pkg.health import HealthReport
    from service_pkg.readiness import ReadinessBarrier

__all__ = ("Runtime", "bind_runtime")


class Runtime:
    """What a component may know of the application that runs it.

    Declare it in the container and depend on it like on anything else::

        class Container(containers.DeclarativeContainer):
            runtime = providers.Dependency(instance_of=Runtime)
            probes = Component(serve_probes, runtime)

    :class:`~service_pkg.Application` implements it and fills every
    ``providers.Dependency(instance_of=Runtime)`` of its container when it starts, unless the
    dependency is already overridden (a test's :class:`~service_pkg.testing.FakeRuntime`);
    the filling is undone when the application has stopped.

    It is a base class rather than a ``Protocol`` so that ``instance_of=Runtime`` type-checks
    and ``isinstance`` is exact; implementations subclass it and override every member.

    .. versionadded:: 0.2.0
    """

    @property
    def state(self) -> RunState:
        """Where the application is in its life."""
        raise NotImplementedError

    @property
    def readiness(self) -> ReadinessBarrier:
        """The lifecycle's readiness flag (not the health verdict: see :meth:`health`)."""
        raise NotImplementedError

    @property
    def plan(self) -> Plan:
        """The start/stop plan."""
        raise NotImplementedError

    async def health(self) -> HealthReport:
        """Run (or reuse) a health round; ``report.ready`` is what ``/readyz`` answers."""
        raise NotImplementedError

    def subscribe(self, fn: Subscriber, *kinds: type[Event]) -> Callable[[], None]:
        """Subscribe to the lifecycle event stream; returns the unsubscribe handle."""
        raise NotImplementedError


def bind_runtime(container: containers.Container, runtime: Runtime) -> Callable[[], None]:
    """Fill every ``Dependency(instance_of=Runtime)`` nobody overrides; return the undo."""
    filled: list[providers.Dependency[object]] = []
    for provider in container.traverse(types=[providers.Dependency]):
        wanted: object = provider.instance_of
        if not (isinstance(wanted, type) and issubclass(wanted, Runtime)):
            continue
        if provider.last_overriding is None:
            provider.override(providers.Object(runtime))
            filled.append(provider)

    def undo() -> None:
        for provider in filled:
            provider.reset_last_overriding()

    return undo
