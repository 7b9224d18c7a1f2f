"""Health checks per component: declaring them, and the report ``app.health()`` returns.

A check receives the component's started value and returns (sync or async) when healthy or
raises when not, like svcs' ``ping=``::

    db = Component(open_db, health=lambda conn: conn.ping())
    cache = Component(open_cache, health=HealthCheck(ping_cache, affects_readiness=False))

The kit's own factories bring their check (a Redis ``PING``, the scheduler's dispatcher, …):
it travels with the factory as metadata set by :func:`default_health`, because the values are
often third-party objects with no method to call. ``Component(..., health=...)`` replaces it.

:meth:`service_pkg.Application.health` runs every started component's check concurrently,
each under its own timeout, and returns a :class:`HealthReport`; ``docs/health.md`` explains
statuses, coalescing and what ``/readyz`` reports.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from service_pkg.exceptions import ConfigError

__all__ = (
    "DEFAULT_HEALTH_MAX_AGE",
    "DEFAULT_HEALTH_TIMEOUT",
    "ComponentHealth",
    "HealthCheck",
    "HealthReport",
    "HealthStatus",
    "default_health",
    "factory_health",
)

F = TypeVar("F")

DEFAULT_HEALTH_TIMEOUT = 1.0
"""Seconds one check may take before it counts as ``failed: timed out``."""
DEFAULT_HEALTH_MAX_AGE = 1.0
"""Seconds a health round's result is reused for later callers."""

_ATTRIBUTE = "__service_pkg_health__"


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheck:
    """A component's health check and how it counts.

    Raises:
        ConfigError: ``check`` is not callable, ``timeout`` is not a positive finite number
            of seconds, or ``affects_readiness`` is not a bool.
    """

    check: Callable[[Any], object]
    """Called with the started value; returns (or its awaitable resolves) when healthy,
    raises when not. Its message is shown masked in the report."""
    affects_readiness: bool = True
    """Whether a failure makes the service not ready. ``False`` for a dependency the service
    can live without (the election, a lock, the scheduler)."""
    timeout: float = DEFAULT_HEALTH_TIMEOUT
    """Seconds the check may take; a slower one is ``failed: timed out``."""

    def __post_init__(self) -> None:
        """Validate the fields."""
        if not callable(self.check):
            raise ConfigError("check", self.check, "must be callable")
        timeout: object = self.timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ConfigError("timeout", timeout, "must be a finite number of seconds > 0")
        affects: object = self.affects_readiness
        if not isinstance(affects, bool):
            raise ConfigError("affects_readiness", affects, "must be a bool")


def default_health(
    check: Callable[[Any], object],
    *,
    affects_readiness: bool = True,
    timeout: float = DEFAULT_HEALTH_TIMEOUT,
) -> Callable[[F], F]:
    """Decorate a component factory with the health check its components get by default.

    ``Component(factory)`` uses it unless given ``health=``. The factory is returned as is;
    only an attribute is set on it.
    """
    spec = HealthCheck(check=check, affects_readiness=affects_readiness, timeout=timeout)

    def mark(factory: F) -> F:
        setattr(factory, _ATTRIBUTE, spec)
        return factory

    return mark


def factory_health(factory: object) -> HealthCheck | None:
    """The check :func:`default_health` attached to ``factory``, if any."""
    spec = getattr(factory, _ATTRIBUTE, None)
    return spec if isinstance(spec, HealthCheck) else None


class HealthStatus(enum.StrEnum):
    """One component's health."""

    OK = "ok"
    """The check passed (or the component has none and runs)."""
    FAILED = "failed"
    """The check raised or timed out, or a gated group is in back-off after a failed start."""
    STANDBY = "standby"
    """Gated, and its election is not leader here: nothing to check, counts as passing."""
    STOPPED = "stopped"
    """Not running (the application is not running, or the component stopped)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentHealth:
    """One entry of a :class:`HealthReport`."""

    name: str
    """The component's dotted name."""
    status: HealthStatus
    error: str | None = None
    """Why it failed, secrets masked; ``None`` unless ``status`` is ``failed``."""
    duration_ms: float = 0.0
    """How long the check took."""
    affects_readiness: bool = True

    @property
    def passing(self) -> bool:
        """``ok`` or ``standby``."""
        return self.status in {HealthStatus.OK, HealthStatus.STANDBY}


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReport:
    """The result of one health round of an application.

    ``ready`` is the verdict ``/readyz`` and grpc health report: the lifecycle is ready (the
    application runs, all always-on components started, no drain began) and every
    readiness-affecting check passes. ``healthy`` is stricter: every check passes.
    """

    components: tuple[ComponentHealth, ...]
    lifecycle_ready: bool
    """The readiness barrier's value when the round began."""
    checked_at: float
    """Monotonic time the round began."""

    @property
    def ready(self) -> bool:
        """Lifecycle ready and every readiness-affecting check passing."""
        return self.lifecycle_ready and all(
            c.passing or not c.affects_readiness
            for c in self.components
            if c.status is not HealthStatus.STOPPED
        )

    @property
    def healthy(self) -> bool:
        """Every started component's check passing (readiness-affecting or not)."""
        return all(c.passing for c in self.components if c.status is not HealthStatus.STOPPED)

    @property
    def failed(self) -> tuple[ComponentHealth, ...]:
        """The failing entries, in component order."""
        return tuple(c for c in self.components if c.status is HealthStatus.FAILED)

    def __getitem__(self, name: str) -> ComponentHealth:
        """The entry of component ``name``.

        Raises:
            KeyError: no such component in the report.
        """
        for entry in self.components:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what ``/readyz?verbose`` will print)."""
        return {
            "ready": self.ready,
            "healthy": self.healthy,
            "components": {
                c.name: {
                    "status": c.status.value,
                    "error": c.error,
                    "duration_ms": c.duration_ms,
                    "affects_readiness": c.affects_readiness,
                }
                for c in self.components
            },
        }
