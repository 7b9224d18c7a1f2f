"""Every error the kit raises, in one tree.

.. code-block:: text

    ServiceKitError(Exception)
    ├── ConfigError(ServiceKitError, ValueError)      bad declaration or config value; raised at
    │   │                                             construction, names the field and the value
    │   └── ConfigTypeError(ConfigError, TypeError)   the value has the wrong type (a factory that
    │                                                 is not callable): dependency-injector's type
    ├── ApplicationOwnedError(ServiceKitError, dependency_injector.errors.Error, RuntimeError)
    │                                                 dependency-injector's own lifecycle was used
    │                                                 on a component the Application owns: init(),
    │                                                 shutdown(), calling it unstarted, copying it
    │                                                 started; says what to call instead
    ├── MissingDependencyError(ServiceKitError, ImportError)
    │                                                 an optional integration was imported without
    │                                                 its extra; names the `pip install` to run
    ├── PlanError(ServiceKitError)                    the container graph cannot be started and
    │                                                 stopped safely: cycle, priority against a
    │                                                 dependency, always-on needs leader-gated,
    │                                                 bad ``leader=``; raised before anything starts
    ├── LifecycleError(ServiceKitError)               one component's start or stop went wrong
    │   ├── StartError(LifecycleError)                start failed (everything already started was
    │   │                                             rolled back); ``.component``, ``__cause__``
    │   ├── ComponentStopError(LifecycleError)        one stop raised; ``.component``, ``__cause__``
    │   └── ComponentTimeoutError(LifecycleError, TimeoutError)
    │                                                 a start or stop ran past its timeout;
    │                                                 ``.component``, ``.phase``, ``.timeout``
    ├── StopError(ExceptionGroup, ServiceKitError)    the stop finished, but some stops failed or
    │                                                 timed out: one member per component
    ├── NotRunningError(ServiceKitError, RuntimeError)
    │                                                 a signal was sent to a stopped readiness
    │                                                 barrier (the Go "not running" error)
    ├── BrokenResourceError(ServiceKitError, ConnectionError)
    │                                                 a backend did not answer: e.g. the Redis
    │                                                 ``PING`` at start failed; ``.address``
    │                                                 (masked), ``__cause__`` = the driver error
    ├── ClosedResourceError(ServiceKitError, RuntimeError)
    │                                                 a resource was used after its ``aclose()``
    └── SchedulerError(ServiceKitError)               a job scheduler refused an operation; ``.job``
        ├── DuplicateJobError(SchedulerError, ValueError)
        │                                             ``add()``: the name is taken (Go "job already
        │                                             exists")
        ├── SchedulerRunningError(SchedulerError, RuntimeError)
        │                                             ``add()`` after ``start()`` (Go "already
        │                                             started"); stop the scheduler first
        └── DispatcherError(SchedulerError, RuntimeError)
                                                      the scheduler's health check: its
                                                      dispatcher crashed (``__cause__``) or the
                                                      scheduler is not running

Violations of the API contract itself (starting an application twice) raise
:class:`RuntimeError` with a message saying how to use it instead; for a component that is
:class:`ApplicationOwnedError`, which is a :class:`RuntimeError` too.
"""

from __future__ import annotations

from typing import Literal

from dependency_injector import errors

__all__ = (
    "ApplicationOwnedError",
    "BrokenResourceError",
    "ClosedResourceError",
    "ComponentStopError",
    "ComponentTimeoutError",
    "ConfigError",
    "ConfigTypeError",
    "DispatcherError",
    "DuplicateJobError",
    "LifecycleError",
    "MissingDependencyError",
    "NotRunningError",
    "PlanError",
    "SchedulerError",
    "SchedulerRunningError",
    "ServiceKitError",
    "StartError",
    "StopError",
)


class ServiceKitError(Exception):
    """Root of every error the kit raises on purpose."""


class ConfigError(ServiceKitError, ValueError):
    """A declaration or config value is invalid.

    Raised at construction (``Component(...)``, a config dataclass), never later.
    ``field`` names the offending argument, ``value`` holds what was given.
    """

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}: {rule} (got {value!r})")


class ConfigTypeError(ConfigError, TypeError):
    """A declaration value has the wrong type, e.g. a ``Component`` factory that is not callable.

    dependency-injector raises :class:`TypeError` for a non-callable ``Resource`` factory, so
    this is a :class:`TypeError` as well as a :class:`ConfigError` (and so a
    :class:`ValueError`): code written for either library catches it.

    .. versionadded:: 0.2.0
    """


class ApplicationOwnedError(ServiceKitError, errors.Error, RuntimeError):
    """dependency-injector's own resource lifecycle was used on a ``Component``.

    The :class:`~service_pkg.Application` owns a component's start and stop, so
    ``component.init()``, ``container.init_resources()``, ``component.shutdown()``,
    ``container.shutdown_resources()`` while a component runs, calling a component that is not
    started, and copying a started one raise this. The message names the component and what
    to call instead. It is a ``dependency_injector.errors.Error`` (what the base class raises
    when a started resource is copied) and a :class:`RuntimeError` (a misuse of the API).

    .. versionadded:: 0.2.0
    """


class MissingDependencyError(ServiceKitError, ImportError):
    """An optional integration was imported without its extra installed."""

    def __init__(self, module: str, extra: str) -> None:
        self.extra = extra
        super().__init__(
            f"{module} needs the {extra!r} extra: pip install 'service-pkg[{extra}]'",
        )


class PlanError(ServiceKitError):
    """The container's components cannot be ordered safely.

    Raised by :class:`service_pkg.Application` when the plan is built, before any component
    starts. The message names the components and the dependency path.
    """


class LifecycleError(ServiceKitError):
    """A component's start or stop went wrong; ``component`` is its dotted name."""

    def __init__(self, message: str, component: str) -> None:
        self.component = component
        super().__init__(message)


class StartError(LifecycleError):
    """A component failed to start (or its start timed out or was interrupted).

    Everything already started was stopped again, in reverse, before this is raised.
    The original error is ``__cause__``.
    """


class ComponentStopError(LifecycleError):
    """One component's stop raised; the original error is ``__cause__``."""


class ComponentTimeoutError(LifecycleError, TimeoutError):
    """A component's start or stop ran past its timeout and was cancelled."""

    def __init__(self, component: str, phase: Literal["start", "stop"], timeout: float) -> None:
        self.phase = phase
        self.timeout = timeout
        super().__init__(f"{component}: {phase} timed out after {timeout:g} s", component)


class StopError(ExceptionGroup[Exception], ServiceKitError):
    """The application stopped, but some stops failed or timed out.

    Every stop still ran. Each member is a :class:`ComponentStopError` or a
    :class:`ComponentTimeoutError` naming its component, in stop order.
    """

    @property
    def components(self) -> tuple[str, ...]:
        """Names of the components whose stop failed, in stop order."""
        return tuple(getattr(e, "component", "?") for e in self.exceptions)


class NotRunningError(ServiceKitError, RuntimeError):
    """A readiness signal was sent while the barrier is not running."""


class BrokenResourceError(ServiceKitError, ConnectionError):
    """A backend the kit talks to did not answer or broke.

    Raised by a component's start when its server is unreachable (the Redis ``PING`` of
    :func:`service_pkg.redis.redis_client`), so a dependency that is down is a clear error
    instead of a hang. ``address`` is the server's address with any password masked; the
    driver's error is ``__cause__``. It is also a :class:`ConnectionError`, so code that
    catches that keeps working.
    """

    def __init__(self, message: str, *, address: str) -> None:
        self.address = address
        super().__init__(message)


class ClosedResourceError(ServiceKitError, RuntimeError):
    """A resource was used after its own ``aclose()``: the calling code closed it."""


class SchedulerError(ServiceKitError):
    """A job scheduler refused an operation; ``job`` names the job it was about.

    Raised by :meth:`service_pkg.scheduler.Scheduler.add`; the messages keep the Go wording
    (``scheduler.add(<name>): ...``). ``job`` is ``None`` when the error is about the
    scheduler as a whole (:class:`DispatcherError`).
    """

    def __init__(self, message: str, job: str | None = None) -> None:
        self.job = job
        super().__init__(message)


class DuplicateJobError(SchedulerError, ValueError):
    """``add()`` was given a job whose name the scheduler already has (Go "job already exists")."""


class SchedulerRunningError(SchedulerError, RuntimeError):
    """``add()`` was called while the scheduler runs (Go "already started").

    Jobs are declared before :meth:`~service_pkg.scheduler.Scheduler.start`; stop the
    scheduler, add, and start it again.
    """


class DispatcherError(SchedulerError, RuntimeError):
    """A scheduler's dispatcher is not running: the scheduler's health check failed.

    Raised by :meth:`service_pkg.scheduler.Scheduler.check_dispatcher` (the check the
    ``scheduler`` component reports with) when the dispatcher crashed (its exception is
    ``__cause__``) or the scheduler is not running. What the jobs do never raises it.
    """
